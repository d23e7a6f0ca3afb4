import { ExecutorContext, logger, ProjectConfiguration } from '@nx/devkit';
import {
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageRecord } from '../record/build-record';
import { dependencyImageArgs } from './dependency-images';
import { UserFacingError } from '../errors/errors';
import * as availability from '../record/image-availability';
import { run, RunResult } from '../process/process';
import { CLIENT, fakeEngine } from '../testing/fakes';

jest.mock('../process/process');

const runMock = jest.mocked(run);

const ENGINE = fakeEngine();
const ML_BASE = '127.0.0.1:5000/ml-images/ml-base';
const ML_BASE_ID =
  'sha256:2222222222222222222222222222222222222222222222222222222222222222';
const ML_COMMON = '127.0.0.1:5000/ml-images/ml-common-lib';
/** A Dockerfile built on the image the workspace project ml-base builds. */
const ON_ML_BASE = [
  `ARG BASE_IMAGE=${ML_BASE}:latest`,
  'FROM ${BASE_IMAGE} AS runtime',
  'CMD ["python", "-m", "src.model.train"]',
  '',
].join('\n');

const ML_BASE_RECORD: ImageRecord = {
  image: 'base',
  dockerfile: 'docker/base/Dockerfile',
  name: ML_BASE,
  registry: '127.0.0.1:5000',
  tags: ['nx-1', 'abcdef0', 'latest'],
  contentTag: 'nx-1',
  imageId: ML_BASE_ID,
  sizeBytes: 400_000_000,
  durationMs: 60_000,
  builtWith: 'buildx',
  createdAt: '2024-05-01T10:00:00.000Z',
};
const ML_COMMON_RECORD: ImageRecord = {
  ...ML_BASE_RECORD,
  image: 'lib',
  dockerfile: 'docker/lib/Dockerfile',
  name: ML_COMMON,
  tags: ['nx-2', 'latest'],
  contentTag: 'nx-2',
  imageId:
    'sha256:3333333333333333333333333333333333333333333333333333333333333333',
};

function result(exitCode: number, stdout = '', stderr = ''): RunResult {
  return {
    command: '',
    exitCode,
    stdout,
    stderr,
    all: [stdout, stderr].filter(Boolean).join('\n'),
    timedOut: false,
  };
}

