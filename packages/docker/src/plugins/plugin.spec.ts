import {
  CreateDependenciesContext,
  CreateNodesContextV2,
  DependencyType,
  getOutputsForTargetAndConfiguration,
  ProjectConfiguration,
} from '@nx/devkit';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { recordPath } from '../lib/build-record';
import {
  createDependencies,
  createNodes,
  DOCKERFILE_GLOB,
  inferredTargets,
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
                      technologies: ['docker'],
                      description:
                        'Build the docker/<image>/Dockerfile images and write a build record',
                    },
                  },
                  'docker-test': {
                    executor: '@ml/docker:test',
                    dependsOn: ['docker-build'],
                    options: { buildTarget: 'docker-build' },
                    metadata: {
                      technologies: ['docker'],
                      description:
                        'Start the images: services must become healthy, jobs must exit 0',
                    },
                  },
                  'docker-push': {
                    executor: '@ml/docker:push',
                    dependsOn: ['docker-test'],
                    options: { buildTarget: 'docker-build' },
                    metadata: {
                      technologies: ['docker'],
                      description:
                        'Push every tag; tags the registry already holds are skipped',
                    },
                  },
                },
              },
            },
          },
        ],
      ]);
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
        },
        context,
      );

      const targets = result.projects?.['examples/synth'].targets ?? {};
      expect(Object.keys(targets)).toEqual([
        'image-build',
        'image-test',
        'image-push',
      ]);
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
    });

    it('keeps the default names of the targets not given', () => {
      const targets = inferredTargets('examples/synth', {
        testTargetName: 'smoke',
      });
      expect(Object.keys(targets)).toEqual([
        'docker-build',
        'smoke',
        'docker-push',
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

    function dependencyContext(
      filesToProcess: Record<string, string[]> = { synth: [SYNTH_DOCKERFILE] },
    ): CreateDependenciesContext {
      const files = (paths: string[]) =>
        paths.map((file) => ({ file, hash: 'x' }));
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
