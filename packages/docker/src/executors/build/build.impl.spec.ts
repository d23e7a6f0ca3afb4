import { ExecutorContext, logger } from '@nx/devkit';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, RunResult } from '../../process/process';
import buildExecutor from './build.impl';
import { CLIENT, failed, ok, restoreEnvAfterEach } from '../../testing/fakes';

jest.mock('../../process/process');

const runMock = jest.mocked(run);

const IMAGE_ID =
  'sha256:1111111111111111111111111111111111111111111111111111111111111111';
const ENV_KEYS = [
  'ML_DOCKER_CLIENT',
  'ML_DOCKER_PODMAN',
  'ML_DOCKER_BASE_IMAGE',
  'ML_DOCKER_REGISTRY',
  'NX_TASK_HASH',
  'DOCKER_HOST',
  'PATH',
] as const;

/** The build executor is an adapter: detect the engine, build, and turn errors into one line. */
describe('build executor', () => {
  restoreEnvAfterEach(ENV_KEYS);
  let root: string;
  let context: ExecutorContext;

  interface Machine {
    reachable?: boolean;
    build?: RunResult;
  }

  /** A Docker engine with buildx, git, and the build, as seen through process.run. */
  function machine({ reachable = true, build = ok() }: Machine = {}) {
    runMock.mockImplementation(async (file, args) => {
      const line = args.join(' ');
      if (file === 'git') return failed('fatal: not a git repository');
      if (file !== CLIENT) throw new Error(`unexpected command: ${file}`);
      if (args[0] === 'version')
        return reachable
          ? ok('28.3.2|28.3.2')
          : failed(
              'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
            );
      if (line === 'buildx version') return ok('v0.25.0');
      if (line === 'buildx inspect') return ok('Driver: docker\n');
      if (args[0] === 'image' && args[1] === 'inspect')
        return ok(JSON.stringify([{ Id: args[2], Size: 1, Config: {} }]));
      if (args.includes('--iidfile')) {
        if (build.exitCode === 0)
          writeFileSync(args[args.indexOf('--iidfile') + 1], IMAGE_ID);
        return build;
      }
      throw new Error(`unexpected command: ${file} ${line}`);
    });
  }

  function makeContext(targetName = 'docker-build'): ExecutorContext {
    return {
      root,
      cwd: root,
      isVerbose: false,
      projectName: 'synth',
      targetName,
      projectsConfigurations: {
        version: 2,
        projects: {
          synth: {
            root: 'apps/synth',
            targets: {
              [targetName]: { executor: '@ml/docker:build', options: {} },
            },
          },
          'ml-base': {
            root: 'libs/ml-base',
            targets: {
              [targetName]: {
                executor: '@ml/docker:build',
                options: { imageNames: { base: 'ml-base' } },
              },
            },
          },
        },
      },
      nxJsonConfiguration: {},
      projectGraph: { nodes: {}, dependencies: {} },
    };
  }

  const errors = () => jest.mocked(logger.error).mock.calls;

  beforeEach(() => {
    for (const k of ENV_KEYS) delete process.env[k];
    root = mkdtempSync(join(tmpdir(), 'ml-docker-build-exec-'));
    process.env.ML_DOCKER_CLIENT = CLIENT;
    // No podman to fall back to: PATH is an empty folder.
    mkdirSync(join(root, 'empty-bin'));
    process.env.PATH = join(root, 'empty-bin');
    mkdirSync(join(root, 'apps/synth/docker/training'), { recursive: true });
    writeFileSync(
      join(root, 'apps/synth/docker/training/Dockerfile'),
      'FROM python:3.10-slim\nCMD ["python"]\n',
    );
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

  it('succeeds and writes the build record', async () => {
    machine();
    await expect(buildExecutor({}, context)).resolves.toEqual({
      success: true,
    });
    expect(
      existsSync(join(root, 'dist/docker/apps/synth/build-record.json')),
    ).toBe(true);
    expect(errors()).toEqual([]);
  });

  it('detects the engine once for the task', async () => {
    machine();
    await buildExecutor({}, context);
    expect(
      runMock.mock.calls.filter(([, args]) => args[0] === 'version'),
    ).toHaveLength(1);
  });

  it('fails the task with the one line of the error when the build fails', async () => {
    machine({
      build: failed('Step 1/1 : RUN false\nreturned a non-zero code: 1'),
    });
    await expect(buildExecutor({}, context)).resolves.toEqual({
      success: false,
    });
    expect(errors()).toHaveLength(1);
    const [line] = errors()[0];
    expect(line).toMatch(
      /^@ml\/docker:build: Build of synth\/training failed at step RUN false.* Fix the Dockerfile or its inputs and rerun\.$/,
    );
    expect(line).not.toContain('\n');
    expect(
      existsSync(join(root, 'dist/docker/apps/synth/build-record.json')),
    ).toBe(false);
  });

  it('fails the task with the one line of the error when no engine answers', async () => {
    machine({ reachable: false });
    await expect(buildExecutor({}, context)).resolves.toEqual({
      success: false,
    });
    expect(errors()).toEqual([
      [
        '@ml/docker:build: Docker engine not reachable at unix:///var/run/docker.sock (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?). Start it (sudo systemctl start docker, or run dockerd) or point DOCKER_HOST at a running engine.',
      ],
    ]);
  });

  it('fails the task with the one line of the error when the engine option asks for an engine that is not installed', async () => {
    machine();
    await expect(buildExecutor({ engine: 'podman' }, context)).resolves.toEqual(
      { success: false },
    );
    expect(errors()).toHaveLength(1);
    expect(errors()[0][0]).toMatch(
      /^@ml\/docker:build: engine "podman" was requested but podman is not installed/,
    );
  });

  it('names the build target the task runs in what it tells to do', async () => {
    context = makeContext('image-build');
    writeFileSync(
      join(root, 'apps/synth/docker/training/Dockerfile'),
      'ARG BASE_IMAGE=127.0.0.1:5000/ml-images/ml-base:latest\nFROM ${BASE_IMAGE}\n',
    );
    mkdirSync(join(root, 'libs/ml-base/docker/base'), { recursive: true });
    writeFileSync(
      join(root, 'libs/ml-base/docker/base/Dockerfile'),
      'FROM python:3.10-slim\n',
    );
    machine();
    await expect(buildExecutor({}, context)).resolves.toEqual({
      success: false,
    });
    expect(errors()).toHaveLength(1);
    expect(errors()[0][0]).toContain(
      'Build it first: nx run ml-base:image-build (image-build depends on ^image-build,',
    );
  });
});
