/**
 * Inferred targets and graph edges for projects with docker/<image>/Dockerfile.
 *
 * createNodes maps every such Dockerfile to the project that owns it (the
 * folder holding project.json or package.json two levels up) and gives that
 * project docker-build, docker-test and docker-push. It never creates a
 * project per Dockerfile, so it coexists with @nx/docker once that plugin is
 * told to skip docker/*\/Dockerfile (see the README).
 *
 * createDependencies parses each Dockerfile with dockerfile-ast and adds an
 * edge to every workspace project whose image it uses: FROM, COPY --from,
 * or an ARG default such as BASE_IMAGE.
 */
import {
  CreateDependencies,
  CreateNodes,
  createNodesFromFiles,
  DependencyType,
  RawProjectGraphDependency,
  TargetConfiguration,
} from '@nx/devkit';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dockerContextInputs } from '../lib/docker-context';
import { imageUses, repositoryPathOf } from '../lib/dockerfile';
import { BUILD_EXECUTOR, workspaceImageIndex } from '../lib/workspace-images';

export interface MlDockerPluginOptions {
  buildTargetName?: string;
  testTargetName?: string;
  pushTargetName?: string;
}

export const DOCKERFILE_GLOB = '**/docker/*/Dockerfile';

export const createNodes: CreateNodes<MlDockerPluginOptions> = [
  DOCKERFILE_GLOB,
  (files, options, context) =>
    // One Dockerfile per project is enough: the targets cover all its images.
    createNodesFromFiles(
      (file, opts, ctx) => {
        const root = dirname(dirname(dirname(file)));
        const owned = ['project.json', 'package.json'].some((f) =>
          existsSync(join(ctx.workspaceRoot, root, f)),
        );
        if (!owned) return {};
        return {
          projects: {
            [root]: {
              namedInputs: {
                dockerContext: dockerContextInputs(ctx.workspaceRoot, root),
              },
              targets: inferredTargets(opts),
            },
          },
        };
      },
      firstPerProject(files),
      options ?? {},
      context,
    ),
];

function firstPerProject(files: readonly string[]): string[] {
  const byRoot = new Map<string, string>();
  for (const file of files) {
    const root = dirname(dirname(dirname(file)));
    if (!byRoot.has(root)) byRoot.set(root, file);
  }
  return [...byRoot.values()];
}

export function inferredTargets(
  options: MlDockerPluginOptions = {},
): Record<string, TargetConfiguration> {
  const build = options.buildTargetName ?? 'docker-build';
  const test = options.testTargetName ?? 'docker-test';
  const push = options.pushTargetName ?? 'docker-push';
  return {
    [build]: {
      executor: BUILD_EXECUTOR,
      cache: true,
      dependsOn: [`^${build}`],
      inputs: [
        'dockerContext',
        '^dockerContext',
        { env: 'ML_DOCKER_BASE_IMAGE' },
        { env: 'ML_DOCKER_REGISTRY' },
      ],
      outputs: ['{workspaceRoot}/dist/docker/{projectRoot}'],
      metadata: {
        technologies: ['docker'],
        description:
          'Build the docker/<image>/Dockerfile images and write a build record',
      },
    },
    [test]: {
      executor: '@ml/docker:test',
      dependsOn: [build],
      options: { buildTarget: build },
      metadata: {
        technologies: ['docker'],
        description:
          'Start the images: services must become healthy, jobs must exit 0',
      },
    },
    [push]: {
      executor: '@ml/docker:push',
      dependsOn: [test],
      options: { buildTarget: build },
      metadata: {
        technologies: ['docker'],
        description:
          'Push every tag; tags the registry already holds are skipped',
      },
    },
  };
}

export const createDependencies: CreateDependencies<MlDockerPluginOptions> = (
  _options,
  context,
) => {
  const index = workspaceImageIndex(context.projects, context.workspaceRoot);
  if (index.size === 0) return [];
  const deps: RawProjectGraphDependency[] = [];
  const seen = new Set<string>();
  for (const [project, files] of Object.entries(
    context.filesToProcess.projectFileMap,
  )) {
    for (const { file } of files) {
      if (!/(^|\/)docker\/[^/]+\/Dockerfile$/.test(file)) continue;
      let text: string;
      try {
        text = readFileSync(join(context.workspaceRoot, file), 'utf8');
      } catch {
        continue;
      }
      for (const use of imageUses(text)) {
        const target = index.get(repositoryPathOf(use.ref));
        if (!target || target.project === project) continue;
        const key = `${project}>${target.project}>${file}`;
        if (seen.has(key)) continue;
        seen.add(key);
        deps.push({
          source: project,
          target: target.project,
          sourceFile: file,
          type: DependencyType.static,
        });
      }
    }
  }
  return deps;
};
