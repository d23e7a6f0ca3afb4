import { ExecutorContext, logger } from '@nx/devkit';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildOptions } from './build-options';
import { ImageRecord } from '../record/build-record';
import { buildImages, BuildRequest, rebuildWith } from './build-service';
import { BuildMode, Engine } from '../engine/engine';
import * as availability from '../record/image-availability';
import * as argCache from './podman-arg-cache';
import { RegistryClient } from '../registry/registry-client';
import { run, RunResult } from '../process/process';
import {
  CLIENT,
  failed,
  fakeEngine,
  ok,
  restoreEnvAfterEach,
} from '../testing/fakes';

jest.mock('../process/process');

const runMock = jest.mocked(run);

const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const IMAGE_ID =
  'sha256:1111111111111111111111111111111111111111111111111111111111111111';
const OLD_IMAGE_ID =
  'sha256:4444444444444444444444444444444444444444444444444444444444444444';
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
const REPO = '127.0.0.1:5000/ml-images/synth-training';

/** The engine as detectEngine found it; the build service is handed this value. */
function engineOf(mode: BuildMode): Engine {
  return fakeEngine({ mode });
}
const BUILDX = engineOf('buildx');
const CLASSIC = engineOf('classic');

const ENV_KEYS = [
  'NX_TASK_HASH',
  'ML_DOCKER_BASE_IMAGE',
  'ML_DOCKER_REGISTRY',
  'ML_DOCKER_CLIENT',
] as const;

