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
import { releaseRecordPath } from '../../names/names';
import { run } from '../../process/process';
import {
  CLIENT,
  executorContext,
  ok,
  restoreEnvAfterEach,
} from '../../testing/fakes';
import releasePublishExecutor from './release-publish.impl';
import { ReleasePublishExecutorSchema } from './schema';

jest.mock('../../process/process');

const runMock = jest.mocked(run);

const IMAGE_ID = `sha256:${'1'.repeat(64)}`;
const OTHER_IMAGE_ID = `sha256:${'2'.repeat(64)}`;
const DIGEST = `sha256:${'9'.repeat(64)}`;
const NAME = '127.0.0.1:5000/ml-images/synth-training';
const ENV_KEYS = [
  'ML_DOCKER_CLIENT',
  'ML_DOCKER_PODMAN',
  'PATH',
  'DOCKER_CONFIG',
  'NX_DRY_RUN',
] as const;

/** The executor behind nx release publish, on a mocked engine and registry. */
describe('release-publish executor', () => {
  restoreEnvAfterEach(ENV_KEYS);
  const realFetch = global.fetch;
  let root: string;
  let context: ExecutorContext;
  /** What the registry holds: repository path:tag -> config digest. */
  let registry: Record<string, string>;
  const inRegistry = (ref: string) => ref.slice('127.0.0.1:5000/'.length);

  const pushRecordFile = () =>
    join(root, 'dist/docker/apps/synth/push-record.json');

  function writeBuildRecord(extra: object[] = []) {
    mkdirSync(join(root, 'dist/docker/apps/synth'), { recursive: true });
    writeFileSync(
      join(root, 'dist/docker/apps/synth/build-record.json'),
      JSON.stringify({
        version: 2,
        project: 'synth',
        images: [
          ...extra,
          {
            image: 'training',
            dockerfile: 'docker/training/Dockerfile',
            name: NAME,
            registry: '127.0.0.1:5000',
            tags: ['latest', 'sha-abc1234'],
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

  function writeReleaseRecord(imageVersion: string) {
    const path = join(root, releaseRecordPath('apps/synth'));
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(
      path,
      JSON.stringify({
        version: 1,
        project: 'synth',
        imageVersion,
        versionedAt: '2026-12-07T10:00:00.000Z',
      }),
    );
  }

  const engineCommands = () =>
    runMock.mock.calls
      .map(([, args]) => args)
      .filter((args) => args[0] === 'tag' || args[0] === 'push');
  const errors = () => jest.mocked(logger.error).mock.calls.map((c) => c[0]);
  const infos = () =>
    jest.mocked(logger.info).mock.calls.map((c) => String(c[0]));

  beforeEach(() => {
    for (const k of ENV_KEYS) delete process.env[k];
    root = mkdtempSync(join(tmpdir(), 'ml-docker-release-exec-'));
    process.env.ML_DOCKER_CLIENT = CLIENT;
    mkdirSync(join(root, 'empty-bin'));
    process.env.PATH = join(root, 'empty-bin');
    process.env.DOCKER_CONFIG = join(root, 'docker-config');
    context = executorContext(
      root,
      { name: 'synth', root: 'apps/synth' },
      { 'docker-build': { executor: '@ml/docker:build', options: {} } },
      'nx-release-publish',
    );
    runMock.mockReset();
    runMock.mockImplementation(async (file, args) => {
      const line = args.join(' ');
      if (file !== CLIENT) throw new Error(`unexpected command: ${file}`);
      if (args[0] === 'version') return ok('28.3.2|28.3.2');
      if (line === 'buildx version') return ok('v0.25.0');
      if (line === `image inspect ${IMAGE_ID}`)
        return ok(JSON.stringify([{ Id: IMAGE_ID, Size: 1, Config: {} }]));
      if (args[0] === 'tag') return ok();
      if (args[0] === 'push') {
        registry[inRegistry(args[1])] = IMAGE_ID;
        return ok(`x: digest: ${DIGEST} size: 1`);
      }
      throw new Error(`unexpected command: ${file} ${line}`);
    });
    registry = {};
    global.fetch = jest.fn(async (url: string | URL | Request) => {
      const u = String(url);
      if (u.endsWith('/v2/')) return new Response('{}', { status: 200 });
      const m = /\/v2\/(.+)\/manifests\/([^/]+)$/.exec(u);
      const config = m && registry[`${m[1]}:${decodeURIComponent(m[2])}`];
      return config
        ? new Response(JSON.stringify({ config: { digest: config } }), {
            status: 200,
            headers: { 'docker-content-digest': DIGEST },
          })
        : new Response('', { status: 404 });
    }) as unknown as typeof fetch;
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    global.fetch = realFetch;
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  const fromRun = (
    newVersion: string | null,
  ): ReleasePublishExecutorSchema => ({
    nxReleaseVersionData: { synth: { newVersion } },
  });

  it.each<[string, () => void, ReleasePublishExecutorSchema, string]>([
    [
      'the version nx release passes',
      () => undefined,
      fromRun('1.4.0'),
      '1.4.0',
    ],
    [
      'the release record of nx release version',
      () => writeReleaseRecord('2612.07.abc1234'),
      {},
      '2612.07.abc1234',
    ],
    [
      'the version of this run over an older record',
      () => writeReleaseRecord('0.9.0'),
      fromRun('1.4.0'),
      '1.4.0',
    ],
  ])(
    'tags the recorded image with %s, pushes it, and adds it to the push record',
    async (_, setup, options, version) => {
      writeBuildRecord();
      mkdirSync(join(root, 'dist/docker/apps/synth'), { recursive: true });
      const earlier = { ref: `${NAME}:latest`, digest: DIGEST, uploaded: true };
      writeFileSync(
        pushRecordFile(),
        JSON.stringify({ version: 1, tags: [earlier] }),
      );
      setup();
      await expect(releasePublishExecutor(options, context)).resolves.toEqual({
        success: true,
      });
      expect(errors()).toEqual([]);
      expect(engineCommands()).toEqual([
        ['tag', IMAGE_ID, `${NAME}:${version}`],
        ['push', `${NAME}:${version}`],
      ]);
      expect(JSON.parse(readFileSync(pushRecordFile(), 'utf8')).tags).toEqual([
        earlier,
        { ref: `${NAME}:${version}`, digest: DIGEST, uploaded: true },
      ]);
    },
  );

  it.each<[string, ReleasePublishExecutorSchema, () => void]>([
    [
      'the dryRun option',
      { ...fromRun('1.4.0'), dryRun: true },
      () => undefined,
    ],
    [
      'nx release --dry-run (NX_DRY_RUN)',
      fromRun('1.4.0'),
      () => (process.env.NX_DRY_RUN = 'true'),
    ],
  ])(
    'with %s says what would be tagged and pushed and changes nothing',
    async (_, options, setup) => {
      writeBuildRecord();
      setup();
      await expect(releasePublishExecutor(options, context)).resolves.toEqual({
        success: true,
      });
      expect(engineCommands()).toEqual([]);
      expect(existsSync(pushRecordFile())).toBe(false);
      expect(infos()).toEqual(
        expect.arrayContaining([
          expect.stringContaining(
            `[dry run] would tag and push ${NAME}:1.4.0 (image ${IMAGE_ID.slice(0, 19)})`,
          ),
        ]),
      );
    },
  );

  it('pushes nothing when the registry holds the version as this image already (a rerun)', async () => {
    writeBuildRecord();
    registry[inRegistry(`${NAME}:1.4.0`)] = IMAGE_ID;
    await expect(
      releasePublishExecutor(fromRun('1.4.0'), context),
    ).resolves.toEqual({ success: true });
    expect(engineCommands()).toEqual([]);
  });

  it('publishes nothing when nx release left the project unversioned', async () => {
    writeBuildRecord();
    await expect(
      releasePublishExecutor(fromRun(null), context),
    ).resolves.toEqual({ success: true });
    expect(engineCommands()).toEqual([]);
  });

  it.each<[string, () => void, ReleasePublishExecutorSchema, RegExp]>([
    [
      'no build record',
      () => undefined,
      fromRun('1.4.0'),
      /^@ml\/docker:release-publish: No build record at .*build-record.json. Build the images first: nx run synth:docker-build$/,
    ],
    [
      'no version from nx release nor a release record',
      writeBuildRecord,
      {},
      /^@ml\/docker:release-publish: No release version for synth: version it first with nx release version/,
    ],
    [
      'a released version that names another image in the registry',
      () => {
        writeBuildRecord();
        registry[inRegistry(`${NAME}:1.4.0`)] = OTHER_IMAGE_ID;
      },
      fromRun('1.4.0'),
      /^@ml\/docker:release-publish: 127.0.0.1:5000\/ml-images\/synth-training:1.4.0 is already in the registry as another image \(sha256:9+\): a released version is never moved/,
    ],
    [
      'a released version naming another image for the second image only: the first is not pushed either',
      () => {
        writeBuildRecord([
          {
            image: 'inference',
            dockerfile: 'docker/inference/Dockerfile',
            name: `${NAME}-inference`,
            registry: '127.0.0.1:5000',
            tags: ['latest'],
            imageId: IMAGE_ID,
            sizeBytes: 1,
            durationMs: 1,
            builtWith: 'buildx',
            createdAt: '2024-05-01T10:00:00.000Z',
          },
        ]);
        registry[inRegistry(`${NAME}:1.4.0`)] = OTHER_IMAGE_ID;
      },
      fromRun('1.4.0'),
      /is already in the registry as another image/,
    ],
    [
      'a version that is not an image tag',
      writeBuildRecord,
      fromRun('1.4.0+build.1'),
      /Invalid tag "1.4.0\+build.1" in the release version of synth/,
    ],
  ])(
    'fails with one line when there is %s',
    async (_, setup, options, message) => {
      setup();
      await expect(releasePublishExecutor(options, context)).resolves.toEqual({
        success: false,
      });
      expect(errors()).toHaveLength(1);
      expect(errors()[0]).toMatch(message);
      expect(engineCommands()).toEqual([]);
    },
  );
});
