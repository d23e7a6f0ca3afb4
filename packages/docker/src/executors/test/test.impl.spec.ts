import { EventEmitter } from 'node:events';
import { ExecutorContext, logger } from '@nx/devkit';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runDetached, RunResult, runSync } from '../../process/process';
import testExecutor from './test.impl';
import {
  CLIENT,
  executorContext,
  exited,
  ok,
  restoreEnvAfterEach,
} from '../../testing/fakes';

/**
 * Delivers a signal to this process's listeners, as Node does on Ctrl-C or a
 * CI cancel. Not through process.emit: a module loaded by another spec in the
 * same worker (nx's native loader) replaces it with a wrapper bound to that
 * spec's process object, whose listeners are not ours.
 */
function deliver(signal: 'SIGINT' | 'SIGTERM'): void {
  EventEmitter.prototype.emit.call(process, signal, signal);
}

jest.mock('../../process/process');

const runMock = jest.mocked(run);
const runSyncMock = jest.mocked(runSync);
const runDetachedMock = jest.mocked(runDetached);

const IMAGE_ID =
  'sha256:3333333333333333333333333333333333333333333333333333333333333333';
const ENV_KEYS = ['ML_DOCKER_CLIENT', 'ML_DOCKER_PODMAN', 'PATH'] as const;

