import { ExecutorContext, logger } from '@nx/devkit';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainOptions } from './train-options';
import { ContainerSession } from './container-session';
import { UserFacingError } from '../errors/errors';
import { run, runDetached } from '../process/process';
import { buildOptionsOf, train } from './train-service';
import {
  CLIENT,
  exited,
  fakeEngine,
  ok,
  restoreEnvAfterEach,
} from '../testing/fakes';

jest.mock('../process/process');

const runMock = jest.mocked(run);
const runDetachedMock = jest.mocked(runDetached);

const ENGINE = fakeEngine();
const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const IMAGE_ID =
  'sha256:1111111111111111111111111111111111111111111111111111111111111111';
const REPO = 'registry.example.com/ml-images/synth-training';

const ENV_KEYS = [
  'NX_TASK_HASH',
  'ML_DOCKER_BASE_IMAGE',
  'ML_DOCKER_REGISTRY',
  'ML_DOCKER_CLIENT',
] as const;

describe('train service', () => {
  restoreEnvAfterEach(ENV_KEYS);
  let root: string;
  let context: ExecutorContext;
  let session: ContainerSession;

  const projectRoot = () => join(root, 'apps/synth');

  function dockerfile(
    image: string,
    text = 'ARG BASE_IMAGE=python:3.10-slim\nFROM ${BASE_IMAGE}\n',
  ) {
    mkdirSync(join(projectRoot(), 'docker', image), { recursive: true });
    writeFileSync(join(projectRoot(), 'docker', image, 'Dockerfile'), text);
  }

  function makeContext(
    buildTarget = 'docker-build',
    buildOptions: Record<string, unknown> = {
      registry: 'registry.example.com',
      baseImage: 'python:3.12-slim',
    },
  ): ExecutorContext {
    return {
      root,
      cwd: root,
      isVerbose: false,
      projectName: 'synth',
      targetName: 'docker-train',
      projectsConfigurations: {
        version: 2,
        projects: {
          synth: {
            root: 'apps/synth',
            targets: {
              [buildTarget]: {
                executor: '@ml/docker:build',
                options: buildOptions,
              },
              'docker-train': { executor: '@ml/docker:train', options: {} },
            },
          },
        },
      },
      nxJsonConfiguration: {},
      projectGraph: { nodes: {}, dependencies: {} },
    };
  }

  interface Fake {
    /** The image's labels, as docker image inspect reports them. */
    labels?: Record<string, string>;
    /** Files the run writes into the folders mounted for it, relative to /app. */
    writes?: string[];
    exitCode?: number;
  }

  /** git, the docker client, the build and the run, as seen through process.run. */
  function fake({
    labels = { 'ml-docker.outputs': 'models/ metrics/' },
    writes = ['models/model.joblib', 'metrics/scores.json'],
    exitCode = 0,
  }: Fake = {}) {
    runMock.mockImplementation(async (file, args) => {
      const line = args.join(' ');
      if (file === 'git') {
        if (line === 'rev-parse HEAD') return ok(`${SHA}\n`);
        if (line.startsWith('status --porcelain')) return ok('');
        if (line === 'config --get remote.origin.url')
          return ok('https://github.com/acme/ml.git');
        if (line === 'show -s --format=%cI HEAD')
          return ok('2024-05-01T12:00:00+02:00');
      }
      if (file === CLIENT) {
        if (line === 'buildx inspect')
          return ok('Name:          default\nDriver:        docker\n');
        if (args.includes('--iidfile')) {
          writeFileSync(args[args.indexOf('--iidfile') + 1], IMAGE_ID);
          return ok();
        }
        if (line === `image inspect ${IMAGE_ID}`)
          return ok(
            JSON.stringify([
              {
                Id: IMAGE_ID,
                Size: 150_000_000,
                Config: {
                  User: '10001:10001',
                  WorkingDir: '/app',
                  Cmd: ['python', '-m', 'src.model.train'],
                  Labels: labels,
                },
              },
            ]),
          );
        if (args[0] === 'run') {
          for (const path of writes) {
            const [folder, ...rest] = path.split('/');
            const mount = args.find((a) => a.endsWith(`:/app/${folder}`)) ?? '';
            const host = mount.slice(0, mount.lastIndexOf(':'));
            if (!host) throw new Error(`no folder mounted at /app/${folder}`);
            writeFileSync(join(host, ...rest), `written by the run: ${path}`);
          }
          return exited(exitCode, exitCode ? 'training failed' : '');
        }
        if (args[0] === 'rm') return ok(args[3]);
        if (args[0] === 'logs') return ok('Traceback: boom');
      }
      throw new Error(`unexpected command: ${file} ${line}`);
    });
  }

  const calls = (verb: string) =>
    runMock.mock.calls.filter(
      ([file, args]) => file === CLIENT && args[0] === verb,
    );
  const buildCalls = () =>
    runMock.mock.calls.filter(([, args]) => args.includes('--iidfile'));
  /** The argument after `flag` in every place it appears. */
  const valuesOf = (args: readonly string[], flag: string) =>
    args.filter((_a, i) => args[i - 1] === flag);
  const runArgs = () => calls('run')[0][1];
  const containerName = () => runArgs()[runArgs().indexOf('--name') + 1];

  const trainWith = (options: TrainOptions = {}) =>
    train(options, context, session);

  beforeEach(() => {
    for (const k of ENV_KEYS) delete process.env[k];
    root = mkdtempSync(join(tmpdir(), 'ml-docker-train-ws-'));
    // Lets readTargetOptions find @ml/docker:build's schema in the temporary workspace.
    mkdirSync(join(root, 'node_modules/@ml'), { recursive: true });
    symlinkSync(
      join(__dirname, '../..'),
      join(root, 'node_modules/@ml/docker'),
    );
    dockerfile('training');
    dockerfile('inference', 'FROM python:3.10-slim\nCOPY models/ ./models/\n');
    context = makeContext();
    runMock.mockReset();
    runDetachedMock.mockReset();
    session = new ContainerSession(ENGINE);
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  describe('the build', () => {
    it("builds only the training image, with the build target's own options", async () => {
      fake();
      await trainWith();
      expect(buildCalls()).toHaveLength(1);
      const [file, args, options] = buildCalls()[0];
      expect(file).toBe(CLIENT);
      expect(args.slice(0, 6)).toEqual([
        'buildx',
        'build',
        '--load',
        '--progress=plain',
        '--file',
        join(projectRoot(), 'docker/training/Dockerfile'),
      ]);
      expect(valuesOf(args, '--tag')).toEqual([
        `${REPO}:abcdef0`,
        `${REPO}:latest`,
      ]);
      expect(valuesOf(args, '--build-arg')).toContain(
        'BASE_IMAGE=python:3.12-slim',
      );
      expect(args.at(-1)).toBe(projectRoot());
      expect(options).toEqual({ env: {}, stream: true, cwd: projectRoot() });
    });

    it('writes no build record: docker-build keeps the only one', async () => {
      fake();
      await trainWith();
      expect(existsSync(join(root, 'dist'))).toBe(false);
    });

    it('builds the image the image option names', async () => {
      dockerfile('training-cuda');
      fake();
      await trainWith({ image: 'training-cuda' });
      const args = buildCalls()[0][1];
      expect(args[args.indexOf('--file') + 1]).toBe(
        join(projectRoot(), 'docker/training-cuda/Dockerfile'),
      );
      expect(valuesOf(args, '--tag')).toEqual([
        'registry.example.com/ml-images/synth-training-cuda:abcdef0',
        'registry.example.com/ml-images/synth-training-cuda:latest',
      ]);
      expect(runArgs()).toContain(IMAGE_ID);
    });

    it('takes the options of the build target the buildTarget option names', async () => {
      context = makeContext('image-build', {
        registry: 'europe-docker.pkg.dev/p',
      });
      fake();
      await trainWith({ buildTarget: 'image-build' });
      expect(valuesOf(buildCalls()[0][1], '--tag')).toEqual([
        'europe-docker.pkg.dev/p/ml-images/synth-training:abcdef0',
        'europe-docker.pkg.dev/p/ml-images/synth-training:latest',
      ]);
    });
  });

  describe('the run', () => {
    it('runs the built image with a folder mounted for each output, then removes the container', async () => {
      fake();
      await trainWith();
      const name = containerName();
      expect(name).toMatch(/^mld-synth-training-[0-9a-f]{8}$/);
      const [file, args, options] = calls('run')[0];
      expect(file).toBe(CLIENT);
      expect(args).toEqual([
        'run',
        '--name',
        name,
        '--label',
        'ml-docker.owner=test',
        '--volume',
        expect.stringMatching(/\/ml-docker-job-[^/]+\/models:\/app\/models$/),
        '--volume',
        expect.stringMatching(/\/ml-docker-job-[^/]+\/metrics:\/app\/metrics$/),
        IMAGE_ID,
      ]);
      // An hour, unless the timeout option says otherwise.
      expect(options).toEqual({ stream: true, timeoutMs: 3_600_000 });
      expect(runDetachedMock).toHaveBeenCalledWith('/bin/sh', [
        '-c',
        expect.any(String),
        'ml-docker-reaper',
        String(process.pid),
        CLIENT,
        name,
      ]);
      expect(calls('rm')).toEqual([
        [CLIENT, ['rm', '-f', '-v', name], { timeoutMs: 30_000 }],
      ]);
    });

    it('passes env, the command and the timeout to the run', async () => {
      fake();
      await trainWith({
        env: { EPOCHS: '1', MLFLOW_TRACKING_URI: 'http://mlflow:5000' },
        command: ['python', '-m', 'src.model.train', '--fast'],
        timeout: 120,
      });
      const [, args, options] = calls('run')[0];
      expect(args.slice(args.indexOf(IMAGE_ID) - 4)).toEqual([
        '--env',
        'EPOCHS=1',
        '--env',
        'MLFLOW_TRACKING_URI=http://mlflow:5000',
        IMAGE_ID,
        'python',
        '-m',
        'src.model.train',
        '--fast',
      ]);
      expect(options).toEqual({ stream: true, timeoutMs: 120_000 });
    });

    it.each<[string, TrainOptions['outputs'], string[]]>([
      ['a folder', ['models'], ['models']],
      ['a folder with its slash', ['models/'], ['models']],
      ['two folders', ['models', 'reports/'], ['models', 'reports']],
    ])(
      'mounts what the outputs option names over the label: %s',
      async (_l, outputs, mounted) => {
        fake({ writes: mounted.map((m) => `${m}/out.bin`) });
        await trainWith({ outputs });
        expect(
          valuesOf(runArgs(), '--volume').map((v) =>
            v.slice(v.lastIndexOf(':') + 1),
          ),
        ).toEqual(mounted.map((m) => `/app/${m}`));
        for (const m of mounted)
          expect(readdirSync(join(projectRoot(), m))).toEqual(['out.bin']);
      },
    );
  });

  describe('what the run writes', () => {
    it('is copied into the project, where the inference image COPYs it', async () => {
      fake();
      await trainWith();
      expect(
        readFileSync(join(projectRoot(), 'models/model.joblib'), 'utf8'),
      ).toBe('written by the run: models/model.joblib');
      expect(
        readFileSync(join(projectRoot(), 'metrics/scores.json'), 'utf8'),
      ).toBe('written by the run: metrics/scores.json');
      expect(logger.info).toHaveBeenCalledWith(
        '@ml/docker: copied models/, metrics/ to apps/synth',
      );
    });

    it('replaces an output folder whole, as Nx restores it', async () => {
      mkdirSync(join(projectRoot(), 'models'), { recursive: true });
      writeFileSync(join(projectRoot(), 'models/stale.pkl'), 'old');
      fake();
      await trainWith();
      expect(readdirSync(join(projectRoot(), 'models'))).toEqual([
        'model.joblib',
      ]);
    });

    it('leaves no scratch folder behind', async () => {
      fake();
      await trainWith();
      const mount = valuesOf(runArgs(), '--volume')[0];
      const scratch = mount.slice(0, mount.indexOf('/models:'));
      expect(existsSync(scratch)).toBe(false);
    });
  });

  describe('refusals', () => {
    async function refusal(options: TrainOptions = {}): Promise<string> {
      const error = await trainWith(options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UserFacingError);
      return (error as Error).message;
    }

    it('refuses an image that declares no outputs when the outputs option names none, before running it', async () => {
      fake({ labels: {} });
      expect(await refusal()).toBe(
        'training declares no outputs: add LABEL ml-docker.outputs="models/" to docker/training/Dockerfile, or set the outputs option of docker-train.',
      );
      expect(calls('run')).toEqual([]);
    });

    it('fails with the exit code when the run fails, removes the container and copies nothing', async () => {
      fake({ exitCode: 1 });
      const message = await refusal();
      expect(message).toMatch(
        /^training exited with code 1 after \d+\.\d s\.$/,
      );
      expect(logger.info).toHaveBeenCalledWith(
        expect.stringContaining('Traceback: boom'),
      );
      expect(calls('rm')).toEqual([
        [CLIENT, ['rm', '-f', '-v', containerName()], { timeoutMs: 30_000 }],
      ]);
      expect(existsSync(join(projectRoot(), 'models'))).toBe(false);
    });

    it('fails when the run exits 0 without writing every output, and copies nothing', async () => {
      fake({ writes: ['models/model.joblib'] });
      expect(await refusal()).toBe(
        'training exited 0 but did not write metrics/ (looked under /app). Check where the pipeline writes its outputs, or the job.artifacts option.',
      );
      expect(existsSync(join(projectRoot(), 'models'))).toBe(false);
    });

    it('refuses an image that has no Dockerfile, building nothing', async () => {
      fake();
      expect(await refusal({ image: 'fit' })).toBe(
        'No Dockerfile for image "fit" at apps/synth/docker/fit/Dockerfile. Generate it (nx g @ml/docker:images --project=synth) or remove "fit" from the images option.',
      );
      expect(buildCalls()).toEqual([]);
    });
  });

  describe('buildOptionsOf', () => {
    it('reads the options of the build target', () => {
      expect(buildOptionsOf({}, context)).toMatchObject({
        registry: 'registry.example.com',
        baseImage: 'python:3.12-slim',
      });
    });

    it('refuses a build target the project does not have, naming it', () => {
      expect(() =>
        buildOptionsOf({ buildTarget: 'image-build' }, context),
      ).toThrow(
        /^docker-train builds the training image with the options of synth:image-build, and they cannot be read \(.+\)\. Check that the target exists and runs @ml\/docker:build, or set buildTarget to the one that does\.$/,
      );
    });
  });
});
