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
import { run, RunResult } from '../../process/process';
import pushExecutor from './push.impl';
import {
  CLIENT,
  executorContext,
  failed,
  ok,
  restoreEnvAfterEach,
} from '../../testing/fakes';

jest.mock('../../process/process');

const runMock = jest.mocked(run);

const IMAGE_ID =
  'sha256:1111111111111111111111111111111111111111111111111111111111111111';
const DIGEST =
  'sha256:9999999999999999999999999999999999999999999999999999999999999999';
const NAME = '127.0.0.1:5000/ml-images/synth-training';
const ENV_KEYS = [
  'ML_DOCKER_CLIENT',
  'ML_DOCKER_PODMAN',
  'PATH',
  'DOCKER_CONFIG',
] as const;

/** The push executor is an adapter: detect the engine, push, and turn errors into one line. */
describe('push executor', () => {
  restoreEnvAfterEach(ENV_KEYS);
  const realFetch = global.fetch;
  let root: string;
  let context: ExecutorContext;

  const recordFile = () =>
    join(root, 'dist/docker/apps/synth/build-record.json');
  const pushRecordFile = () =>
    join(root, 'dist/docker/apps/synth/push-record.json');

  function writeRecord() {
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
            name: NAME,
            registry: '127.0.0.1:5000',
            tags: ['latest'],
            imageId: IMAGE_ID,
            sizeBytes: 1,
            durationMs: 1,
            builtWith: 'buildx',
            createdAt: '2024-05-01T10:00:00.000Z',
          },
        ],
      }),
    );
  }

  /** A Docker engine holding the recorded image; `push` answers `docker push`. */
  function machine(push: RunResult) {
    runMock.mockImplementation(async (file, args) => {
      const line = args.join(' ');
      if (file !== CLIENT) throw new Error(`unexpected command: ${file}`);
      if (args[0] === 'version') return ok('28.3.2|28.3.2');
      if (line === 'buildx version') return ok('v0.25.0');
      if (line === `image inspect ${IMAGE_ID}`)
        return ok(JSON.stringify([{ Id: IMAGE_ID, Size: 1, Config: {} }]));
      if (args[0] === 'push') return push;
      throw new Error(`unexpected command: ${file} ${line}`);
    });
  }

  const errors = () => jest.mocked(logger.error).mock.calls;

  beforeEach(() => {
    for (const k of ENV_KEYS) delete process.env[k];
    root = mkdtempSync(join(tmpdir(), 'ml-docker-push-exec-'));
    process.env.ML_DOCKER_CLIENT = CLIENT;
    // No podman to fall back to, and no credentials of this machine.
    mkdirSync(join(root, 'empty-bin'));
    process.env.PATH = join(root, 'empty-bin');
    process.env.DOCKER_CONFIG = join(root, 'docker-config');
    context = executorContext(
      root,
      { name: 'synth', root: 'apps/synth' },
      {
        'docker-build': { executor: '@ml/docker:build', options: {} },
        'docker-push': { executor: '@ml/docker:push', options: {} },
      },
      'docker-push',
    );
    runMock.mockReset();
    // The registry answers, and holds nothing yet.
    global.fetch = jest.fn(async (url: string | URL | Request) =>
      String(url).endsWith('/v2/')
        ? new Response('{}', { status: 200 })
        : new Response('', { status: 404 }),
    ) as unknown as typeof fetch;
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    global.fetch = realFetch;
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  it('succeeds, pushes every tag and writes the push record', async () => {
    writeRecord();
    machine(ok(`latest: digest: ${DIGEST} size: 1234`));
    await expect(pushExecutor({}, context)).resolves.toEqual({
      success: true,
    });
    expect(errors()).toEqual([]);
    expect(
      runMock.mock.calls
        .filter(([, args]) => args[0] === 'push')
        .map(([, args]) => args),
    ).toEqual([['push', `${NAME}:latest`]]);
    expect(JSON.parse(readFileSync(pushRecordFile(), 'utf8'))).toMatchObject({
      project: 'synth',
      tags: [{ ref: `${NAME}:latest`, digest: DIGEST, uploaded: true }],
    });
  });

  it('fails the task with the one line of the error when there is no build record', async () => {
    machine(ok());
    await expect(pushExecutor({}, context)).resolves.toEqual({
      success: false,
    });
    expect(errors()).toEqual([
      [
        `@ml/docker:push: No build record at ${recordFile()}. Build the images first: nx run synth:docker-build`,
      ],
    ]);
  });

  it('fails the task with the one line of the error when the registry refuses the push', async () => {
    writeRecord();
    machine(
      failed(
        'The push refers to repository [127.0.0.1:5000/ml-images/synth-training]\nunauthorized: authentication required',
      ),
    );
    await expect(pushExecutor({}, context)).resolves.toEqual({
      success: false,
    });
    expect(errors()).toHaveLength(1);
    expect(errors()[0][0]).toMatch(
      /^@ml\/docker:push: Registry 127\.0\.0\.1:5000 refused the push of 127\.0\.0\.1:5000\/ml-images\/synth-training:latest \(unauthorized: authentication required\)\. Log in first: docker login 127\.0\.0\.1:5000/,
    );
    expect(errors()[0][0]).not.toContain('\n');
    expect(existsSync(pushRecordFile())).toBe(false);
  });
});
