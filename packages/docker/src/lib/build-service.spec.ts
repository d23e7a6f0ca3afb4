import { ExecutorContext, logger } from '@nx/devkit';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageRecord } from '../../lib/build-record';
import { resetEngineCache } from '../../lib/engine';
import { UserFacingError } from '../../lib/errors';
import { GitInfo } from '../../lib/git';
import { ensureLocalImage } from '../../lib/image-availability';
import { run, RunResult } from '../../lib/process';
import buildExecutor, {
  buildImages,
  dependencyImageArgs,
  NormalizedBuildOptions,
  normalizeOptions,
  pickEngine,
  tagsFor,
} from './build.impl';
import { BuildExecutorSchema } from './schema';

jest.mock('../../lib/process');
jest.mock('../../lib/image-availability');

const runMock = jest.mocked(run);
const ensureLocalImageMock = jest.mocked(ensureLocalImage);

const CLIENT = '/opt/docker/bin/docker';
const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const IMAGE_ID =
  'sha256:1111111111111111111111111111111111111111111111111111111111111111';
const TRAINING_DOCKERFILE = [
  'ARG BASE_IMAGE=python:3.10-slim',
  'FROM ${BASE_IMAGE} AS runtime',
  'CMD ["python", "-m", "src.model.train"]',
  '',
].join('\n');
const ML_BASE = '127.0.0.1:5000/ml-images/ml-base';
const ML_BASE_ID =
  'sha256:2222222222222222222222222222222222222222222222222222222222222222';
/** A Dockerfile built on the image the workspace project ml-base builds. */
const ON_ML_BASE = [
  `ARG BASE_IMAGE=${ML_BASE}:latest`,
  'FROM ${BASE_IMAGE} AS runtime',
  'CMD ["python", "-m", "src.model.train"]',
  '',
].join('\n');

function ok(stdout = '', stderr = ''): RunResult {
  return {
    command: '',
    exitCode: 0,
    stdout,
    stderr,
    all: [stdout, stderr].filter(Boolean).join('\n'),
    timedOut: false,
  };
}

function failed(all: string): RunResult {
  return {
    command: '',
    exitCode: 1,
    stdout: '',
    stderr: all,
    all,
    timedOut: false,
  };
}

const ENV_KEYS = [
  'NX_TASK_HASH',
  'ML_DOCKER_BASE_IMAGE',
  'ML_DOCKER_REGISTRY',
  'ML_DOCKER_CLIENT',
] as const;