describe('build service', () => {
  restoreEnvAfterEach(ENV_KEYS);
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
  const recordFile = () =>
    join(root, 'dist/docker/apps/synth/build-record.json');

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
      join(root, 'dist/docker/libs/ml-base/build-record.json'),
      JSON.stringify({ version: 2, project: 'ml-base', images }),
    );
  }

  interface Fake {
    dirty?: boolean;
    build?: RunResult;
    /** Image IDs the engine does not have. */
    missing?: string[];
  }

  /** The docker client, git and the build, as seen through process.run. */
  function fake({ dirty = false, build = ok(), missing = [] }: Fake = {}) {
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
        if (args[0] === 'image' && args[1] === 'inspect') {
          if (missing.includes(args[2]))
            return failed(`Error: No such image: ${args[2]}`);
          return ok(
            JSON.stringify([{ Id: args[2], Size: 150_000_000, Config: {} }]),
          );
        }
        // The builder buildx uses by default: the docker driver, which exports no cache.
        if (line === 'buildx inspect')
          return ok('Name:          default\nDriver:        docker\n');
        if (args[0] === 'pull')
          return failed(
            `Error response from daemon: manifest for ${args[1]} not found`,
          );
        if (args.includes('--iidfile')) {
          if (build.exitCode === 0)
            writeFileSync(args[args.indexOf('--iidfile') + 1], IMAGE_ID);
          return build;
        }
      }
      throw new Error(`unexpected command: ${file} ${line}`);
    });
  }

  function build(
    options: BuildOptions = {},
    engine: Engine = BUILDX,
    extra: Partial<BuildRequest> = {},
  ) {
    return buildImages({
      options,
      context,
      engine,
      buildTarget: 'docker-build',
      ...extra,
    });
  }

  const buildCalls = () =>
    runMock.mock.calls.filter(([, args]) => args.includes('--iidfile'));
  const projectRoot = () => join(root, 'apps/synth');
  const trainingDockerfile = (text: string) =>
    writeFileSync(join(projectRoot(), 'docker/training/Dockerfile'), text);

  beforeEach(() => {
    for (const k of ENV_KEYS) delete process.env[k];
    root = mkdtempSync(join(tmpdir(), 'ml-docker-ws-'));
    mkdirSync(join(root, 'apps/synth/docker/training'), { recursive: true });
    trainingDockerfile(TRAINING_DOCKERFILE);
    context = makeContext();
    runMock.mockReset();
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  describe('buildImages', () => {
    it('runs docker buildx build with the exact command line and writes the build record', async () => {
      fake();
      process.env.NX_TASK_HASH = '5a5a5a5a';

      const record = await build({ baseImage: 'python:3.12-slim' });

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
            `${REPO}:nx-5a5a5a5a`,
            '--tag',
            `${REPO}:abcdef0`,
            '--tag',
            `${REPO}:latest`,
            '--build-arg',
            'BUILDKIT_INLINE_CACHE=1',
            '--build-arg',
            'BASE_IMAGE=python:3.12-slim',
            '--label',
            'org.opencontainers.image.source=https://github.com/acme/ml.git',
            '--label',
            `org.opencontainers.image.revision=${SHA}`,
            '--label',
            'org.opencontainers.image.created=2024-05-01T10:00:00.000Z',
            '--cache-from',
            `${REPO}:latest`,
            '--iidfile',
            expect.stringMatching(/ml-docker-build-[^/]+\/iid$/),
            projectRoot(),
          ],
          { env: {}, stream: true, cwd: projectRoot() },
        ],
      ]);
      expect(record).toEqual({
        version: 2,
        project: 'synth',
        images: [
          {
            image: 'training',
            dockerfile: 'docker/training/Dockerfile',
            name: REPO,
            registry: '127.0.0.1:5000',
            tags: ['nx-5a5a5a5a', 'abcdef0', 'latest'],
            contentTag: 'nx-5a5a5a5a',
            imageId: IMAGE_ID,
            sizeBytes: 150_000_000,
            durationMs: expect.any(Number),
            engine: 'docker',
            builtWith: 'buildx',
            cache: { mode: 'inline-stages', refs: [`${REPO}:latest`] },
            createdAt: expect.any(String),
          },
        ],
      });
      const written = JSON.parse(readFileSync(recordFile(), 'utf8'));
      expect(written).toEqual(JSON.parse(JSON.stringify(record)));
    });

    it('builds with the engine it is given, without probing the client again', async () => {
      fake();
      await build();
      expect(
        runMock.mock.calls.filter(
          ([, args]) =>
            args[0] === 'version' ||
            (args[0] === 'buildx' && args[1] === 'version'),
        ),
      ).toEqual([]);
      expect(
        runMock.mock.calls
          .filter(([file]) => file !== 'git')
          .every(([file]) => file === CLIENT),
      ).toBe(true);
    });

    it('writes the record under the outputPath option', async () => {
      fake();
      await build({ outputPath: 'dist/images/synth' });
      expect(
        existsSync(join(root, 'dist/images/synth/build-record.json')),
      ).toBe(true);
      expect(existsSync(recordFile())).toBe(false);
    });

    it('never puts the token of the git remote in a label', async () => {
      fake();
      await build();
      const args = buildCalls()[0][1];
      expect(args.join(' ')).not.toContain('ghp_t0k3n');
      expect(args.join(' ')).not.toContain('ci-bot');
    });

    it('removes the scratch folder holding the iid file', async () => {
      fake();
      await build();
      const iid = buildCalls()[0][1].find((a) => a.endsWith('/iid'));
      expect(iid).toEqual(expect.stringMatching(/ml-docker-build-[^/]+\/iid$/));
      expect(existsSync(iid as string)).toBe(false);
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
        trainingDockerfile(dockerfile);
        fake();
        process.env.ML_DOCKER_BASE_IMAGE = 'mirror.local/python:3.10-slim';
        await build();
        const args = buildCalls()[0][1];
        expect(args.includes('BASE_IMAGE=mirror.local/python:3.10-slim')).toBe(
          passed,
        );
      },
    );

    it.each<[string, string, string | undefined, BuildOptions, string]>([
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
      trainingDockerfile(dockerfile);
      mlBase();
      fake();
      if (env) process.env.ML_DOCKER_BASE_IMAGE = env;
      await build(options);
      const args = buildCalls()[0][1];
      expect(
        args.filter(
          (a, i) =>
            args[i - 1] === '--build-arg' && a.startsWith('BASE_IMAGE='),
        ),
      ).toEqual([`BASE_IMAGE=${baseImage}`]);
    });

    it('makes sure the engine has the image a workspace dependency recorded before building on it', async () => {
      trainingDockerfile(ON_ML_BASE);
      mlBase();
      fake();
      const ensure = jest.spyOn(availability, 'ensureLocalImage');
      await build();
      expect(ensure).toHaveBeenCalledTimes(1);
      // The engine as the build uses it: buildx with the builder it inspected.
      expect(ensure).toHaveBeenCalledWith(
        { ...BUILDX, buildxDriver: 'docker' },
        ML_BASE_RECORD,
        {
          project: 'ml-base',
          buildTarget: 'docker-build',
        },
      );
      const inspectOfBase = runMock.mock.calls.findIndex(
        ([, args]) => args.join(' ') === `image inspect ${ML_BASE_ID}`,
      );
      const buildCall = runMock.mock.calls.findIndex(([, args]) =>
        args.includes('--iidfile'),
      );
      expect(inspectOfBase).toBeGreaterThanOrEqual(0);
      expect(inspectOfBase).toBeLessThan(buildCall);
    });

    it('refuses to build on a workspace dependency that was never built, before building', async () => {
      trainingDockerfile(ON_ML_BASE);
      mlBase(null);
      fake();
      await expect(build()).rejects.toThrow(
        'Build it first: nx run ml-base:docker-build',
      );
      expect(buildCalls()).toEqual([]);
    });

    it('refuses to build on a dependency image that is neither in the engine nor in the registry, before building', async () => {
      trainingDockerfile(ON_ML_BASE);
      mlBase();
      fake({ missing: [ML_BASE_ID] });
      await expect(build()).rejects.toThrow(
        `Image ${ML_BASE} (${ML_BASE_ID.slice(0, 19)}) from the build record is neither in this engine nor in the registry. Build it now: nx run ml-base:docker-build --skip-nx-cache`,
      );
      expect(runMock).toHaveBeenCalledWith(
        CLIENT,
        ['pull', `${ML_BASE}:nx-1`],
        {
          timeoutMs: 30 * 60_000,
        },
      );
      expect(buildCalls()).toEqual([]);
    });

    it('lets buildArgs override the base image', async () => {
      fake();
      await build({
        baseImage: 'a:1',
        buildArgs: { BASE_IMAGE: 'b:2', PIP_NO_INDEX: '1' },
      });
      const args = buildCalls()[0][1];
      expect(args.filter((_a, i) => args[i - 1] === '--build-arg')).toEqual([
        'BUILDKIT_INLINE_CACHE=1',
        'BASE_IMAGE=b:2',
        'PIP_NO_INDEX=1',
      ]);
    });

    it.each<[string, BuildOptions, Engine, boolean]>([
      ['the engine has BuildKit', {}, BUILDX, true],
      ['registryCache is off', { registryCache: false }, BUILDX, false],
      ['only the classic builder exists', {}, CLASSIC, false],
      [
        'the engine option asks for the classic builder',
        { engine: 'classic' },
        BUILDX,
        false,
      ],
    ])(
      'takes layer cache from the registry unless %s',
      async (_what, options, engine, expected) => {
        fake();
        await build(options, engine);
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
      const record = await build();
      expect(record.images[0].tags).toEqual(['latest']);
      expect(
        runMock.mock.calls.some(
          ([file, args]) => file === 'git' && args[0] === 'show',
        ),
      ).toBe(false);
    });

    it('builds with DOCKER_BUILDKIT=0 on a machine with only the classic builder', async () => {
      fake();
      const record = await build({}, CLASSIC);
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
      expect(record.images[0].builtWith).toBe('classic');
    });

    describe('on Podman', () => {
      const PODMAN: Engine = {
        ...engineOf('podman'),
        kind: 'podman',
        host: 'local store',
      };
      const CACHE = `${REPO}-buildcache`;

      it('takes the ARG steps of <image>-buildcache into the store before the build, then builds with --cache-from/--cache-to', async () => {
        fake();
        const order: string[] = [];
        const seed = jest
          .spyOn(argCache, 'seedArgSteps')
          .mockImplementation(async () => {
            order.push('seed');
            return ['k1', 'k2'];
          });
        const real = runMock.getMockImplementation()!;
        runMock.mockImplementation(async (file, args, o) => {
          if (args.includes('--iidfile')) order.push('build');
          return real(file, args, o);
        });
        await build({}, PODMAN);
        expect(seed).toHaveBeenCalledWith(
          PODMAN,
          CACHE,
          ['python:3.10-slim'],
          expect.any(RegistryClient),
        );
        expect(order).toEqual(['seed', 'build']);
        const [, args] = buildCalls()[0];
        expect(args).toEqual(
          expect.arrayContaining(['--cache-from', CACHE, '--cache-to', CACHE]),
        );
        expect(logger.info).toHaveBeenCalledWith(
          `@ml/docker: training: 2 ARG step(s) taken from ${CACHE} before the build (Podman looks ARG steps up only in its own store)`,
        );
      });

      it('builds anyway, with a warning, when the cache cannot be read', async () => {
        fake();
        jest
          .spyOn(argCache, 'seedArgSteps')
          .mockRejectedValue(
            new Error('Registry 127.0.0.1:5000 is unreachable'),
          );
        await build({}, PODMAN);
        expect(buildCalls()).toHaveLength(1);
        expect(logger.warn).toHaveBeenCalledWith(
          `@ml/docker: training: could not read ${CACHE} (Registry 127.0.0.1:5000 is unreachable); Podman runs the ARG steps, and the steps after them, again.`,
        );
      });

      it.each<[string, BuildOptions]>([
        ['registryCache: false', { registryCache: false }],
        ['noCache', { noCache: true }],
      ])('takes nothing from the registry with %s', async (_label, options) => {
        fake();
        const seed = jest.spyOn(argCache, 'seedArgSteps');
        await build(options, PODMAN);
        expect(seed).not.toHaveBeenCalled();
        expect(buildCalls()).toHaveLength(1);
      });
    });

    it("builds with the engine's BuildKit when the engine option asks for buildkit on a buildx machine", async () => {
      fake();
      const record = await build({ engine: 'buildkit' }, BUILDX);
      const [, args, options] = buildCalls()[0];
      expect(args.slice(0, 2)).toEqual(['build', '--progress=plain']);
      expect(options).toMatchObject({ env: { DOCKER_BUILDKIT: '1' } });
      expect(record.images[0].builtWith).toBe('buildkit');
    });

    it('refuses an engine option the machine cannot offer, before building', async () => {
      fake();
      await expect(build({ engine: 'buildx' }, CLASSIC)).rejects.toThrow(
        'engine "buildx" was requested but this machine only offers engine 28.3.2 at unix:///var/run/docker.sock, client /opt/docker/bin/docker 28.3.2, building with the classic builder (no BuildKit available).',
      );
      expect(buildCalls()).toEqual([]);
    });

    it('refuses a Dockerfile that needs BuildKit on a classic-only machine, before building', async () => {
      trainingDockerfile(
        'FROM python:3.10-slim\nRUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt\n',
      );
      fake();
      await expect(build({}, CLASSIC)).rejects.toThrow(
        'docker/training/Dockerfile uses RUN --mount, which needs BuildKit, and this machine has only the classic builder.',
      );
      expect(buildCalls()).toEqual([]);
    });

    it('says to drop the classic engine option when BuildKit is there but not asked for', async () => {
      trainingDockerfile(
        'FROM python:3.10-slim\nRUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt\n',
      );
      fake();
      await expect(build({ engine: 'classic' }, BUILDX)).rejects.toThrow(
        'docker/training/Dockerfile uses RUN --mount, which needs BuildKit, and the engine option asks for the classic builder. Set engine to "auto", or use engine "podman". The Dockerfiles @ml/docker generates mount build secrets and need either; from a Dockerfile of your own you may remove RUN --mount instead.',
      );
      expect(buildCalls()).toEqual([]);
    });

    it('names the failing step and its reason when the build fails', async () => {
      fake({
        build: failed(
          "Step 3/4 : RUN pip install nosuchpkg==9.9\nERROR: No matching distribution found for nosuchpkg==9.9\nThe command '/bin/sh -c pip install nosuchpkg==9.9' returned a non-zero code: 1",
        ),
      });
      await expect(build()).rejects.toThrow(
        'Build of synth/training failed at step RUN pip install nosuchpkg==9.9: ERROR: No matching distribution found for nosuchpkg==9.9 (exit code: 1). Fix the Dockerfile or its inputs and rerun.',
      );
      expect(existsSync(recordFile())).toBe(false);
    });

    describe('build secrets', () => {
      const SECRET_ENV = 'ML_DOCKER_SPEC_INDEX_URL';
      const VALUE = 'https://ci-bot:s3cr3t-token@pypi.example.invalid/simple';
      beforeEach(() => {
        process.env[SECRET_ENV] = VALUE;
      });
      afterEach(() => {
        delete process.env[SECRET_ENV];
      });

      it('passes a secret by variable name and the network, never the value', async () => {
        fake();
        const warn = jest
          .spyOn(logger, 'warn')
          .mockImplementation(() => undefined);
        const info = jest
          .spyOn(logger, 'info')
          .mockImplementation(() => undefined);
        const record = await build({
          secrets: {
            'pip-index-url': { env: SECRET_ENV },
            netrc: { src: 'no/such/.netrc' },
          },
          network: 'host',
        });
        const args = buildCalls()[0][1];
        expect(args).toEqual(
          expect.arrayContaining([
            '--secret',
            `id=pip-index-url,env=${SECRET_ENV}`,
            '--network',
            'host',
          ]),
        );
        expect(args.join(' ')).not.toContain('netrc');
        expect(warn).toHaveBeenCalledWith(
          `@ml/docker: build secret netrc: ${join(root, 'no/such/.netrc')} does not exist; building without it.`,
        );
        const everything = JSON.stringify([
          runMock.mock.calls,
          info.mock.calls,
          warn.mock.calls,
          record,
          readFileSync(recordFile(), 'utf8'),
        ]);
        expect(everything).not.toContain('s3cr3t-token');
      });

      it('refuses secrets on the classic builder before building', async () => {
        fake();
        await expect(
          build({ secrets: { 'pip-index-url': { env: SECRET_ENV } } }, CLASSIC),
        ).rejects.toThrow(
          /^The secrets option needs BuildKit or Podman, and .*the classic builder cannot pass build secrets\. Set engine to "auto"/,
        );
        expect(buildCalls()).toEqual([]);
      });

      it.each([
        [
          'a URL with credentials',
          { PIP_EXTRA_INDEX_URL: VALUE },
          'PIP_EXTRA_INDEX_URL',
        ],
        ['a token by name', { HF_TOKEN: 'hf_abc' }, 'HF_TOKEN'],
      ])(
        'refuses %s as a build arg before building, without echoing it',
        async (_l, buildArgs, name) => {
          fake();
          const err = await build({ buildArgs }).catch((e: Error) => e);
          expect((err as Error).message).toMatch(
            new RegExp(
              `^Build arg ${name} looks like a credential .*Pass it as a build secret instead`,
            ),
          );
          expect((err as Error).message).not.toContain(
            Object.values(buildArgs)[0],
          );
          expect(buildCalls()).toEqual([]);
        },
      );

      it('refuses PIP_INDEX_URL as a build arg of a Dockerfile that does not read it', async () => {
        fake();
        await expect(
          build({
            buildArgs: {
              PIP_INDEX_URL: 'https://mirror.example.invalid/simple',
            },
          }),
        ).rejects.toThrow(
          'Build arg PIP_INDEX_URL is not read by this Dockerfile: the generated Dockerfiles take the package index from a build secret, never a build arg. Set "secrets": { "pip-index-url": { "env": "PIP_INDEX_URL" } }',
        );
        expect(buildCalls()).toEqual([]);
      });
    });

    it('refuses a project without Dockerfiles with the generator command', async () => {
      rmSync(join(projectRoot(), 'docker'), { recursive: true });
      fake();
      await expect(build()).rejects.toThrow(
        'Project synth has no docker/<image>/Dockerfile. Generate them: nx g @ml/docker:images --project=synth',
      );
    });

    describe('rebuilding a recorded image', () => {
      const recorded = (image: string, imageId: string): ImageRecord => ({
        image,
        dockerfile: `docker/${image}/Dockerfile`,
        name: `127.0.0.1:5000/ml-images/synth-${image}`,
        registry: '127.0.0.1:5000',
        tags: ['nx-old', 'abc1234', 'latest'],
        contentTag: 'nx-old',
        imageId,
        sizeBytes: 1,
        durationMs: 1,
        builtWith: 'buildx',
        createdAt: '2024-05-01T10:00:00.000Z',
      });

      function existingRecord(record: unknown) {
        mkdirSync(join(root, 'dist/docker/apps/synth'), { recursive: true });
        writeFileSync(recordFile(), JSON.stringify(record));
      }

      it('tags the image as the record did and merges it into that record, keeping the other images', async () => {
        const inference = recorded('inference', OLD_IMAGE_ID);
        existingRecord({
          version: 2,
          project: 'synth',
          images: [recorded('training', OLD_IMAGE_ID), inference],
        });
        fake();
        process.env.NX_TASK_HASH = 'thisrun';

        const record = await build({ images: ['training'] }, BUILDX, {
          rebuild: {
            contentTag: 'nx-old',
            tags: ['nx-old', 'abc1234', 'latest'],
          },
        });

        expect(buildCalls()).toHaveLength(1);
        const args = buildCalls()[0][1];
        expect(args.filter((_a, i) => args[i - 1] === '--tag')).toEqual([
          `${REPO}:nx-old`,
          `${REPO}:abc1234`,
          `${REPO}:latest`,
        ]);
        expect(record.images.map((i) => [i.image, i.imageId])).toEqual([
          ['inference', OLD_IMAGE_ID],
          ['training', IMAGE_ID],
        ]);
        expect(record.images[1]).toMatchObject({
          contentTag: 'nx-old',
          tags: ['nx-old', 'abc1234', 'latest'],
        });
        expect(JSON.parse(readFileSync(recordFile(), 'utf8'))).toEqual(
          JSON.parse(JSON.stringify(record)),
        );
      });

      it('keeps the images of a version 1 record as version 2 entries', async () => {
        const { name, ...inference } = recorded('inference', OLD_IMAGE_ID);
        existingRecord({
          version: 1,
          project: 'synth',
          images: [{ ...inference, repository: name }],
        });
        fake();
        const record = await build({ images: ['training'] }, BUILDX, {
          rebuild: { contentTag: 'nx-old', tags: ['nx-old'] },
        });
        expect(record.version).toBe(2);
        expect(record.images[0]).toEqual({ ...inference, name });
        expect(record.images[0]).not.toHaveProperty('repository');
      });

      it('does not keep the images of the record when it is a fresh build', async () => {
        existingRecord({
          version: 2,
          project: 'synth',
          images: [recorded('inference', OLD_IMAGE_ID)],
        });
        fake();
        const record = await build();
        expect(record.images.map((i) => i.image)).toEqual(['training']);
      });
    });
  });

  describe('rebuildWith', () => {
    /** Lets readTargetOptions find @ml/docker:build's schema in the temporary workspace. */
    function installPlugin() {
      mkdirSync(join(root, 'node_modules/@ml'), { recursive: true });
      symlinkSync(
        join(__dirname, '../..'),
        join(root, 'node_modules/@ml/docker'),
      );
    }

    it("rebuilds only the recorded image, with the build target's options and the record's tags", async () => {
      installPlugin();
      mkdirSync(join(root, 'apps/synth/docker/inference'), { recursive: true });
      writeFileSync(
        join(root, 'apps/synth/docker/inference/Dockerfile'),
        'FROM python:3.10-slim\n',
      );
      context = makeContext({
        projectsConfigurations: {
          version: 2,
          projects: {
            synth: {
              root: 'apps/synth',
              targets: {
                containers: {
                  executor: '@ml/docker:build',
                  options: {
                    registry: 'registry.example.com',
                    outputPath: 'dist/images/synth',
                  },
                },
              },
            },
          },
        },
      });
      fake();
      const image: ImageRecord = {
        image: 'training',
        dockerfile: 'docker/training/Dockerfile',
        name: 'registry.example.com/ml-images/synth-training',
        registry: 'registry.example.com',
        tags: ['nx-old', 'latest'],
        contentTag: 'nx-old',
        imageId: OLD_IMAGE_ID,
        sizeBytes: 1,
        durationMs: 1,
        builtWith: 'buildx',
        createdAt: '2024-05-01T10:00:00.000Z',
      };

      const rebuilt = await rebuildWith(context, 'containers', BUILDX)(image);

      expect(buildCalls()).toHaveLength(1);
      const args = buildCalls()[0][1];
      expect(args[args.indexOf('--file') + 1]).toBe(
        join(projectRoot(), 'docker/training/Dockerfile'),
      );
      expect(args.filter((_a, i) => args[i - 1] === '--tag')).toEqual([
        'registry.example.com/ml-images/synth-training:nx-old',
        'registry.example.com/ml-images/synth-training:latest',
      ]);
      expect(rebuilt).toMatchObject({
        image: 'training',
        name: 'registry.example.com/ml-images/synth-training',
        contentTag: 'nx-old',
        tags: ['nx-old', 'latest'],
        imageId: IMAGE_ID,
      });
      expect(
        existsSync(join(root, 'dist/images/synth/build-record.json')),
      ).toBe(true);
    });
  });
});
