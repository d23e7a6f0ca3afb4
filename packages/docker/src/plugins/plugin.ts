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
  ProjectConfiguration,
  RawProjectGraphDependency,
  TargetConfiguration,
} from '@nx/devkit';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerContextInputs } from '../build/docker-context';
import {
  contextSources,
  imageUses,
  labelValue,
  repositoryPathOf,
} from '../dockerfile/dockerfile';
import {
  defaultOutputPath,
  DEPLOY_DIR,
  DEPLOY_TARGET_NAMES,
  DOCKERFILE_GLOB,
  dockerfileOwner,
  EXECUTORS,
  dockerfileOf,
  MlDockerPluginOptions,
  OUTPUTS_LABEL,
  RELEASE_PUBLISH_TARGET,
  targetNames,
  TECHNOLOGY,
} from '../names/names';
import { listDockerfiles } from '../record/project-images';
import { workspaceImageIndex } from '../record/workspace-images';
import {
  edgesCachePath,
  nodesCachePath,
  openFileCache,
  openNodesCache,
} from './nodes-cache';

export type { MlDockerPluginOptions } from '../names/names';
export { DOCKERFILE_GLOB } from '../names/names';

export const createNodes: CreateNodes<MlDockerPluginOptions> = [
  DOCKERFILE_GLOB,
  async (files, options, context) => {
    const opts = options ?? {};
    const cache = openNodesCache<Omit<ProjectConfiguration, 'root'>>(
      nodesCachePath(context.workspaceRoot, opts),
    );
    try {
      // One Dockerfile per project is enough: the targets cover all its images.
      return await createNodesFromFiles(
        (file, o, ctx) => {
          const root = dockerfileOwner(file)!.projectRoot;
          const absRoot = join(ctx.workspaceRoot, root);
          const owned = ['project.json', 'package.json'].some((f) =>
            existsSync(join(absRoot, f)),
          );
          if (!owned) return {};
          const dockerfiles = readDockerfiles(absRoot);
          const dockerignore = readIfExists(join(absRoot, '.dockerignore'));
          const deploy = existsSync(join(absRoot, DEPLOY_DIR));
          // Everything the result is computed from, and nothing else.
          const key = cache.key([
            root,
            JSON.stringify(o),
            dockerignore ?? null,
            [...dockerfiles],
            deploy,
          ]);
          let project = cache.get(key);
          if (!project) {
            project = {
              namedInputs: {
                dockerContext: dockerContextInputs(ctx.workspaceRoot, root),
              },
              targets: inferredTargets(
                root,
                o,
                trainingFlowOf(dockerfiles),
                deploy,
              ),
            };
            cache.set(key, project);
          }
          return { projects: { [root]: project } };
        },
        firstPerProject(files),
        opts,
        context,
      );
    } finally {
      cache.write();
    }
  },
];

function firstPerProject(files: readonly string[]): string[] {
  const byRoot = new Map<string, string>();
  for (const file of files) {
    const owner = dockerfileOwner(file);
    if (owner && !byRoot.has(owner.projectRoot))
      byRoot.set(owner.projectRoot, file);
  }
  return [...byRoot.values()];
}

/**
 * When a project trains its own model: the image whose ml-docker.outputs
 * label names the folders its run writes, and another image that COPYs one
 * of them. docker-train runs the first before the second is built.
 */
export interface TrainingFlow {
  image: string;
  outputs: string[];
}

export function trainingFlow(absProjectRoot: string): TrainingFlow | undefined {
  return trainingFlowOf(readDockerfiles(absProjectRoot));
}