describe('build executor', () => {
  const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  let root: string;
  let context: ExecutorContext;

  function makeContext(
    overrides: Partial<ExecutorContext> = {},
  ): ExecutorContext {
    return {
      root,
      cwd: root,
      isVerbose: false,
      projectName: 'synth',
      targetName: 'docker-build',
      projectsConfigurations: {
        version: 2,
        projects: {
          synth: {
            root: 'apps/synth',
            targets: {
              'docker-build': { executor: '@ml/docker:build', options: {} },
            },
          },
          'ml-base': {
            root: 'libs/ml-base',
            targets: {
              'docker-build': {
                executor: '@ml/docker:build',
                options: { imageNames: { base: 'ml-base' } },
              },
            },
          },
        },
      },
      nxJsonConfiguration: {},
      projectGraph: { nodes: {}, dependencies: {} },
      ...overrides,
    };
  }

  function taskGraphWith(
    id: string,
    hash: string,
  ): ExecutorContext['taskGraph'] {
    const [project, target, configuration] = id.split(':');
    return {
      roots: [id],
      tasks: {
        [id]: {
          id,
          target: { project, target, configuration },
          overrides: {},
          outputs: [],
          cache: true,
          hash,
        },
      },
      dependencies: { [id]: [] },
      continuousDependencies: { [id]: [] },
    };
  }

  const ML_BASE_RECORD: ImageRecord = {
    image: 'base',
    dockerfile: 'docker/base/Dockerfile',
    repository: ML_BASE,
    registry: '127.0.0.1:5000',
    tags: ['nx-1', 'abcdef0', 'latest'],
    contentTag: 'nx-1',
    imageId: ML_BASE_ID,
    sizeBytes: 400_000_000,
    durationMs: 60_000,
    builtWith: 'buildx',
    createdAt: '2024-05-01T10:00:00.000Z',
  };
  const ML_BASE_RECORD_PATH = () =>
    join(root, 'dist/docker/libs/ml-base/build-record.json');

  /** The workspace project ml-base: its Dockerfile and, unless null, the record its last build wrote. */
  function mlBase(images: ImageRecord[] | null = [ML_BASE_RECORD]) {
    mkdirSync(join(root, 'libs/ml-base/docker/base'), { recursive: true });
    writeFileSync(
      join(root, 'libs/ml-base/docker/base/Dockerfile'),
      'ARG BASE_IMAGE=python:3.10-slim\nFROM ${BASE_IMAGE}\n',
    );
    if (images === null) return;
    mkdirSync(join(root, 'dist/docker/libs/ml-base'), { recursive: true });
    writeFileSync(
      ML_BASE_RECORD_PATH(),
      JSON.stringify({ version: 1, project: 'ml-base', images }),
    );
  }

  beforeEach(() => {
    for (const k of ENV_KEYS) delete process.env[k];
    root = mkdtempSync(join(tmpdir(), 'ml-docker-ws-'));
    mkdirSync(join(root, 'apps/synth/docker/training'), { recursive: true });
    writeFileSync(
      join(root, 'apps/synth/docker/training/Dockerfile'),
      TRAINING_DOCKERFILE,
    );
    context = makeContext();
    runMock.mockReset();
    ensureLocalImageMock.mockReset();
    resetEngineCache();
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    for (const k of ENV_KEYS) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
    resetEngineCache();
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  describe('normalizeOptions', () => {
    it('fills in the defaults', () => {
      expect(normalizeOptions({}, context)).toEqual({
        latest: true,
        gitShaTag: true,
        engine: 'auto',
        registryCache: true,
        baseImage: undefined,
        recordPath: join(root, 'dist/docker/apps/synth/build-record.json'),
        contentTag: undefined,
      });
    });

    it('keeps the options given', () => {
      const options: BuildExecutorSchema = {
        latest: false,
        gitShaTag: false,
        engine: 'classic',
        tags: ['v1'],
        baseImage: 'python:3.12-slim',
      };
      expect(normalizeOptions(options, context)).toMatchObject(options);
    });

    it.each([
      ['no baseImage option', {}, undefined],
      [
        'the baseImage option',
        { baseImage: 'python:3.12-slim' },
        'python:3.12-slim',
      ],
    ])(
      'keeps ML_DOCKER_BASE_IMAGE out of baseImage, which holds %s (the variable applies per Dockerfile)',
      (_label, options, baseImage) => {
        process.env.ML_DOCKER_BASE_IMAGE = 'mirror.local/python:3.10-slim';
        expect(normalizeOptions(options, context).baseImage).toBe(baseImage);
      },
    );

    it('writes the record under outputPath when given', () => {
      expect(
        normalizeOptions({ outputPath: 'dist/images/synth' }, context)
          .recordPath,
      ).toBe(join(root, 'dist/images/synth/build-record.json'));
    });

    it('derives the content tag from NX_TASK_HASH', () => {
      process.env.NX_TASK_HASH = '9f8e7d6c5b4a39281706';
      expect(normalizeOptions({}, context).contentTag).toBe(
        'nx-9f8e7d6c5b4a39281706',
      );
    });

    it.each([
      ['the task', 'synth:docker-build', undefined],
      ['the task of a configuration', 'synth:docker-build:ci', 'ci'],
    ])(
      'derives the content tag from the hash of %s in the task graph',
      (_label, id, configurationName) => {
        const ctx = makeContext({
          configurationName,
          taskGraph: taskGraphWith(id, '1234567890abcdef'),
        });
        expect(normalizeOptions({}, ctx).contentTag).toBe(
          'nx-1234567890abcdef',
        );
      },
    );

    it('ignores the hash of another task', () => {
      const ctx = makeContext({
        taskGraph: taskGraphWith('other:docker-build', '1234567890abcdef'),
      });
      expect(normalizeOptions({}, ctx).contentTag).toBeUndefined();
    });

    it('prefers NX_TASK_HASH to the task graph', () => {
      process.env.NX_TASK_HASH = 'fromenv';
      const ctx = makeContext({
        taskGraph: taskGraphWith('synth:docker-build', 'fromgraph'),
      });
      expect(normalizeOptions({}, ctx).contentTag).toBe('nx-fromenv');
    });

    it.each(['my tag', '-rc', '.x', 'a/b', 'v1:2', '$(id)', ''])(
      'refuses the user tag %j',
      (tag) => {
        expect(() => normalizeOptions({ tags: ['ok', tag] }, context)).toThrow(
          UserFacingError,
        );
        expect(() => normalizeOptions({ tags: ['ok', tag] }, context)).toThrow(
          `Invalid tag "${tag}" in the tags option`,
        );
      },
    );

    it('refuses to run outside a project', () => {
      expect(() =>
        normalizeOptions({}, makeContext({ projectName: undefined })),
      ).toThrow(
        'This executor must run on a project: nx run <project>:<target>.',
      );
    });
  });

  describe('tagsFor', () => {
    const base: NormalizedBuildOptions = {
      latest: true,
      gitShaTag: true,
      engine: 'auto',
      registryCache: true,
      recordPath: '/x',
    };
    const clean: GitInfo = { sha: SHA, shortSha: 'abcdef0', dirty: false };
    const dirty: GitInfo = { ...clean, dirty: true };
    const noGit: GitInfo = { dirty: false };

    it.each<[string, Partial<NormalizedBuildOptions>, GitInfo, string[]]>([
      [
        'content tag, SHA and latest by default',
        { contentTag: 'nx-123' },
        clean,
        ['nx-123', 'abcdef0', 'latest'],
      ],
      ['no content tag outside nx', {}, clean, ['abcdef0', 'latest']],
      [
        'no SHA when the project has uncommitted changes',
        { contentTag: 'nx-123' },
        dirty,
        ['nx-123', 'latest'],
      ],
      [
        'no SHA outside a git repository',
        { contentTag: 'nx-123' },
        noGit,
        ['nx-123', 'latest'],
      ],
      ['no SHA with gitShaTag off', { gitShaTag: false }, clean, ['latest']],
      [
        'no latest with latest off',
        { latest: false, contentTag: 'nx-123' },
        clean,
        ['nx-123', 'abcdef0'],
      ],
      [
        'user tags last',
        { tags: ['v1.2.0', 'stable'] },
        clean,
        ['abcdef0', 'latest', 'v1.2.0', 'stable'],
      ],
      [
        'each tag once',
        { contentTag: 'nx-1', tags: ['latest', 'abcdef0', 'nx-1', 'v1', 'v1'] },
        clean,
        ['nx-1', 'abcdef0', 'latest', 'v1'],
      ],
      [
        'nothing when everything is off',
        { latest: false, gitShaTag: false },
        clean,
        [],
      ],
    ])('gives %s', (_label, options, git, tags) => {
      expect(tagsFor({ ...base, ...options }, git)).toEqual(tags);
    });
  });

  describe('buildImages', () => {
    interface Fake {
      buildx?: boolean;
      dirty?: boolean;
      build?: RunResult;
    }

    /** The docker client, git and the build, as seen through process.run. */
    function fake({ buildx = true, dirty = false, build = ok() }: Fake = {}) {
      process.env.ML_DOCKER_CLIENT = CLIENT;
      runMock.mockImplementation(async (file, args) => {
        const line = args.join(' ');
        if (file === 'git') {
          if (line === 'rev-parse HEAD') return ok(`${SHA}\n`);
          if (line === 'status --porcelain -- apps/synth')
            return ok(dirty ? ' M apps/synth/src/model/train.py' : '');
          if (line === 'config --get remote.origin.url')
            return ok('https://ci-bot:ghp_t0k3n@github.com/acme/ml.git');
          if (line === 'show -s --format=%cI HEAD')
            return ok('2024-05-01T12:00:00+02:00');
        }
        if (file === CLIENT) {
          if (line.startsWith('version ')) return ok('28.3.2|28.3.2');
          if (line === 'buildx version')
            return buildx
              ? ok('github.com/docker/buildx v0.25.0')
              : failed("'buildx' is not a docker command");
          if (args[0] === 'image' && args[1] === 'inspect') {
            return ok(
              JSON.stringify([{ Id: IMAGE_ID, Size: 150_000_000, Config: {} }]),
            );
          }
          if (args.includes('--iidfile')) {
            if (build.exitCode === 0)
              writeFileSync(args[args.indexOf('--iidfile') + 1], IMAGE_ID);
            return build;
          }
        }
        throw new Error(`unexpected command: ${file} ${line}`);
      });
    }

    const buildCalls = () =>
      runMock.mock.calls.filter(([, args]) => args.includes('--iidfile'));
    const projectRoot = () => join(root, 'apps/synth');

    it('runs docker buildx build with the exact command line and writes the build record', async () => {
      fake();
      process.env.NX_TASK_HASH = '5a5a5a5a';

      const record = await buildImages(
        { baseImage: 'python:3.12-slim' },
        context,
      );

      const repo = '127.0.0.1:5000/ml-images/synth-training';
      expect(buildCalls()).toEqual([
        [
          CLIENT,
          [
            'buildx',
            'build',
            '--load',
            '--progress=plain',
            '--file',
            join(projectRoot(), 'docker/training/Dockerfile'),
            '--tag',
            `${repo}:nx-5a5a5a5a`,
            '--tag',
            `${repo}:abcdef0`,
            '--tag',
            `${repo}:latest`,
            '--build-arg',
            'BASE_IMAGE=python:3.12-slim',
            '--build-arg',
            'BUILDKIT_INLINE_CACHE=1',
            '--label',
            'org.opencontainers.image.source=https://github.com/acme/ml.git',
            '--label',
            `org.opencontainers.image.revision=${SHA}`,
            '--label',
            'org.opencontainers.image.created=2024-05-01T10:00:00.000Z',
            '--cache-from',
            `${repo}:latest`,
            '--iidfile',
            expect.stringMatching(/ml-docker-build-[^/]+\/iid$/),
            projectRoot(),
          ],
          { env: {}, stream: true, cwd: projectRoot() },
        ],
      ]);
      expect(record).toEqual({
        version: 1,
        project: 'synth',
        images: [
          {
            image: 'training',
            dockerfile: 'docker/training/Dockerfile',
            repository: repo,
            registry: '127.0.0.1:5000',
            tags: ['nx-5a5a5a5a', 'abcdef0', 'latest'],
            contentTag: 'nx-5a5a5a5a',
            imageId: IMAGE_ID,
            sizeBytes: 150_000_000,
            durationMs: expect.any(Number),
            builtWith: 'buildx',
            createdAt: expect.any(String),
          },
        ],
      });
      const written = JSON.parse(
        readFileSync(
          join(root, 'dist/docker/apps/synth/build-record.json'),
          'utf8',
        ),
      );
      expect(written).toEqual(JSON.parse(JSON.stringify(record)));
    });

    it('never puts the token of the git remote in a label', async () => {
      fake();
      await buildImages({}, context);
      const args = buildCalls()[0][1];
      expect(args.join(' ')).not.toContain('ghp_t0k3n');
      expect(args.join(' ')).not.toContain('ci-bot');
    });

    it('removes the scratch folder holding the iid file', async () => {
      fake();
      await buildImages({}, context);
      const iid = buildCalls()[0][1].find((a) => a.endsWith('/iid'))!;
      expect(existsSync(iid)).toBe(false);
    });

    it.each([
      ['declares BASE_IMAGE', TRAINING_DOCKERFILE, true],
      [
        'does not declare BASE_IMAGE',
        'FROM python:3.10-slim\nCMD ["python"]\n',
        false,
      ],
    ])(
      'passes the base image only when the Dockerfile %s',
      async (_label, dockerfile, passed) => {
        writeFileSync(
          join(projectRoot(), 'docker/training/Dockerfile'),
          dockerfile,
        );
        fake();
        process.env.ML_DOCKER_BASE_IMAGE = 'mirror.local/python:3.10-slim';
        await buildImages({}, context);
        const args = buildCalls()[0][1];
        expect(args.includes('BASE_IMAGE=mirror.local/python:3.10-slim')).toBe(
          passed,
        );
      },
    );

    it.each<[string, string, string | undefined, BuildExecutorSchema, string]>([
      [
        'ML_DOCKER_BASE_IMAGE over the default of the Dockerfile',
        TRAINING_DOCKERFILE,
        'mirror.local/python:3.10-slim',
        {},
        'mirror.local/python:3.10-slim',
      ],
      [
        'the image ml-base recorded over the default of the Dockerfile',
        ON_ML_BASE,
        undefined,
        {},
        `${ML_BASE}:nx-1`,
      ],
      [
        'the image ml-base recorded over ML_DOCKER_BASE_IMAGE',
        ON_ML_BASE,
        'mirror.local/python:3.10-slim',
        {},
        `${ML_BASE}:nx-1`,
      ],
      [
        'the baseImage option over the image ml-base recorded',
        ON_ML_BASE,
        'mirror.local/python:3.10-slim',
        { baseImage: 'python:3.12-slim' },
        'python:3.12-slim',
      ],
      [
        'an explicit build arg over the baseImage option',
        ON_ML_BASE,
        'mirror.local/python:3.10-slim',
        { baseImage: 'python:3.12-slim', buildArgs: { BASE_IMAGE: 'b:2' } },
        'b:2',
      ],
    ])('builds on %s', async (_label, dockerfile, env, options, baseImage) => {
      writeFileSync(
        join(projectRoot(), 'docker/training/Dockerfile'),
        dockerfile,
      );
      mlBase();
      fake();
      if (env) process.env.ML_DOCKER_BASE_IMAGE = env;
      await buildImages(options, context);
      const args = buildCalls()[0][1];
      expect(
        args.filter(
          (a, i) =>
            args[i - 1] === '--build-arg' && a.startsWith('BASE_IMAGE='),
        ),
      ).toEqual([`BASE_IMAGE=${baseImage}`]);
    });

    it('makes sure the engine has the image a workspace dependency recorded before building on it', async () => {
      writeFileSync(
        join(projectRoot(), 'docker/training/Dockerfile'),
        ON_ML_BASE,
      );
      mlBase();
      fake();
      await buildImages({}, context);
      expect(ensureLocalImageMock).toHaveBeenCalledWith(
        'ml-base',
        ML_BASE_RECORD,
      );
      expect(ensureLocalImageMock.mock.invocationCallOrder[0]).toBeLessThan(
        runMock.mock.invocationCallOrder[
          runMock.mock.calls.findIndex(([, args]) => args.includes('--iidfile'))
        ],
      );
    });

    it('refuses to build on a workspace dependency that was never built, before building', async () => {
      writeFileSync(
        join(projectRoot(), 'docker/training/Dockerfile'),
        ON_ML_BASE,
      );
      mlBase(null);
      fake();
      await expect(buildImages({}, context)).rejects.toThrow(
        'Build it first: nx run ml-base:docker-build',
      );
      expect(buildCalls()).toEqual([]);
    });

    it('lets buildArgs override the base image', async () => {
      fake();
      await buildImages(
        {
          baseImage: 'a:1',
          buildArgs: { BASE_IMAGE: 'b:2', PIP_NO_INDEX: '1' },
        },
        context,
      );
      const args = buildCalls()[0][1];
      expect(args.filter((_a, i) => args[i - 1] === '--build-arg')).toEqual([
        'BASE_IMAGE=b:2',
        'PIP_NO_INDEX=1',
        'BUILDKIT_INLINE_CACHE=1',
      ]);
    });

    it.each([
      ['the engine has BuildKit', {}, { buildx: true }, true],
      [
        'registryCache is off',
        { registryCache: false },
        { buildx: true },
        false,
      ],
      ['only the classic builder exists', {}, { buildx: false }, false],
    ])(
      'takes layer cache from the registry unless %s',
      async (_what, options, machine, expected) => {
        fake(machine);
        await buildImages(options, context);
        const args = buildCalls()[0][1];
        expect(args.includes('BUILDKIT_INLINE_CACHE=1')).toBe(expected);
        expect(
          args.some(
            (a, i) => args[i - 1] === '--cache-from' && a.endsWith(':latest'),
          ),
        ).toBe(expected);
      },
    );

    it('skips the SHA tag and commit time when the project has uncommitted changes', async () => {
      fake({ dirty: true });
      const record = await buildImages({}, context);
      expect(record.images[0].tags).toEqual(['latest']);
      expect(
        runMock.mock.calls.some(
          ([file, args]) => file === 'git' && args[0] === 'show',
        ),
      ).toBe(false);
    });

    it('builds with DOCKER_BUILDKIT=0 on a machine with only the classic builder', async () => {
      fake({ buildx: false });
      await buildImages({}, context);
      const [file, args, options] = buildCalls()[0];
      expect(file).toBe(CLIENT);
      expect(args.slice(0, 3)).toEqual([
        'build',
        '--file',
        join(projectRoot(), 'docker/training/Dockerfile'),
      ]);
      expect(options).toEqual({
        env: { DOCKER_BUILDKIT: '0' },
        stream: true,
        cwd: projectRoot(),
      });
    });

    it('refuses a Dockerfile that needs BuildKit on a classic-only machine, before building', async () => {
      writeFileSync(
        join(projectRoot(), 'docker/training/Dockerfile'),
        'FROM python:3.10-slim\nRUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt\n',
      );
      fake({ buildx: false });
      await expect(buildImages({}, context)).rejects.toThrow(
        'docker/training/Dockerfile uses RUN --mount, which needs BuildKit, and this machine has only the classic builder.',
      );
      expect(buildCalls()).toEqual([]);
    });

    it('says to drop the classic engine option when BuildKit is there but not asked for', async () => {
      writeFileSync(
        join(projectRoot(), 'docker/training/Dockerfile'),
        'FROM python:3.10-slim\nRUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt\n',
      );
      fake({ buildx: true });
      await expect(buildImages({ engine: 'classic' }, context)).rejects.toThrow(
        'docker/training/Dockerfile uses RUN --mount, which needs BuildKit, and the engine option asks for the classic builder. Set engine to "auto", or remove RUN --mount.',
      );
      expect(buildCalls()).toEqual([]);
    });

    it('names the failing step and its reason when the build fails', async () => {
      fake({
        build: failed(
          "Step 3/4 : RUN pip install nosuchpkg==9.9\nERROR: No matching distribution found for nosuchpkg==9.9\nThe command '/bin/sh -c pip install nosuchpkg==9.9' returned a non-zero code: 1",
        ),
      });
      await expect(buildImages({}, context)).rejects.toThrow(
        "Build of synth/training failed at step RUN pip install nosuchpkg==9.9: The command '/bin/sh -c pip install nosuchpkg==9.9' returned a non-zero code: 1. Fix the Dockerfile or its inputs and rerun.",
      );
      expect(
        existsSync(join(root, 'dist/docker/apps/synth/build-record.json')),
      ).toBe(false);
    });

    it('refuses a project without Dockerfiles with the generator command', async () => {
      rmSync(join(projectRoot(), 'docker'), { recursive: true });
      fake();
      await expect(buildImages({}, context)).rejects.toThrow(
        'Project synth has no docker/<image>/Dockerfile. Generate them: nx g @ml/docker:images --project=synth',
      );
    });

    it('fails the task with the message at the executor boundary', async () => {
      fake({
        build: failed('Step 1/1 : RUN false\nreturned a non-zero code: 1'),
      });
      await expect(buildExecutor({}, context)).resolves.toEqual({
        success: false,
      });
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringContaining(
          '@ml/docker:build: Build of synth/training failed at step RUN false',
        ),
      );
    });

    it('succeeds at the executor boundary', async () => {
      fake();
      await expect(buildExecutor({}, context)).resolves.toEqual({
        success: true,
      });
    });
  });

  describe('dependencyImageArgs', () => {
    const ML_COMMON = '127.0.0.1:5000/ml-images/ml-common-lib';
    const ML_COMMON_RECORD: ImageRecord = {
      ...ML_BASE_RECORD,
      image: 'lib',
      dockerfile: 'docker/lib/Dockerfile',
      repository: ML_COMMON,
      tags: ['nx-2', 'latest'],
      contentTag: 'nx-2',
      imageId:
        'sha256:3333333333333333333333333333333333333333333333333333333333333333',
    };

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
          version: 1,
          project: 'ml-common',
          images: [ML_COMMON_RECORD],
        }),
      );
      const { projects } = context.projectsConfigurations;
      return makeContext({
        projectsConfigurations: {
          version: 2,
          projects: {
            ...projects,
            'ml-common': {
              root: 'libs/ml-common',
              targets: {
                'docker-build': { executor: '@ml/docker:build', options: {} },
              },
            },
          },
        },
      });
    }

    it('gives the image a workspace dependency recorded, by its content tag, for the ARG that names it', async () => {
      mlBase();
      await expect(
        dependencyImageArgs(ON_ML_BASE, context, 'synth'),
      ).resolves.toEqual({ BASE_IMAGE: `${ML_BASE}:nx-1` });
    });

    it('makes sure the engine has that image, pulling it if need be', async () => {
      mlBase();
      await dependencyImageArgs(ON_ML_BASE, context, 'synth');
      expect(ensureLocalImageMock).toHaveBeenCalledTimes(1);
      expect(ensureLocalImageMock).toHaveBeenCalledWith(
        'ml-base',
        ML_BASE_RECORD,
      );
    });

    it('takes the first tag of a record built without a content tag', async () => {
      mlBase([
        {
          ...ML_BASE_RECORD,
          contentTag: undefined,
          tags: ['abcdef0', 'latest'],
        },
      ]);
      await expect(
        dependencyImageArgs(ON_ML_BASE, context, 'synth'),
      ).resolves.toEqual({ BASE_IMAGE: `${ML_BASE}:abcdef0` });
    });

    it('finds the image whatever registry host and tag the ARG default names', async () => {
      mlBase();
      await expect(
        dependencyImageArgs(
          'ARG BASE_IMAGE=registry.example.com/ml-images/ml-base:v1\nFROM ${BASE_IMAGE}\n',
          context,
          'synth',
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
      await expect(
        dependencyImageArgs(dockerfile, ctx, 'synth'),
      ).resolves.toEqual({
        BASE_IMAGE: `${ML_BASE}:nx-1`,
        ML_COMMON_IMAGE: `${ML_COMMON}:nx-2`,
      });
      expect(ensureLocalImageMock.mock.calls).toEqual([
        ['ml-common', ML_COMMON_RECORD],
        ['ml-base', ML_BASE_RECORD],
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
      await expect(
        dependencyImageArgs(dockerfile, context, 'synth'),
      ).resolves.toEqual({});
      expect(ensureLocalImageMock).not.toHaveBeenCalled();
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
        const error = await dependencyImageArgs(
          ON_ML_BASE,
          context,
          'synth',
        ).catch((e) => e);
        expect(error).toBeInstanceOf(UserFacingError);
        expect(error.message).toBe(
          `BASE_IMAGE names ml-base's base image, which has no build record at ${ML_BASE_RECORD_PATH()}. Build it first: nx run ml-base:docker-build (docker-build depends on ^docker-build, so nx run-many and nx affected do this for you).`,
        );
        expect(ensureLocalImageMock).not.toHaveBeenCalled();
      },
    );

    it('fails when the recorded image is neither in the engine nor in the registry', async () => {
      mlBase();
      ensureLocalImageMock.mockRejectedValue(
        new UserFacingError('Image 127.0.0.1:5000/ml-images/ml-base is gone'),
      );
      await expect(
        dependencyImageArgs(ON_ML_BASE, context, 'synth'),
      ).rejects.toThrow('Image 127.0.0.1:5000/ml-images/ml-base is gone');
    });
  });

  describe('pickEngine', () => {
    function machine(buildx: boolean, clientVersion = '28.3.2') {
      process.env.ML_DOCKER_CLIENT = CLIENT;
      runMock.mockImplementation(async (_file, args) =>
        args[0] === 'version'
          ? ok(`${clientVersion}|28.3.2`)
          : buildx
            ? ok()
            : failed('no buildx'),
      );
    }

    it.each<
      [string, boolean, string, NormalizedBuildOptions['engine'], string]
    >([
      ['auto on a buildx machine', true, '28.3.2', 'auto', 'buildx'],
      ['classic on a buildx machine', true, '28.3.2', 'classic', 'classic'],
      ['buildkit on a buildx machine', true, '28.3.2', 'buildkit', 'buildkit'],
      [
        'classic on a buildkit machine',
        false,
        '20.10.24',
        'classic',
        'classic',
      ],
      [
        'buildkit on a buildkit machine',
        false,
        '20.10.24',
        'buildkit',
        'buildkit',
      ],
    ])('gives %s', async (_label, buildx, version, requested, mode) => {
      machine(buildx, version);
      expect((await pickEngine(requested)).mode).toBe(mode);
    });

    it.each<[string, boolean, string, NormalizedBuildOptions['engine']]>([
      ['buildx on a classic machine', false, '28.3.2', 'buildx'],
      ['buildkit on a classic machine', false, '28.3.2', 'buildkit'],
      ['buildx on a buildkit machine', false, '20.10.24', 'buildx'],
    ])('refuses %s', async (_label, buildx, version, requested) => {
      machine(buildx, version);
      await expect(pickEngine(requested)).rejects.toThrow(
        `engine "${requested}" was requested but this machine only offers`,
      );
    });
  });
});
