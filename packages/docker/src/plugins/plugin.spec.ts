import {
  CreateDependenciesContext,
  CreateNodesContextV2,
  DependencyType,
  getOutputsForTargetAndConfiguration,
  ProjectConfiguration,
} from '@nx/devkit';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { recordPath } from '../record/build-record';
import {
  createDependencies,
  createNodes,
  DOCKERFILE_GLOB,
  inferredTargets,
  trainingFlow,
} from './plugin';

const ENV_INPUTS = [
  { env: 'ML_DOCKER_BASE_IMAGE' },
  { env: 'ML_DOCKER_REGISTRY' },
];

describe('@ml/docker plugin', () => {
  const createNodesFunction = createNodes[1];
  const savedRegistry = process.env.ML_DOCKER_REGISTRY;
  let workspaceRoot: string;
  let context: CreateNodesContextV2;

  beforeEach(() => {
    delete process.env.ML_DOCKER_REGISTRY;
    workspaceRoot = mkdtempSync(join(tmpdir(), 'ml-docker-plugin-'));
    context = { nxJsonConfiguration: {}, workspaceRoot };
  });

  afterEach(() => {
    if (savedRegistry === undefined) delete process.env.ML_DOCKER_REGISTRY;
    else process.env.ML_DOCKER_REGISTRY = savedRegistry;
    rmSync(workspaceRoot, { recursive: true, force: true });
  });

  function createFiles(files: Record<string, string>) {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(workspaceRoot, path)), { recursive: true });
      writeFileSync(join(workspaceRoot, path), content);
    }
  }

  describe('createNodes', () => {
    it('matches docker/<image>/Dockerfile anywhere in the workspace', () => {
      expect(createNodes[0]).toBe(DOCKERFILE_GLOB);
      expect(DOCKERFILE_GLOB).toBe('**/docker/*/Dockerfile');
    });

    it('gives the owning project docker-build, docker-test and docker-push', async () => {
      createFiles({
        'examples/synth/project.json': '{}',
        'examples/synth/docker/training/Dockerfile': 'FROM python:3.10-slim',
      });

      const results = await createNodesFunction(
        ['examples/synth/docker/training/Dockerfile'],
        {},
        context,
      );

      expect(results).toEqual([
        [
          'examples/synth/docker/training/Dockerfile',
          {
            projects: {
              'examples/synth': {
                namedInputs: { dockerContext: ['{projectRoot}/**/*'] },
                targets: {
                  'docker-build': {
                    executor: '@ml/docker:build',
                    cache: true,
                    dependsOn: ['^docker-build'],
                    inputs: ['dockerContext', '^dockerContext', ...ENV_INPUTS],
                    options: { outputPath: 'dist/docker/examples/synth' },
                    outputs: ['{options.outputPath}'],
                    metadata: {
                      technologies: ['ml-docker'],
                      description:
                        'Build the docker/<image>/Dockerfile images and write a build record',
                    },
                  },
                  'docker-test': {
                    executor: '@ml/docker:test',
                    dependsOn: ['docker-build'],
                    options: { buildTarget: 'docker-build' },
                    metadata: {
                      technologies: ['ml-docker'],
                      description:
                        'Start the images: services must become healthy, jobs must exit 0',
                    },
                  },
                  'docker-push': {
                    executor: '@ml/docker:push',
                    dependsOn: ['docker-test'],
                    options: { buildTarget: 'docker-build' },
                    metadata: {
                      technologies: ['ml-docker'],
                      description:
                        'Push every tag; tags the registry already holds are skipped',
                    },
                  },
                  // Depends on nothing: it must never build or rebuild what it promotes.
                  'docker-promote': {
                    executor: '@ml/docker:promote',
                    options: { buildTarget: 'docker-build' },
                    metadata: {
                      technologies: ['ml-docker'],
                      description:
                        'Copy the tested digests to another environment: nx run <project>:docker-promote --from=dev --to=prod',
                    },
                  },
                  'nx-release-publish': {
                    executor: '@ml/docker:release-publish',
                    options: { buildTarget: 'docker-build' },
                    metadata: {
                      technologies: ['ml-docker'],
                      description:
                        'What nx release publish runs: tag the built images with the released version and push them',
                    },
                  },
                },
              },
            },
          },
        ],
      ]);
    });

    it.each([
      ['without a deploy/ folder: no deploy targets', false, []],
      [
        'with a deploy/ folder: pin after docker-push, and check',
        true,
        ['docker-check-manifests', 'docker-deploy-manifests'],
      ],
    ])('%s', async (_, withDeploy, expected) => {
      createFiles({
        'examples/synth/project.json': '{}',
        'examples/synth/docker/inference/Dockerfile': 'FROM python:3.13-slim',
        ...(withDeploy
          ? { 'examples/synth/deploy/cloud-run/service.yaml': 'kind: Service' }
          : {}),
      });
      const [[, result]] = await createNodesFunction(
        ['examples/synth/docker/inference/Dockerfile'],
        {},
        context,
      );
      const targets = result.projects!['examples/synth'].targets!;
      expect(
        Object.keys(targets)
          .filter((t) => t.includes('manifests'))
          .sort(),
      ).toEqual(expected);
      if (withDeploy) {
        expect(targets['docker-deploy-manifests']).toMatchObject({
          executor: '@ml/docker:deploy-manifests',
          dependsOn: ['docker-push'],
          options: { buildTarget: 'docker-build', pushTarget: 'docker-push' },
        });
        expect(targets['docker-check-manifests'].executor).toBe(
          '@ml/docker:check-manifests',
        );
      }
    });

    it('derives the dockerContext named input from the .dockerignore', async () => {
      createFiles({
        'examples/synth/project.json': '{}',
        'examples/synth/.dockerignore': '# data is pulled at run time\ndata/\n',
        'examples/synth/docker/training/Dockerfile': 'FROM python:3.10-slim',
      });

      const [[, result]] = await createNodesFunction(
        ['examples/synth/docker/training/Dockerfile'],
        {},
        context,
      );

      expect(result.projects?.['examples/synth'].namedInputs).toEqual({
        dockerContext: [
          '{projectRoot}/**/*',
          '!{projectRoot}/data',
          '!{projectRoot}/data/**',
        ],
      });
    });

    it.each(['project.json', 'package.json'])(
      'takes a folder with a %s as the owning project',
      async (file) => {
        createFiles({
          [`examples/synth/${file}`]: '{}',
          'examples/synth/docker/inference/Dockerfile': 'FROM python:3.10-slim',
        });

        const results = await createNodesFunction(
          ['examples/synth/docker/inference/Dockerfile'],
          {},
          context,
        );

        expect(results.map(([, r]) => Object.keys(r.projects ?? {}))).toEqual([
          ['examples/synth'],
        ]);
      },
    );

    it('gives one result per project, however many Dockerfiles it has', async () => {
      createFiles({
        'examples/synth/project.json': '{}',
        'examples/synth/docker/training/Dockerfile': 'FROM python:3.10-slim',
        'examples/synth/docker/inference/Dockerfile': 'FROM python:3.10-slim',
      });

      const results = await createNodesFunction(
        [
          'examples/synth/docker/training/Dockerfile',
          'examples/synth/docker/inference/Dockerfile',
        ],
        {},
        context,
      );

      expect(results).toHaveLength(1);
      expect(Object.keys(results[0][1].projects ?? {})).toEqual([
        'examples/synth',
      ]);
    });

    it('gives each project its own result', async () => {
      createFiles({
        'examples/synth/project.json': '{}',
        'examples/synth/docker/training/Dockerfile': 'FROM python:3.10-slim',
        'examples/synth/docker/inference/Dockerfile': 'FROM python:3.10-slim',
        'examples/ml-base/project.json': '{}',
        'examples/ml-base/docker/base/Dockerfile': 'FROM python:3.10-slim',
      });

      const results = await createNodesFunction(
        [
          'examples/ml-base/docker/base/Dockerfile',
          'examples/synth/docker/training/Dockerfile',
          'examples/synth/docker/inference/Dockerfile',
        ],
        {},
        context,
      );

      expect(results.map(([, r]) => Object.keys(r.projects ?? {}))).toEqual([
        ['examples/ml-base'],
        ['examples/synth'],
      ]);
    });

    it('takes a project at the workspace root', async () => {
      createFiles({
        'package.json': '{}',
        'docker/inference/Dockerfile': 'FROM python:3.10-slim',
      });

      const results = await createNodesFunction(
        ['docker/inference/Dockerfile'],
        {},
        context,
      );

      expect(results.map(([, r]) => Object.keys(r.projects ?? {}))).toEqual([
        ['.'],
      ]);
      expect(
        results[0][1].projects?.['.'].targets?.['docker-build'].options,
      ).toEqual({ outputPath: 'dist/docker/.workspace-root' });
    });

    it.each([
      [
        'no project.json or package.json two folders up',
        {
          'examples/synth/docker/training/Dockerfile': 'FROM python:3.10-slim',
        },
      ],
      [
        'a project.json only next to the Dockerfile',
        {
          'examples/synth/docker/training/project.json': '{}',
          'examples/synth/docker/training/Dockerfile': 'FROM python:3.10-slim',
        },
      ],
      [
        'a project.json only in the docker folder',
        {
          'examples/synth/docker/project.json': '{}',
          'examples/synth/docker/training/Dockerfile': 'FROM python:3.10-slim',
        },
      ],
    ])('creates no project for a Dockerfile with %s', async (_label, files) => {
      createFiles(files);

      const results = await createNodesFunction(
        ['examples/synth/docker/training/Dockerfile'],
        {},
        context,
      );

      expect(results.flatMap(([, r]) => Object.keys(r.projects ?? {}))).toEqual(
        [],
      );
    });

    it('uses the target names given in the options', async () => {
      createFiles({
        'examples/synth/project.json': '{}',
        'examples/synth/docker/training/Dockerfile': 'FROM python:3.10-slim',
      });

      const [[, result]] = await createNodesFunction(
        ['examples/synth/docker/training/Dockerfile'],
        {
          buildTargetName: 'image-build',
          testTargetName: 'image-test',
          pushTargetName: 'image-push',
          promoteTargetName: 'image-promote',
        },
        context,
      );

      const targets = result.projects?.['examples/synth'].targets ?? {};
      expect(Object.keys(targets)).toEqual([
        'image-build',
        'image-test',
        'image-push',
        'image-promote',
        'nx-release-publish',
      ]);
      expect(targets['image-promote']).toMatchObject({
        executor: '@ml/docker:promote',
        options: { buildTarget: 'image-build' },
      });
      expect(targets['image-promote'].dependsOn).toBeUndefined();
      expect(targets['image-build'].dependsOn).toEqual(['^image-build']);
      expect(targets['image-test']).toMatchObject({
        executor: '@ml/docker:test',
        dependsOn: ['image-build'],
        options: { buildTarget: 'image-build' },
      });
      expect(targets['image-push']).toMatchObject({
        executor: '@ml/docker:push',
        dependsOn: ['image-test'],
        options: { buildTarget: 'image-build' },
      });
      // Nx fixes the publish target's name; it follows the renamed build target.
      expect(targets['nx-release-publish']).toMatchObject({
        executor: '@ml/docker:release-publish',
        options: { buildTarget: 'image-build' },
      });
    });

    it('keeps the default names of the targets not given', () => {
      const targets = inferredTargets('examples/synth', {
        testTargetName: 'smoke',
      });
      expect(Object.keys(targets)).toEqual([
        'docker-build',
        'smoke',
        'docker-push',
        'docker-promote',
        'nx-release-publish',
      ]);
      expect(targets['docker-push'].dependsOn).toEqual(['smoke']);
    });

    it.each([
      ['a nested project', 'examples/synth', 'dist/docker/examples/synth'],
      ['a project at the workspace root', '.', 'dist/docker/.workspace-root'],
    ])(
      'gives %s an outputPath option under dist/docker',
      (_label, projectRoot, outputPath) => {
        expect(inferredTargets(projectRoot)['docker-build'].options).toEqual({
          outputPath,
        });
      },
    );

    it.each([
      ['the inferred outputPath', {}, 'dist/docker/examples/synth'],
      [
        'an outputPath set in project.json',
        { outputPath: 'dist/images/synth' },
        'dist/images/synth',
      ],
    ])(
      'caches exactly the folder the build record is written to, with %s',
      (_label, override: { outputPath?: string }, folder) => {
        const build = inferredTargets('examples/synth')['docker-build'];
        const options = { ...build.options, ...override };
        const outputs = getOutputsForTargetAndConfiguration(
          { project: 'synth', target: 'docker-build' },
          {},
          {
            name: 'synth',
            type: 'app',
            data: {
              root: 'examples/synth',
              targets: { 'docker-build': { ...build, options } },
            },
          },
        );
        expect(outputs).toEqual([folder]);
        expect(join(workspaceRoot, outputs[0], 'build-record.json')).toBe(
          recordPath(workspaceRoot, 'examples/synth', options.outputPath),
        );
      },
    );

    it('gives docker-test and docker-push the name of the build target, not a path', () => {
      const targets = inferredTargets('examples/synth', {
        buildTargetName: 'image-build',
      });
      expect(targets['docker-test'].options).toEqual({
        buildTarget: 'image-build',
      });
      expect(targets['docker-push'].options).toEqual({
        buildTarget: 'image-build',
      });
    });
  });

  describe('createDependencies', () => {
    const ML_BASE = '127.0.0.1:5000/ml-images/ml-base';
    const ML_COMMON = '127.0.0.1:5000/ml-images/ml-common-lib';
    const SYNTH_DOCKERFILE = 'examples/synth/docker/inference/Dockerfile';

    const projects: Record<string, ProjectConfiguration> = {
      'ml-base': {
        root: 'examples/ml-base',
        targets: {
          'docker-build': {
            executor: '@ml/docker:build',
            options: { imageNames: { base: 'ml-base' } },
          },
        },
      },
      'ml-common': {
        root: 'examples/ml-common',
        targets: { 'docker-build': { executor: '@ml/docker:build' } },
      },
      synth: {
        root: 'examples/synth',
        targets: { 'docker-build': { executor: '@ml/docker:build' } },
      },
      // Its image sits at the top of the registry: `127.0.0.1:5000/features`.
      features: {
        root: 'libs/features',
        targets: {
          'docker-build': {
            executor: '@ml/docker:build',
            options: { repository: '', imageNames: { lib: 'features' } },
          },
        },
      },
      churn: {
        root: 'examples/churn',
        targets: { 'docker-build': { executor: 'nx:run-commands' } },
      },
    };

    function workspace(synthInference: string) {
      createFiles({
        'examples/ml-base/docker/base/Dockerfile':
          'ARG BASE_IMAGE=python:3.10-slim\nFROM ${BASE_IMAGE}\n',
        'examples/ml-common/docker/lib/Dockerfile':
          'FROM scratch\nCOPY ml_common/ /python/ml_common/\n',
        'libs/features/docker/lib/Dockerfile':
          'FROM scratch\nCOPY features/ /python/features/\n',
        'examples/churn/docker/training/Dockerfile': 'FROM python:3.10-slim\n',
        'examples/synth/docker/training/Dockerfile': 'FROM python:3.10-slim\n',
        [SYNTH_DOCKERFILE]: synthInference,
      });
    }

    function contentHash(file: string): string {
      const path = join(workspaceRoot, file);
      return existsSync(path)
        ? createHash('sha1').update(readFileSync(path)).digest('hex')
        : 'missing';
    }

    function dependencyContext(
      filesToProcess: Record<string, string[]> = { synth: [SYNTH_DOCKERFILE] },
    ): CreateDependenciesContext {
      // The hash Nx gives a file changes with its content, as here.
      const files = (paths: string[]) =>
        paths.map((file) => ({ file, hash: contentHash(file) }));
      return {
        projects,
        nxJsonConfiguration: {},
        workspaceRoot,
        externalNodes: {},
        fileMap: {
          projectFileMap: {
            'ml-base': files(['examples/ml-base/docker/base/Dockerfile']),
            'ml-common': files(['examples/ml-common/docker/lib/Dockerfile']),
            synth: files([
              'examples/synth/docker/training/Dockerfile',
              SYNTH_DOCKERFILE,
            ]),
          },
          nonProjectFiles: [],
        },
        filesToProcess: {
          projectFileMap: Object.fromEntries(
            Object.entries(filesToProcess).map(([p, f]) => [p, files(f)]),
          ),
          nonProjectFiles: [],
        },
      };
    }

    const edge = (target: string, sourceFile = SYNTH_DOCKERFILE) => ({
      source: 'synth',
      target,
      sourceFile,
      type: DependencyType.static,
    });

    it.each<[string, string, string[]]>([
      [
        'FROM ${BASE_IMAGE} whose ARG default names the image of ml-base',
        `ARG BASE_IMAGE=${ML_BASE}:latest\nFROM \${BASE_IMAGE} AS runtime\n`,
        ['ml-base'],
      ],
      [
        'a FROM naming the image of ml-base',
        `FROM ${ML_BASE}:nx-1234\n`,
        ['ml-base'],
      ],
      [
        'the image of ml-base on another registry host',
        'FROM localhost:5000/ml-images/ml-base:v1\n',
        ['ml-base'],
      ],
      [
        'a stage FROM the artifact image of ml-common, copied in with COPY --from=<stage>',
        [
          `ARG ML_COMMON_IMAGE=${ML_COMMON}:latest`,
          'FROM ${ML_COMMON_IMAGE} AS ml-common',
          'FROM python:3.10-slim AS runtime',
          'COPY --from=ml-common --chown=10001:10001 /python/ ./',
          '',
        ].join('\n'),
        ['ml-common'],
      ],
      [
        'a COPY --from naming the artifact image of ml-common',
        `FROM python:3.10-slim\nCOPY --from=${ML_COMMON}:latest /python/ ./\n`,
        ['ml-common'],
      ],
      [
        'the generated layout using ml-base and ml-common',
        [
          `ARG BASE_IMAGE=${ML_BASE}:latest`,
          `ARG ML_COMMON_IMAGE=${ML_COMMON}:latest`,
          'FROM ${ML_COMMON_IMAGE} AS ml-common',
          'FROM ${BASE_IMAGE} AS builder',
          'FROM ${BASE_IMAGE} AS runtime',
          'COPY --from=builder /opt/venv /opt/venv',
          'COPY --from=ml-common --chown=10001:10001 /python/ ./',
          '',
        ].join('\n'),
        ['ml-common', 'ml-base'],
      ],
      ['an external image', 'FROM python:3.10-slim\n', []],
      [
        'an external image through BASE_IMAGE',
        'ARG BASE_IMAGE=python:3.10-slim\nFROM ${BASE_IMAGE}\n',
        [],
      ],
      [
        'an image at the top of the registry',
        'FROM python:3.10-slim\nCOPY --from=127.0.0.1:5000/features:latest /python/ ./\n',
        ['features'],
      ],
      [
        'stages named like that image',
        'FROM python:3.10-slim AS features\nFROM features AS runtime\nCOPY --from=features /python/ ./\n',
        [],
      ],
      [
        'an image of a project whose build target is not ours',
        'FROM 127.0.0.1:5000/ml-images/churn-training:latest\n',
        [],
      ],
      [
        'its own training image',
        'FROM 127.0.0.1:5000/ml-images/synth-training:latest\n',
        [],
      ],
    ])('derives the edges of %s', async (_label, dockerfile, targets) => {
      workspace(dockerfile);
      expect(await createDependencies({}, dependencyContext())).toEqual(
        targets.map((t) => edge(t)),
      );
    });

    it('adds one edge per project and Dockerfile, however often the image is used', async () => {
      workspace(
        [
          `ARG BASE_IMAGE=${ML_BASE}:latest`,
          'FROM ${BASE_IMAGE} AS builder',
          'FROM ${BASE_IMAGE} AS runtime',
          `COPY --from=${ML_BASE}:latest /opt/venv /opt/venv`,
          `FROM ${ML_BASE}:nx-1`,
          '',
        ].join('\n'),
      );
      expect(await createDependencies({}, dependencyContext())).toEqual([
        edge('ml-base'),
      ]);
    });

    it('names each Dockerfile that uses the image as a source file', async () => {
      workspace(`FROM ${ML_BASE}:latest\n`);
      writeFileSync(
        join(workspaceRoot, 'examples/synth/docker/training/Dockerfile'),
        `FROM ${ML_BASE}:latest\n`,
      );
      expect(
        await createDependencies(
          {},
          dependencyContext({
            synth: [
              'examples/synth/docker/training/Dockerfile',
              SYNTH_DOCKERFILE,
            ],
          }),
        ),
      ).toEqual([
        edge('ml-base', 'examples/synth/docker/training/Dockerfile'),
        edge('ml-base'),
      ]);
    });

    it('indexes the build target the plugin options name, even when it builds only some images', async () => {
      workspace(`FROM ${ML_BASE}:latest\n`);
      const limited = {
        ...projects,
        'ml-base': {
          root: 'examples/ml-base',
          targets: {
            'image-build': {
              executor: '@ml/docker:build',
              options: { images: ['base'], imageNames: { base: 'ml-base' } },
            },
          },
        },
      };
      const ctx = { ...dependencyContext(), projects: limited };
      expect(await createDependencies({}, ctx)).toEqual([]);
      expect(
        await createDependencies({ buildTargetName: 'image-build' }, ctx),
      ).toEqual([edge('ml-base')]);
    });

    describe('the edges cache', () => {
      it('answers a second graph computation from the cache, without reading the Dockerfile', async () => {
        workspace(`FROM ${ML_BASE}:latest\n`);
        const ctx = dependencyContext();
        expect(await createDependencies({}, ctx)).toEqual([edge('ml-base')]);
        // Unreadable now: only the cached reading can give the edge.
        rmSync(join(workspaceRoot, SYNTH_DOCKERFILE));
        expect(await createDependencies({}, ctx)).toEqual([edge('ml-base')]);
      });

      it('reads a Dockerfile again when its hash changed', async () => {
        workspace(`FROM ${ML_BASE}:latest\n`);
        expect(await createDependencies({}, dependencyContext())).toEqual([
          edge('ml-base'),
        ]);
        writeFileSync(
          join(workspaceRoot, SYNTH_DOCKERFILE),
          `FROM ${ML_COMMON}:latest\n`,
        );
        expect(await createDependencies({}, dependencyContext())).toEqual([
          edge('ml-common'),
        ]);
      });

      it('is not used when NX_CACHE_PROJECT_GRAPH=false', async () => {
        workspace(`FROM ${ML_BASE}:latest\n`);
        const ctx = dependencyContext();
        await createDependencies({}, ctx);
        writeFileSync(join(workspaceRoot, SYNTH_DOCKERFILE), 'FROM scratch\n');
        process.env.NX_CACHE_PROJECT_GRAPH = 'false';
        try {
          expect(await createDependencies({}, ctx)).toEqual([]);
        } finally {
          delete process.env.NX_CACHE_PROJECT_GRAPH;
        }
      });
    });

    it('reads only the files to process', async () => {
      workspace(`FROM ${ML_BASE}:latest\n`);
      expect(await createDependencies({}, dependencyContext({}))).toEqual([]);
    });

    it.each([
      ['a Dockerfile outside docker/<image>/', 'examples/synth/Dockerfile'],
      [
        'another file of the image folder',
        'examples/synth/docker/inference/requirements.txt',
      ],
      [
        'a Dockerfile nested deeper',
        'examples/synth/docker/inference/dev/Dockerfile',
      ],
    ])('ignores %s', async (_label, file) => {
      workspace('FROM python:3.10-slim\n');
      createFiles({ [file]: `FROM ${ML_BASE}:latest\n` });
      expect(
        await createDependencies({}, dependencyContext({ synth: [file] })),
      ).toEqual([]);
    });

    it('skips a Dockerfile that is gone from disk', async () => {
      workspace(`FROM ${ML_BASE}:latest\n`);
      rmSync(join(workspaceRoot, SYNTH_DOCKERFILE));
      expect(await createDependencies({}, dependencyContext())).toEqual([]);
    });

    it('adds edges for every project whose files changed', async () => {
      workspace(`FROM ${ML_BASE}:latest\n`);
      writeFileSync(
        join(workspaceRoot, 'examples/ml-base/docker/base/Dockerfile'),
        `FROM ${ML_COMMON}:latest\n`,
      );
      expect(
        await createDependencies(
          {},
          dependencyContext({
            'ml-base': ['examples/ml-base/docker/base/Dockerfile'],
            synth: [SYNTH_DOCKERFILE],
          }),
        ),
      ).toEqual([
        {
          source: 'ml-base',
          target: 'ml-common',
          sourceFile: 'examples/ml-base/docker/base/Dockerfile',
          type: DependencyType.static,
        },
        edge('ml-base'),
      ]);
    });
  });
});