describe('dependencyImageArgs', () => {
  const savedRegistry = process.env.ML_DOCKER_REGISTRY;
  let root: string;
  let context: ExecutorContext;
  let ensure: jest.SpyInstance;

  function makeContext(
    extra: Record<string, ProjectConfiguration> = {},
    buildTarget = 'docker-build',
  ): ExecutorContext {
    return {
      root,
      cwd: root,
      isVerbose: false,
      projectName: 'synth',
      targetName: buildTarget,
      projectsConfigurations: {
        version: 2,
        projects: {
          synth: {
            root: 'apps/synth',
            targets: {
              [buildTarget]: { executor: '@ml/docker:build', options: {} },
            },
          },
          'ml-base': {
            root: 'libs/ml-base',
            targets: {
              [buildTarget]: {
                executor: '@ml/docker:build',
                options: { imageNames: { base: 'ml-base' } },
              },
            },
          },
          ...extra,
        },
      },
      nxJsonConfiguration: {},
      projectGraph: { nodes: {}, dependencies: {} },
    };
  }

  const ML_BASE_RECORD_PATH = (outputPath = 'dist/docker/libs/ml-base') =>
    join(root, outputPath, 'build-record.json');

  /** The workspace project ml-base: its Dockerfile and, unless null, the record its last build wrote. */
  function mlBase(
    images: unknown[] | null = [ML_BASE_RECORD],
    { version = 2, outputPath = 'dist/docker/libs/ml-base' } = {},
  ) {
    mkdirSync(join(root, 'libs/ml-base/docker/base'), { recursive: true });
    writeFileSync(
      join(root, 'libs/ml-base/docker/base/Dockerfile'),
      'ARG BASE_IMAGE=python:3.10-slim\nFROM ${BASE_IMAGE}\n',
    );
    if (images === null) return;
    mkdirSync(join(root, outputPath), { recursive: true });
    writeFileSync(
      ML_BASE_RECORD_PATH(outputPath),
      JSON.stringify({ version, project: 'ml-base', images }),
    );
  }

  /** ml-common: a library whose artifact image (docker/lib/Dockerfile) images copy in. */
  function mlCommon() {
    mkdirSync(join(root, 'libs/ml-common/docker/lib'), { recursive: true });
    writeFileSync(
      join(root, 'libs/ml-common/docker/lib/Dockerfile'),
      'FROM scratch\nCOPY ml_common/ /python/ml_common/\n',
    );
    mkdirSync(join(root, 'dist/docker/libs/ml-common'), { recursive: true });
    writeFileSync(
      join(root, 'dist/docker/libs/ml-common/build-record.json'),
      JSON.stringify({
        version: 2,
        project: 'ml-common',
        images: [ML_COMMON_RECORD],
      }),
    );
    return makeContext({
      'ml-common': {
        root: 'libs/ml-common',
        targets: {
          'docker-build': { executor: '@ml/docker:build', options: {} },
        },
      },
    });
  }

  /** The engine: it has every image but those named, and its registry has none. */
  function engineWithout(...missing: string[]) {
    runMock.mockImplementation(async (file, args) => {
      if (file === CLIENT && args[0] === 'image' && args[1] === 'inspect')
        return missing.includes(args[2])
          ? result(1, '', `Error: No such image: ${args[2]}`)
          : result(0, JSON.stringify([{ Id: args[2], Size: 1, Config: {} }]));
      if (file === CLIENT && args[0] === 'pull')
        return result(1, '', `manifest for ${args[1]} not found`);
      throw new Error(`unexpected command: ${file} ${args.join(' ')}`);
    });
  }

  beforeEach(() => {
    delete process.env.ML_DOCKER_REGISTRY;
    root = mkdtempSync(join(tmpdir(), 'ml-docker-deps-'));
    context = makeContext();
    runMock.mockReset();
    engineWithout();
    ensure = jest.spyOn(availability, 'ensureLocalImage');
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  });

  afterEach(() => {
    if (savedRegistry === undefined) delete process.env.ML_DOCKER_REGISTRY;
    else process.env.ML_DOCKER_REGISTRY = savedRegistry;
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  const args = (text: string, ctx = context, buildTarget = 'docker-build') =>
    dependencyImageArgs(text, ctx, 'synth', ENGINE, buildTarget);

  it('gives the image a workspace dependency recorded, by its content tag, for the ARG that names it', async () => {
    mlBase();
    await expect(args(ON_ML_BASE)).resolves.toEqual({
      BASE_IMAGE: `${ML_BASE}:nx-1`,
    });
  });

  it('makes sure the engine has that image', async () => {
    mlBase();
    await args(ON_ML_BASE);
    expect(ensure).toHaveBeenCalledTimes(1);
    expect(ensure).toHaveBeenCalledWith(ENGINE, ML_BASE_RECORD, {
      project: 'ml-base',
      buildTarget: 'docker-build',
    });
    expect(runMock.mock.calls).toEqual([
      [CLIENT, ['image', 'inspect', ML_BASE_ID], {}],
    ]);
  });

  it('pulls that image by its content tag when the engine does not have it', async () => {
    mlBase();
    runMock.mockImplementation(async (_file, a) => {
      const line = a.join(' ');
      if (line === `image inspect ${ML_BASE_ID}`) return result(1);
      if (line === `pull ${ML_BASE}:nx-1`) return result(0);
      if (line === `image inspect ${ML_BASE}:nx-1`)
        return result(0, JSON.stringify([{ Id: ML_BASE_ID, Config: {} }]));
      if (a[0] === 'tag') return result(0);
      throw new Error(`unexpected command: ${line}`);
    });
    await expect(args(ON_ML_BASE)).resolves.toEqual({
      BASE_IMAGE: `${ML_BASE}:nx-1`,
    });
    expect(runMock.mock.calls.map(([, a]) => a.join(' '))).toEqual([
      `image inspect ${ML_BASE_ID}`,
      `pull ${ML_BASE}:nx-1`,
      `image inspect ${ML_BASE}:nx-1`,
      `tag ${ML_BASE}:nx-1 ${ML_BASE}:nx-1`,
      `tag ${ML_BASE}:nx-1 ${ML_BASE}:abcdef0`,
      `tag ${ML_BASE}:nx-1 ${ML_BASE}:latest`,
    ]);
  });

  it('takes the first tag of a record built without a content tag', async () => {
    mlBase([
      {
        ...ML_BASE_RECORD,
        contentTag: undefined,
        tags: ['abcdef0', 'latest'],
      },
    ]);
    await expect(args(ON_ML_BASE)).resolves.toEqual({
      BASE_IMAGE: `${ML_BASE}:abcdef0`,
    });
  });

  it('reads a version 1 record a cache hit restored, which called the name "repository"', async () => {
    const { name, ...v1 } = ML_BASE_RECORD;
    mlBase([{ ...v1, repository: name }], { version: 1 });
    await expect(args(ON_ML_BASE)).resolves.toEqual({
      BASE_IMAGE: `${ML_BASE}:nx-1`,
    });
    expect(ensure).toHaveBeenCalledWith(ENGINE, ML_BASE_RECORD, {
      project: 'ml-base',
      buildTarget: 'docker-build',
    });
  });

  it('finds the image whatever registry host and tag the ARG default names', async () => {
    mlBase();
    await expect(
      args(
        'ARG BASE_IMAGE=registry.example.com/ml-images/ml-base:v1\nFROM ${BASE_IMAGE}\n',
      ),
    ).resolves.toEqual({ BASE_IMAGE: `${ML_BASE}:nx-1` });
  });

  it('gives every ARG that names a workspace image, each image checked once', async () => {
    mlBase();
    const ctx = mlCommon();
    const dockerfile = [
      `ARG BASE_IMAGE=${ML_BASE}:latest`,
      `ARG ML_COMMON_IMAGE=${ML_COMMON}:latest`,
      'FROM ${ML_COMMON_IMAGE} AS ml-common',
      'FROM ${BASE_IMAGE} AS builder',
      'FROM ${BASE_IMAGE} AS runtime',
      'COPY --from=ml-common --chown=10001:10001 /python/ ./',
      '',
    ].join('\n');
    await expect(args(dockerfile, ctx)).resolves.toEqual({
      BASE_IMAGE: `${ML_BASE}:nx-1`,
      ML_COMMON_IMAGE: `${ML_COMMON}:nx-2`,
    });
    expect(ensure.mock.calls).toEqual([
      [
        ENGINE,
        ML_COMMON_RECORD,
        { project: 'ml-common', buildTarget: 'docker-build' },
      ],
      [
        ENGINE,
        ML_BASE_RECORD,
        { project: 'ml-base', buildTarget: 'docker-build' },
      ],
    ]);
  });

  it.each([
    [
      'an ARG naming an external image',
      'ARG BASE_IMAGE=python:3.10-slim\nFROM ${BASE_IMAGE}\n',
    ],
    [
      "an ARG naming the project's own image",
      'ARG BASE_IMAGE=127.0.0.1:5000/ml-images/synth-training:latest\nFROM ${BASE_IMAGE}\n',
    ],
    ['a workspace image named without an ARG', `FROM ${ML_BASE}:latest\n`],
    [
      'an ARG declared after the first FROM',
      `FROM python:3.10-slim\nARG BASE_IMAGE=${ML_BASE}:latest\n`,
    ],
    ['a Dockerfile without ARGs', 'FROM python:3.10-slim\n'],
  ])('gives nothing for %s', async (_label, dockerfile) => {
    mlBase();
    await expect(args(dockerfile)).resolves.toEqual({});
    expect(ensure).not.toHaveBeenCalled();
    expect(runMock).not.toHaveBeenCalled();
  });

  it.each([
    ['no build record', null],
    [
      'a build record without its image',
      [{ ...ML_BASE_RECORD, image: 'other' }],
    ],
  ])(
    'tells to build the dependency first when it has %s',
    async (_label, images) => {
      mlBase(images);
      const error = await args(ON_ML_BASE).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserFacingError);
      expect((error as Error).message).toBe(
        `BASE_IMAGE names ml-base's base image, which has no build record at ${ML_BASE_RECORD_PATH()}. Build it first: nx run ml-base:docker-build (docker-build depends on ^docker-build, so nx run-many and nx affected do this for you).`,
      );
      expect(ensure).not.toHaveBeenCalled();
    },
  );

  it('names the build target the workspace calls it by', async () => {
    mlBase(null);
    const ctx = makeContext({}, 'image-build');
    const error = await args(ON_ML_BASE, ctx, 'image-build').catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toContain(
      'Build it first: nx run ml-base:image-build (image-build depends on ^image-build,',
    );
  });

  it("names the dependency's own build target when it is not the preferred one", async () => {
    mlBase();
    const ctx = makeContext();
    ctx.projectsConfigurations.projects['ml-base'].targets = {
      containers: {
        executor: '@ml/docker:build',
        options: { imageNames: { base: 'ml-base' } },
      },
    };
    await expect(args(ON_ML_BASE, ctx)).resolves.toEqual({
      BASE_IMAGE: `${ML_BASE}:nx-1`,
    });
    expect(ensure).toHaveBeenCalledWith(ENGINE, ML_BASE_RECORD, {
      project: 'ml-base',
      buildTarget: 'containers',
    });
  });

  it("reads the dependency's record where its outputPath option puts it", async () => {
    // readTargetOptions reads the option through @ml/docker:build's schema.
    mkdirSync(join(root, 'node_modules/@ml'), { recursive: true });
    symlinkSync(
      join(__dirname, '../..'),
      join(root, 'node_modules/@ml/docker'),
    );
    mlBase([ML_BASE_RECORD], { outputPath: 'dist/images/ml-base' });
    const ctx = makeContext({
      'ml-base': {
        root: 'libs/ml-base',
        targets: {
          'docker-build': {
            executor: '@ml/docker:build',
            options: {
              imageNames: { base: 'ml-base' },
              outputPath: 'dist/images/ml-base',
            },
          },
        },
      },
    });
    await expect(args(ON_ML_BASE, ctx)).resolves.toEqual({
      BASE_IMAGE: `${ML_BASE}:nx-1`,
    });
  });

  it('fails when the recorded image is neither in the engine nor in the registry', async () => {
    mlBase();
    engineWithout(ML_BASE_ID);
    await expect(args(ON_ML_BASE)).rejects.toThrow(
      new UserFacingError(
        `Image ${ML_BASE} (${ML_BASE_ID.slice(0, 19)}) from the build record is neither in this engine nor in the registry. Build it now: nx run ml-base:docker-build --skip-nx-cache`,
      ),
    );
  });
});