/** The test executor is an adapter: detect the engine, own the container session, turn errors into one line. */
describe('test executor', () => {
  restoreEnvAfterEach(ENV_KEYS);
  let root: string;
  let context: ExecutorContext;
  let exit: jest.SpyInstance;

  const recordFile = () =>
    join(root, 'dist/docker/apps/synth/build-record.json');

  function writeRecord(extra: Record<string, unknown> = {}) {
    mkdirSync(join(root, 'dist/docker/apps/synth'), { recursive: true });
    writeFileSync(
      recordFile(),
      JSON.stringify({
        version: 2,
        project: 'synth',
        images: [
          {
            image: 'training',
            dockerfile: 'docker/training/Dockerfile',
            name: '127.0.0.1:5000/ml-images/synth-training',
            registry: '127.0.0.1:5000',
            tags: ['nx-1', 'latest'],
            contentTag: 'nx-1',
            imageId: IMAGE_ID,
            sizeBytes: 1,
            durationMs: 1,
            builtWith: 'buildx',
            createdAt: '2024-05-01T10:00:00.000Z',
            ...extra,
          },
        ],
      }),
    );
  }

  /**
   * A Docker engine holding the recorded image configured as `config`;
   * `dockerRun` answers `docker run`.
   */
  function machine(
    config: Record<string, unknown>,
    dockerRun: () => Promise<RunResult> = async () => exited(0),
  ) {
    runMock.mockImplementation(async (file, args) => {
      const line = args.join(' ');
      if (file !== CLIENT) throw new Error(`unexpected command: ${file}`);
      if (args[0] === 'version') return ok('28.3.2|28.3.2');
      if (line === 'buildx version') return ok('v0.25.0');
      if (line === `image inspect ${IMAGE_ID}`)
        return ok(JSON.stringify([{ Id: IMAGE_ID, Size: 1, Config: config }]));
      if (args[0] === 'run') return dockerRun();
      if (args[0] === 'rm' || args[0] === 'logs') return ok();
      throw new Error(`unexpected command: ${file} ${line}`);
    });
  }

  const JOB = {
    Cmd: ['python', '-m', 'train'],
    User: '10001',
    WorkingDir: '/app',
  };
  const errors = () => jest.mocked(logger.error).mock.calls;
  const listeners = () => ({
    SIGINT: process.listenerCount('SIGINT'),
    SIGTERM: process.listenerCount('SIGTERM'),
  });

  beforeEach(() => {
    for (const k of ENV_KEYS) delete process.env[k];
    root = mkdtempSync(join(tmpdir(), 'ml-docker-test-exec-'));
    process.env.ML_DOCKER_CLIENT = CLIENT;
    // No podman to fall back to: PATH is an empty folder.
    mkdirSync(join(root, 'empty-bin'));
    process.env.PATH = join(root, 'empty-bin');
    context = executorContext(
      root,
      { name: 'synth', root: 'apps/synth' },
      {
        'docker-build': { executor: '@ml/docker:build', options: {} },
        'docker-test': { executor: '@ml/docker:test', options: {} },
      },
      'docker-test',
    );
    runMock.mockReset();
    runSyncMock.mockReset();
    runDetachedMock.mockReset();
    exit = jest
      .spyOn(process, 'exit')
      .mockImplementation((() => undefined) as never);
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  it('succeeds when every image passes', async () => {
    writeRecord();
    machine({});
    await expect(testExecutor({}, context)).resolves.toEqual({
      success: true,
    });
    expect(errors()).toEqual([]);
  });

  it('fails the task with the one line of the error when there is no build record', async () => {
    machine({});
    await expect(testExecutor({}, context)).resolves.toEqual({
      success: false,
    });
    expect(errors()).toEqual([
      [
        `@ml/docker:test: No build record at ${recordFile()}. Build the images first: nx run synth:docker-build`,
      ],
    ]);
  });

  it('fails the task with the one line of the error when an image fails', async () => {
    writeRecord();
    machine(JOB, async () => exited(1));
    await expect(
      testExecutor({ job: { artifacts: ['models/m.joblib'] } }, context),
    ).resolves.toEqual({ success: false });
    expect(errors()).toHaveLength(1);
    expect(errors()[0][0]).toMatch(
      /^@ml\/docker:test: training exited with code 1 after \d+\.\d s\.$/,
    );
  });

  it('asks for the engine the build record names', async () => {
    writeRecord({ engine: 'podman' });
    machine({});
    await expect(testExecutor({}, context)).resolves.toEqual({
      success: false,
    });
    expect(errors()).toHaveLength(1);
    expect(errors()[0][0]).toMatch(
      /^@ml\/docker:test: engine "podman" was requested but podman is not installed/,
    );
    expect(runMock).not.toHaveBeenCalled();
  });

  it.each<['SIGINT' | 'SIGTERM', number]>([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ])(
    'on %s, removes the containers of its session at once, then exits with %i',
    async (signal, code) => {
      writeRecord();
      const before = listeners();
      let finishRun: (r: RunResult) => void = () => undefined;
      let runStarted: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (runStarted = resolve));
      machine(
        JOB,
        () =>
          new Promise<RunResult>((resolve) => {
            finishRun = resolve;
            runStarted();
          }),
      );

      const result = testExecutor(
        { job: { artifacts: ['models/m.joblib'] } },
        context,
      );
      await started;
      const [, reaperArgs] = runDetachedMock.mock.calls[0];
      const name = reaperArgs[reaperArgs.length - 1];
      expect(listeners()).toEqual({
        SIGINT: before.SIGINT + 1,
        SIGTERM: before.SIGTERM + 1,
      });

      deliver(signal);

      expect(runSyncMock.mock.calls).toEqual([
        [CLIENT, ['rm', '-f', '-v', name]],
      ]);
      expect(exit).toHaveBeenCalledWith(code);
      expect(runSyncMock.mock.invocationCallOrder[0]).toBeLessThan(
        exit.mock.invocationCallOrder[0],
      );

      // process.exit is spied: the executor carries on, and cleans up after itself.
      finishRun(exited(137));
      await expect(result).resolves.toEqual({ success: false });
      expect(listeners()).toEqual(before);
    },
  );

  it('exits on an interrupt before any container started, with nothing to remove', async () => {
    writeRecord();
    let interrupted = false;
    runMock.mockImplementation(async (file, args) => {
      if (args[0] === 'version' && !interrupted) {
        interrupted = true;
        deliver('SIGINT');
      }
      if (args[0] === 'version') return ok('28.3.2|28.3.2');
      if (args[0] === 'buildx') return ok();
      if (args[0] === 'image')
        return ok(JSON.stringify([{ Id: IMAGE_ID, Config: {} }]));
      throw new Error(`unexpected command: ${file} ${args.join(' ')}`);
    });
    await testExecutor({}, context);
    expect(interrupted).toBe(true);
    expect(exit).toHaveBeenCalledWith(130);
    expect(runSyncMock).not.toHaveBeenCalled();
  });

  it('listens to no signal once it has finished', async () => {
    writeRecord();
    machine({});
    const before = listeners();
    await testExecutor({}, context);
    expect(listeners()).toEqual(before);
    deliver('SIGINT');
    expect(exit).not.toHaveBeenCalled();
    expect(runSyncMock).not.toHaveBeenCalled();
  });
});