/** Each image's Dockerfile text, by image; an unreadable one fails when it builds. */
function readDockerfiles(absProjectRoot: string): Map<string, string> {
  const texts = new Map<string, string>();
  for (const image of listDockerfiles(absProjectRoot)) {
    const text = readIfExists(join(absProjectRoot, dockerfileOf(image)));
    if (text !== undefined) texts.set(image, text);
  }
  return texts;
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function trainingFlowOf(
  texts: ReadonlyMap<string, string>,
): TrainingFlow | undefined {
  const folder = (p: string) => p.replace(/^\.\//, '').replace(/\/*$/, '');
  // Parsing is most of the graph's cost over hundreds of projects: only a
  // text that names the label, or a folder, can be the one that matters.
  const candidates = [...texts]
    .filter(([, text]) => text.includes(OUTPUTS_LABEL))
    .map(([image, text]) => ({
      image,
      outputs: (labelValue(text, OUTPUTS_LABEL) ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .map(folder),
    }))
    .filter((c) => c.outputs.length > 0)
    // The CPU variant trains: it runs on any runner.
    .sort(
      (a, b) =>
        Number(a.image.includes('-cuda')) - Number(b.image.includes('-cuda')),
    );
  for (const c of candidates) {
    const consumed = [...texts].some(
      ([image, text]) =>
        image !== c.image &&
        c.outputs.some((o) => text.includes(o)) &&
        contextSources(text).some((src) => c.outputs.includes(folder(src))),
    );
    if (consumed) return { image: c.image, outputs: c.outputs };
  }
  return undefined;
}

const BUILD_INPUTS = [
  'dockerContext',
  '^dockerContext',
  { env: 'ML_DOCKER_BASE_IMAGE' },
  { env: 'ML_DOCKER_REGISTRY' },
];

export function inferredTargets(
  projectRoot: string,
  options: MlDockerPluginOptions = {},
  training?: TrainingFlow,
  /** The project has a deploy/ folder: pin and check its manifests. */
  deploy = false,
): Record<string, TargetConfiguration> {
  const { build, test, push, train, promote } = targetNames(options);
  const trainTarget: Record<string, TargetConfiguration> = training
    ? {
        [train]: {
          executor: EXECUTORS.train,
          cache: true,
          dependsOn: [`^${build}`],
          inputs: BUILD_INPUTS,
          outputs: training.outputs.map((o) => `{projectRoot}/${o}`),
          options: { image: training.image, buildTarget: build },
          metadata: {
            technologies: [TECHNOLOGY],
            description: `Run the ${training.image} image and keep what it writes (${training.outputs.join(', ')}) for the images that bake it in`,
          },
        },
      }
    : {};
  const deployTargets: Record<string, TargetConfiguration> = deploy
    ? {
        [DEPLOY_TARGET_NAMES.pin]: {
          executor: EXECUTORS.deployManifests,
          dependsOn: [push],
          options: { buildTarget: build, pushTarget: push },
          metadata: {
            technologies: [TECHNOLOGY],
            description:
              'Pin the deploy/ manifests to the digest of the tested, pushed image',
          },
        },
        [DEPLOY_TARGET_NAMES.check]: {
          executor: EXECUTORS.checkManifests,
          options: { buildTarget: build, pushTarget: push },
          metadata: {
            technologies: [TECHNOLOGY],
            description:
              'Check deployment manifests against the image: probes, port, UID, digest',
          },
        },
      }
    : {};
  return {
    ...trainTarget,
    ...deployTargets,
    [build]: {
      executor: EXECUTORS.build,
      cache: true,
      dependsOn: training ? [`^${build}`, train] : [`^${build}`],
      inputs: training
        ? // The trained model is git-ignored, so Nx sees it only as the train task's output.
          [...BUILD_INPUTS, { dependentTasksOutputFiles: '**/*' }]
        : BUILD_INPUTS,
      // One source for the record's folder: the option, which outputs reads.
      options: { outputPath: defaultOutputPath(projectRoot) },
      outputs: ['{options.outputPath}'],
      metadata: {
        technologies: [TECHNOLOGY],
        description:
          'Build the docker/<image>/Dockerfile images and write a build record',
      },
    },
    [test]: {
      executor: EXECUTORS.test,
      dependsOn: [build],
      options: { buildTarget: build },
      metadata: {
        technologies: [TECHNOLOGY],
        description:
          'Start the images: services must become healthy, jobs must exit 0',
      },
    },
    [push]: {
      executor: EXECUTORS.push,
      dependsOn: [test],
      options: { buildTarget: build },
      metadata: {
        technologies: [TECHNOLOGY],
        description:
          'Push every tag; tags the registry already holds are skipped',
      },
    },
    // No dependsOn: promotion moves what was pushed and tested, it never builds.
    [promote]: {
      executor: EXECUTORS.promote,
      options: { buildTarget: build },
      metadata: {
        technologies: [TECHNOLOGY],
        description:
          'Copy the tested digests to another environment: nx run <project>:docker-promote --from=dev --to=prod',
      },
    },
    // Not after docker-test: a release publishes what was built and tested
    // before it, and a publish that started containers could not be a dry run.
    [RELEASE_PUBLISH_TARGET]: {
      executor: EXECUTORS.releasePublish,
      options: { buildTarget: build },
      metadata: {
        technologies: [TECHNOLOGY],
        description:
          'What nx release publish runs: tag the built images with the released version and push them',
      },
    },
  };
}

export const createDependencies: CreateDependencies<MlDockerPluginOptions> = (
  options,
  context,
) => {
  const index = workspaceImageIndex(
    context.projects,
    context.workspaceRoot,
    targetNames(options ?? {}).build,
  );
  if (index.size === 0) return [];
  const deps: RawProjectGraphDependency[] = [];
  const seen = new Set<string>();
  const cache = openFileCache<string[]>(
    edgesCachePath(context.workspaceRoot, options ?? {}),
  );
  for (const [project, files] of Object.entries(
    context.filesToProcess.projectFileMap,
  )) {
    for (const { file, hash } of files) {
      if (!dockerfileOwner(file)) continue;
      let refs = cache.get(file, hash);
      if (!refs) {
        let text: string;
        try {
          text = readFileSync(join(context.workspaceRoot, file), 'utf8');
        } catch {
          continue;
        }
        refs = imageUses(text).map((use) => use.ref);
        cache.set(file, hash, refs);
      }
      for (const ref of refs) {
        const target = index.get(repositoryPathOf(ref));
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
  cache.write(dockerfileHashes(context.fileMap.projectFileMap));
  return deps;
};

/** Every Dockerfile the workspace has now, with its hash: what the edges cache may keep. */
function dockerfileHashes(
  projectFileMap: Record<string, Array<{ file: string; hash: string }>>,
): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const files of Object.values(projectFileMap))
    for (const { file, hash } of files)
      if (dockerfileOwner(file)) hashes.set(file, hash);
  return hashes;
}
