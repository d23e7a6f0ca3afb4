import { ExecutorContext, logger } from '@nx/devkit';
import { randomBytes } from 'node:crypto';
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
import { run } from '../../process/process';
import {
  FakeRegistry,
  seedImage,
  startFakeRegistry,
} from '../../testing/fake-registry';
import promoteExecutor from './promote.impl';
import { PromoteExecutorSchema } from './schema';
import { executorContext } from '../../testing/fakes';

jest.mock('../../process/process');

describe('docker-promote', () => {
  let dev: FakeRegistry;
  let prod: FakeRegistry;
  let root: string;
  let context: ExecutorContext;
  let seeded: ReturnType<typeof seedImage>;
  const recordDir = () => join(root, 'dist/docker/apps/synth');
  const NAME = () => `${dev.host}/dev/synth-inference`;

  const write = (file: string, data: unknown) => {
    mkdirSync(recordDir(), { recursive: true });
    writeFileSync(join(recordDir(), file), JSON.stringify(data));
  };
  const tested = (imageId: string) =>
    write('test-record.json', {
      version: 1,
      project: 'synth',
      images: [
        {
          image: 'inference',
          name: NAME(),
          imageId,
          passedAt: '2026-01-01T00:00:00.000Z',
        },
      ],
    });
  const promote = (options: PromoteExecutorSchema) =>
    promoteExecutor({ from: 'dev', to: 'prod', ...options }, context);
  const errors = () =>
    jest.mocked(logger.error).mock.calls.map(([m]) => String(m));
  const nothingWritten = () => {
    expect(existsSync(join(recordDir(), 'promotion-record.json'))).toBe(false);
    expect(prod.manifests.size).toBe(0);
    expect(prod.uploadedBytes).toBe(0);
  };

  beforeEach(async () => {
    dev = await startFakeRegistry();
    prod = await startFakeRegistry({ credentials: 'ci:s3cret-value' });
    root = mkdtempSync(join(tmpdir(), 'ml-docker-promote-'));
    // Credentials as docker login leaves them, in a config of this test's own.
    process.env.DOCKER_CONFIG = join(root, '.docker');
    mkdirSync(process.env.DOCKER_CONFIG);
    writeFileSync(
      join(process.env.DOCKER_CONFIG, 'config.json'),
      JSON.stringify({
        auths: {
          [prod.host]: {
            auth: Buffer.from('ci:s3cret-value').toString('base64'),
          },
        },
      }),
    );
    seeded = seedImage(
      dev,
      'dev/synth-inference',
      ['nx-abc', 'latest'],
      [randomBytes(5000)],
    );
    write('build-record.json', {
      version: 2,
      project: 'synth',
      images: [
        {
          image: 'inference',
          dockerfile: 'docker/inference/Dockerfile',
          name: NAME(),
          registry: `${dev.host}/dev`,
          tags: ['nx-abc', 'latest'],
          imageId: seeded.configDigest,
          sizeBytes: 1,
          durationMs: 1,
          builtWith: 'buildx',
          createdAt: '2026-01-01T00:00:00.000Z',
        },
      ],
    });
    tested(seeded.configDigest);
    context = {
      ...executorContext(
        root,
        { name: 'synth', root: 'apps/synth' },
        {},
        'docker-promote',
      ),
      nxJsonConfiguration: {
        plugins: [
          {
            plugin: '@ml/docker',
            options: {
              environments: {
                dev: { registry: `${dev.host}/dev` },
                prod: { registry: `${prod.host}/acme-prod/ml` },
              },
            },
          },
        ],
      },
    };
    for (const level of ['info', 'warn', 'error'] as const)
      jest.spyOn(logger, level).mockImplementation(() => undefined);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    delete process.env.DOCKER_CONFIG;
    await dev.close();
    await prod.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('copies the tested digest with the tags the source holds for it, records it, and never calls the engine', async () => {
    expect(await promote({})).toEqual({ success: true });

    const at = prod.manifests.get('acme-prod/ml/synth-inference')!;
    expect(at.get('nx-abc')!.digest).toBe(seeded.digest);
    expect(at.get('latest')!.digest).toBe(seeded.digest);
    expect(logger.info).toHaveBeenCalledWith(
      `@ml/docker: promoted ${dev.host}/dev/synth-inference@${seeded.digest} to ${prod.host}/acme-prod/ml/synth-inference as nx-abc, latest (blobs: 2 copied (0.0 MB), 0 mounted, 0 already there; manifests: 1 put, 0 already there; tags: 2 put, 0 already there)`,
    );
    const record = readFileSync(
      join(recordDir(), 'promotion-record.json'),
      'utf8',
    );
    expect(JSON.parse(record)).toEqual({
      version: 1,
      project: 'synth',
      promotions: [
        {
          image: 'inference',
          digest: seeded.digest,
          from: {
            environment: 'dev',
            repository: `${dev.host}/dev/synth-inference`,
          },
          to: {
            environment: 'prod',
            repository: `${prod.host}/acme-prod/ml/synth-inference`,
          },
          tags: ['nx-abc', 'latest'],
          promotedAt: expect.any(String),
        },
      ],
    });
    expect(record).not.toContain('s3cret');
    expect(jest.mocked(run)).not.toHaveBeenCalled();
  });

  it('gives the tags asked for, and a second promotion uploads nothing', async () => {
    await promote({ tags: ['1.4.0'] });
    const uploaded = prod.uploadedBytes;
    expect(await promote({ tags: ['1.4.0'] })).toEqual({ success: true });
    expect(prod.uploadedBytes).toBe(uploaded);
    expect(logger.info).toHaveBeenLastCalledWith(
      expect.stringContaining(
        '(blobs: 0 copied (0.0 MB), 0 mounted, 2 already there; manifests: 0 put, 1 already there; tags: 0 put, 1 already there)',
      ),
    );
    expect([
      ...prod.manifests.get('acme-prod/ml/synth-inference')!.keys(),
    ]).toEqual([seeded.digest, '1.4.0']);
  });

  it('promotes an index (a multi-platform push) when one of its images is the tested one', async () => {
    const other = seedImage(dev, 'dev/synth-inference', [], [randomBytes(10)], {
      architecture: 'arm64',
    });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [seeded, other].map((m) => ({
          mediaType: m.mediaType,
          digest: m.digest,
          size: m.bytes.length,
        })),
      }),
    );
    const put = await fetch(
      `http://${dev.host}/v2/dev/synth-inference/manifests/nx-abc`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
        body: index,
      },
    );
    expect(put.status).toBe(201);
    expect(await promote({ tags: ['1.0'] })).toEqual({ success: true });
    const at = prod.manifests.get('acme-prod/ml/synth-inference')!;
    expect(at.get('1.0')!.bytes.equals(index)).toBe(true);
    expect(at.has(other.digest)).toBe(true);
  });

  it('leaves out a source tag that moved to another digest', async () => {
    seedImage(dev, 'dev/synth-inference', ['latest'], [randomBytes(10)]);
    await promote({});
    expect([
      ...prod.manifests.get('acme-prod/ml/synth-inference')!.keys(),
    ]).toEqual([seeded.digest, 'nx-abc']);
  });

  it.each<[string, () => void, PromoteExecutorSchema, RegExp]>([
    [
      'an unknown environment, listing the known ones',
      () => undefined,
      { to: 'staging' },
      /^@ml\/docker:promote: Unknown environment "staging" \(--to\)\. Known environments: dev, prod\. Define it in nx\.json's @ml\/docker plugin options/,
    ],
    [
      'a digest docker-test did not pass',
      () => tested('sha256:' + '0'.repeat(64)),
      {},
      /^@ml\/docker:promote: 127\.0\.0\.1:\d+\/dev\/synth-inference@sha256:[0-9a-f]{64} is not tested: its image sha256:[0-9a-f]{64} is not in the test record \S+test-record\.json\. Run docker-test on it \(nx run synth:docker-test\), push, then promote\.$/,
    ],
    [
      'no test record at all',
      () => rmSync(join(recordDir(), 'test-record.json')),
      {},
      / is not tested: /,
    ],
    [
      'refused credentials',
      () =>
        writeFileSync(
          join(process.env.DOCKER_CONFIG!, 'config.json'),
          JSON.stringify({}),
        ),
      {},
      /^@ml\/docker:promote: Registry 127\.0\.0\.1:\d+ refused authentication \(HTTP 401\)\. Log in first: docker login 127\.0\.0\.1:\d+/,
    ],
    [
      'an image the source registry does not hold',
      () => dev.manifests.clear(),
      {},
      /^@ml\/docker:promote: 127\.0\.0\.1:\d+\/dev\/synth-inference holds none of inference's tags \(nx-abc, latest\): push it to "dev" first \(nx run synth:docker-push\), then promote\.$/,
    ],
  ])('refuses %s, writing nothing', async (_what, arrange, options, line) => {
    arrange();
    expect(await promote(options)).toEqual({ success: false });
    expect(errors()).toEqual([expect.stringMatching(line)]);
    nothingWritten();
  });

  it('refuses an unreachable destination, naming the environment to fix', async () => {
    await prod.close();
    expect(await promote({})).toEqual({ success: false });
    expect(errors()).toEqual([
      expect.stringMatching(
        /^@ml\/docker:promote: Registry 127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED on http:\/\/127\.0\.0\.1:\d+\/v2\/\)\. Start it, or fix the registry of environment "prod" \(--to\) in nx\.json's @ml\/docker plugin options or the target's environments option\.$/,
      ),
    ]);
    expect(existsSync(join(recordDir(), 'promotion-record.json'))).toBe(false);
  });

  it("takes the target's environments over the plugin's", async () => {
    const other = await startFakeRegistry();
    try {
      await promote({
        environments: { prod: { registry: `${other.host}/p` } },
      });
      expect(other.manifests.get('p/synth-inference')?.has('nx-abc')).toBe(
        true,
      );
      expect(prod.manifests.size).toBe(0);
    } finally {
      await other.close();
    }
  });
});