describe('@ml/docker plugin: training before the images that bake its outputs in', () => {
  const createNodesFunction = createNodes[1];
  const savedRegistry = process.env.ML_DOCKER_REGISTRY;
  let workspaceRoot: string;
  let context: CreateNodesContextV2;

  beforeEach(() => {
    delete process.env.ML_DOCKER_REGISTRY;
    workspaceRoot = mkdtempSync(join(tmpdir(), 'ml-docker-plugin-train-'));
    context = { nxJsonConfiguration: {}, workspaceRoot };
  });

  afterEach(() => {
    if (savedRegistry === undefined) delete process.env.ML_DOCKER_REGISTRY;
    else process.env.ML_DOCKER_REGISTRY = savedRegistry;
    rmSync(workspaceRoot, { recursive: true, force: true });
  });

  /** Dockerfiles of examples/synth, by image. */
  function project(
    dockerfiles: Record<string, string>,
    root = 'examples/synth',
  ) {
    mkdirSync(join(workspaceRoot, root), { recursive: true });
    writeFileSync(join(workspaceRoot, root, 'project.json'), '{}');
    for (const [image, text] of Object.entries(dockerfiles)) {
      mkdirSync(join(workspaceRoot, root, 'docker', image), {
        recursive: true,
      });
      writeFileSync(
        join(workspaceRoot, root, 'docker', image, 'Dockerfile'),
        text,
      );
    }
    return join(workspaceRoot, root);
  }

  const TRAINING = [
    'FROM python:3.10-slim AS runtime',
    'COPY --chown=10001:10001 src/ ./src/',
    'CMD ["python", "-m", "src.model.train"]',
    'LABEL ml-docker.outputs="models/ metrics/" \\',
    '      ml-docker.accelerator="cpu"',
    '',
  ].join('\n');
  const INFERENCE = [
    'FROM python:3.10-slim AS builder',
    'FROM python:3.10-slim AS runtime',
    'COPY --from=builder /opt/venv /opt/venv',
    'COPY --chown=10001:10001 models/ ./models/',
    'COPY --chown=10001:10001 src/ ./src/',
    'LABEL ml-docker.health-path="/health"',
    '',
  ].join('\n');
  const outputsLabel = (outputs: string) =>
    `FROM python:3.10-slim\nLABEL ml-docker.outputs="${outputs}"\n`;

  describe('trainingFlow', () => {
    it.each<[string, Record<string, string>, ReturnType<typeof trainingFlow>]>([
      [
        'the generated pair: the training image labels its outputs, the inference image copies one',
        { training: TRAINING, inference: INFERENCE },
        { image: 'training', outputs: ['models', 'metrics'] },
      ],
      [
        'outputs written as ./models and metrics//, copied as models',
        {
          training: outputsLabel('./models metrics//'),
          inference: 'FROM x\nCOPY models ./models\n',
        },
        { image: 'training', outputs: ['models', 'metrics'] },
      ],
      [
        'an output copied as ./models/ in the exec form',
        {
          training: outputsLabel('models/'),
          inference: 'FROM x\nCOPY ["./models/", "./models/"]\n',
        },
        { image: 'training', outputs: ['models'] },
      ],
      [
        'images with any name',
        {
          fit: outputsLabel('artifacts/'),
          serve: 'FROM x\nCOPY artifacts/ ./artifacts/\n',
        },
        { image: 'fit', outputs: ['artifacts'] },
      ],
      [
        'a CPU and a CUDA training image: the CPU one, which runs on any runner',
        {
          'a-cuda': outputsLabel('models/'),
          b: outputsLabel('models/'),
          inference: INFERENCE,
        },
        { image: 'b', outputs: ['models'] },
      ],
      [
        'a CUDA training image alone',
        { 'training-cuda': outputsLabel('models/'), inference: INFERENCE },
        { image: 'training-cuda', outputs: ['models'] },
      ],
      [
        'the training image whose outputs are copied, not one whose are not',
        {
          evaluate: outputsLabel('reports/'),
          training: outputsLabel('models/'),
          inference: INFERENCE,
        },
        { image: 'training', outputs: ['models'] },
      ],
    ])('finds %s', (_label, dockerfiles, flow) => {
      expect(trainingFlow(project(dockerfiles))).toEqual(flow);
    });

    it.each<[string, Record<string, string>]>([
      ['a training image alone', { training: TRAINING }],
      ['an inference image alone', { inference: INFERENCE }],
      [
        'outputs no other image copies',
        { training: TRAINING, inference: 'FROM x\nCOPY src/ ./src/\n' },
      ],
      [
        'an output copied from a stage, not from the build context',
        {
          training: TRAINING,
          inference:
            'FROM x AS models\nFROM y\nCOPY --from=models models/ ./models/\n',
        },
      ],
      [
        'an output only the training image itself copies',
        {
          training: `${TRAINING}COPY models/ ./models/\n`,
          inference: 'FROM x\n',
        },
      ],
      [
        'a copy of a folder that merely starts like an output',
        {
          training: outputsLabel('models/'),
          inference: 'FROM x\nCOPY models-v2/ ./m/\n',
        },
      ],
      [
        'an empty outputs label',
        { training: outputsLabel(' '), inference: INFERENCE },
      ],
      ['no Dockerfile at all', {}],
    ])('finds nothing with %s', (_label, dockerfiles) => {
      expect(trainingFlow(project(dockerfiles))).toBeUndefined();
    });

    it('reads only docker/<image>/Dockerfile', () => {
      const root = project({ inference: INFERENCE });
      mkdirSync(join(root, 'docker', 'training'), { recursive: true });
      writeFileSync(
        join(root, 'docker', 'training', 'Dockerfile.dev'),
        TRAINING,
      );
      writeFileSync(join(root, 'Dockerfile'), TRAINING);
      expect(trainingFlow(root)).toBeUndefined();
    });
  });

  describe('the inferred docker-train target', () => {
    const BUILD_INPUTS = ['dockerContext', '^dockerContext', ...ENV_INPUTS];

    async function targetsOf(options = {}) {
      project({ training: TRAINING, inference: INFERENCE });
      const [[, result]] = await createNodesFunction(
        ['examples/synth/docker/training/Dockerfile'],
        options,
        context,
      );
      return result.projects?.['examples/synth'].targets ?? {};
    }

    it('runs the training image, caching what it writes, before docker-build', async () => {
      const targets = await targetsOf();
      expect(Object.keys(targets)).toEqual([
        'docker-train',
        'docker-build',
        'docker-test',
        'docker-push',
        'docker-promote',
        'nx-release-publish',
      ]);
      expect(targets['docker-train']).toEqual({
        executor: '@ml/docker:train',
        cache: true,
        dependsOn: ['^docker-build'],
        inputs: BUILD_INPUTS,
        outputs: ['{projectRoot}/models', '{projectRoot}/metrics'],
        options: { image: 'training', buildTarget: 'docker-build' },
        metadata: {
          technologies: ['ml-docker'],
          description:
            'Run the training image and keep what it writes (models, metrics) for the images that bake it in',
        },
      });
    });

    it('makes docker-build depend on docker-train and hash its outputs', async () => {
      const build = (await targetsOf())['docker-build'];
      expect(build.dependsOn).toEqual(['^docker-build', 'docker-train']);
      expect(build.inputs).toEqual([
        ...BUILD_INPUTS,
        { dependentTasksOutputFiles: '**/*' },
      ]);
      expect(build.options).toEqual({
        outputPath: 'dist/docker/examples/synth',
      });
      expect(build.outputs).toEqual(['{options.outputPath}']);
    });

    it('leaves docker-test and docker-push as they are', async () => {
      const targets = await targetsOf();
      expect(targets['docker-test'].dependsOn).toEqual(['docker-build']);
      expect(targets['docker-push'].dependsOn).toEqual(['docker-test']);
    });

    it('caches the output folders inside the project', async () => {
      const train = (await targetsOf())['docker-train'];
      expect(
        getOutputsForTargetAndConfiguration(
          { project: 'synth', target: 'docker-train' },
          {},
          {
            name: 'synth',
            type: 'app',
            data: {
              root: 'examples/synth',
              targets: { 'docker-train': train },
            },
          },
        ),
      ).toEqual(['examples/synth/models', 'examples/synth/metrics']);
    });

    it('uses the target names given in the options', async () => {
      const targets = await targetsOf({
        buildTargetName: 'image-build',
        trainTargetName: 'fit',
      });
      expect(Object.keys(targets)).toEqual([
        'fit',
        'image-build',
        'docker-test',
        'docker-push',
        'docker-promote',
        'nx-release-publish',
      ]);
      expect(targets['fit']).toMatchObject({
        dependsOn: ['^image-build'],
        options: { image: 'training', buildTarget: 'image-build' },
      });
      expect(targets['image-build'].dependsOn).toEqual(['^image-build', 'fit']);
    });

    it('is not inferred when no image copies what training writes', async () => {
      project({ training: TRAINING, inference: 'FROM x\nCOPY src/ ./src/\n' });
      const [[, result]] = await createNodesFunction(
        ['examples/synth/docker/training/Dockerfile'],
        {},
        context,
      );
      const targets = result.projects?.['examples/synth'].targets ?? {};
      expect(Object.keys(targets)).toEqual([
        'docker-build',
        'docker-test',
        'docker-push',
        'docker-promote',
        'nx-release-publish',
      ]);
      expect(targets['docker-build'].dependsOn).toEqual(['^docker-build']);
      expect(targets['docker-build'].inputs).toEqual(BUILD_INPUTS);
    });

    it('is inferred by inferredTargets from the flow it is given', () => {
      const targets = inferredTargets(
        '.',
        {},
        { image: 'fit', outputs: ['artifacts'] },
      );
      expect(targets['docker-train']).toMatchObject({
        outputs: ['{projectRoot}/artifacts'],
        options: { image: 'fit', buildTarget: 'docker-build' },
      });
      expect(targets['docker-build'].dependsOn).toEqual([
        '^docker-build',
        'docker-train',
      ]);
      expect(inferredTargets('.')['docker-train']).toBeUndefined();
    });
  });
});
