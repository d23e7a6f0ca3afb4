import { logger } from '@nx/devkit';
import { randomBytes } from 'node:crypto';
import { RegistryClient } from '../registry/registry-client';
import {
  FakeRegistry,
  seedImage,
  startFakeRegistry,
} from '../testing/fake-registry';
import {
  copyImage,
  CopyOptions,
  fetchManifest,
  Repository,
} from './registry-copy';

const OPTIONS: CopyOptions = { retries: 3, backoff: () => 1 };
const noCredentials = async () => undefined;

describe('registry copy by digest', () => {
  let dev: FakeRegistry;
  let prod: FakeRegistry;
  const repo = (r: FakeRegistry, path: string): Repository => ({
    client: new RegistryClient(r.host, noCredentials),
    path,
  });
  const layers = [randomBytes(300_000), randomBytes(1000)];

  beforeEach(async () => {
    dev = await startFakeRegistry();
    prod = await startFakeRegistry();
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await dev.close();
    await prod.close();
  });

  it('streams every blob to another registry, then the manifest by digest, then the tags', async () => {
    const seeded = seedImage(dev, 'ml/app', ['v1'], layers);
    const from = repo(dev, 'ml/app');
    const manifest = (await fetchManifest(from, 'v1'))!;
    expect(manifest.digest).toBe(seeded.digest);

    const stats = await copyImage(
      from,
      repo(prod, 'prod/app'),
      manifest,
      ['v1', 'stable'],
      OPTIONS,
    );

    expect(stats).toMatchObject({
      blobsCopied: 3,
      blobsMounted: 0,
      blobsPresent: 0,
      bytesCopied: 300_000 + 1000 + dev.blobs.get(seeded.configDigest)!.length,
      manifestsPut: 1,
      tagsPut: 2,
    });
    const at = prod.manifests.get('prod/app')!;
    expect(at.get('v1')!.digest).toBe(seeded.digest);
    expect(at.get('stable')!.bytes.equals(seeded.bytes)).toBe(true);
    // The tags are the last writes: nothing points at the image before it is whole.
    const puts = prod.log.filter((l) => l.startsWith('PUT'));
    expect(puts.slice(-3)).toEqual([
      `PUT /v2/prod/app/manifests/${seeded.digest}`,
      'PUT /v2/prod/app/manifests/v1',
      'PUT /v2/prod/app/manifests/stable',
    ]);
  });

  it('mounts blobs across repositories of the same registry: no byte is uploaded', async () => {
    seedImage(dev, 'dev/app', ['v1'], layers);
    const from = repo(dev, 'dev/app');
    const stats = await copyImage(
      from,
      repo(dev, 'prod/app'),
      (await fetchManifest(from, 'v1'))!,
      ['v1'],
      OPTIONS,
    );
    expect(stats).toMatchObject({
      blobsMounted: 3,
      blobsCopied: 0,
      bytesCopied: 0,
    });
    expect(dev.uploadedBytes).toBe(0);
    expect(dev.manifests.get('prod/app')!.has('v1')).toBe(true);
  });

  it('a second copy uploads nothing and puts nothing', async () => {
    seedImage(dev, 'ml/app', ['v1'], layers);
    const from = repo(dev, 'ml/app');
    const manifest = (await fetchManifest(from, 'v1'))!;
    await copyImage(from, repo(prod, 'prod/app'), manifest, ['v1'], OPTIONS);
    const before = prod.uploadedBytes;
    prod.log.length = 0;

    const stats = await copyImage(
      from,
      repo(prod, 'prod/app'),
      manifest,
      ['v1'],
      OPTIONS,
    );

    expect(stats).toMatchObject({
      blobsPresent: 3,
      blobsCopied: 0,
      manifestsPresent: 1,
      tagsPresent: 1,
      tagsPut: 0,
    });
    expect(prod.uploadedBytes).toBe(before);
    expect(prod.log.filter((l) => !l.startsWith('HEAD'))).toEqual([]);
  });

  it('retries an upload cut midway, and the blob lands whole', async () => {
    seedImage(dev, 'ml/app', ['v1'], layers);
    prod.faults.cutUploadsAfter = 100_000;
    prod.faults.cuts = 1;
    const from = repo(dev, 'ml/app');
    const stats = await copyImage(
      from,
      repo(prod, 'prod/app'),
      (await fetchManifest(from, 'v1'))!,
      ['v1'],
      OPTIONS,
    );
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(
        /copying prod\/app@sha256:[0-9a-f]{64} failed \(Registry 127\.0\.0\.1:\d+ is unreachable \(.+\)\); retrying in 0\.001 s \(1\/3\)/,
      ),
    );
    expect(stats.blobsCopied).toBe(3);
    expect(prod.manifests.get('prod/app')!.get('v1')).toBeDefined();
  });

  it('cut on every attempt: fails with the fix, leaves no tag; a rerun completes it', async () => {
    const seeded = seedImage(dev, 'ml/app', ['v1'], layers);
    prod.faults.cutUploadsAfter = 100_000;
    prod.faults.cuts = 5;
    const from = repo(dev, 'ml/app');
    const manifest = (await fetchManifest(from, 'v1'))!;
    await expect(
      copyImage(from, repo(prod, 'prod/app'), manifest, ['v1'], {
        ...OPTIONS,
        retries: 2,
      }),
    ).rejects.toThrow(
      /^Promoting prod\/app@sha256:[0-9a-f]{64} failed after 2 attempt\(s\): Registry 127\.0\.0\.1:\d+ is unreachable \(.+\)\. Check that both registries are up, then rerun: nothing is tagged at the destination until the image is complete, and what arrived is kept\.$/,
    );
    expect(prod.manifests.get('prod/app')).toBeUndefined();

    prod.faults.cuts = 0;
    const stats = await copyImage(
      from,
      repo(prod, 'prod/app'),
      manifest,
      ['v1'],
      OPTIONS,
    );
    expect(stats.blobsPresent + stats.blobsCopied).toBe(3);
    expect(prod.manifests.get('prod/app')!.get('v1')!.digest).toBe(
      seeded.digest,
    );
  });

  it('refuses a source whose blob is not what its digest says, without retrying', async () => {
    const seeded = seedImage(dev, 'ml/app', ['v1'], layers);
    const manifest = JSON.parse(seeded.bytes.toString());
    // The storage rotted: the bytes under the digest changed, same size.
    dev.blobs.set(manifest.layers[1].digest, randomBytes(1000));
    const from = repo(dev, 'ml/app');
    await expect(
      copyImage(
        from,
        repo(prod, 'prod/app'),
        (await fetchManifest(from, 'v1'))!,
        ['v1'],
        OPTIONS,
      ),
    ).rejects.toThrow(
      `served blob ${manifest.layers[1].digest} of ml/app with content whose digest is sha256:`,
    );
    expect(logger.warn).not.toHaveBeenCalled();
    expect(prod.manifests.get('prod/app')).toBeUndefined();
  });

  it('copies an index with its images, the images before the index', async () => {
    const a = seedImage(dev, 'ml/app', [], [randomBytes(100)], {
      os: 'linux',
      architecture: 'amd64',
    });
    const b = seedImage(dev, 'ml/app', [], [randomBytes(100)], {
      os: 'linux',
      architecture: 'arm64',
    });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [a, b].map((m) => ({
          mediaType: m.mediaType,
          digest: m.digest,
          size: m.bytes.length,
        })),
      }),
    );
    const put = await fetch(`http://${dev.host}/v2/ml/app/manifests/v1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
      body: index,
    });
    expect(put.status).toBe(201);
    const from = repo(dev, 'ml/app');
    const manifest = (await fetchManifest(from, 'v1'))!;

    const stats = await copyImage(
      from,
      repo(prod, 'prod/app'),
      manifest,
      ['v1'],
      OPTIONS,
    );

    expect(stats).toMatchObject({
      manifestsPut: 3,
      blobsCopied: 4,
      tagsPut: 1,
    });
    expect(prod.manifests.get('prod/app')!.get('v1')!.digest).toBe(
      manifest.digest,
    );
  });

  it('says the login was refused, naming how to log in', async () => {
    const locked = await startFakeRegistry({ credentials: 'ci:secret' });
    try {
      seedImage(dev, 'ml/app', ['v1'], layers);
      const from = repo(dev, 'ml/app');
      const to: Repository = {
        client: new RegistryClient(locked.host, async () => ({
          username: 'ci',
          secret: 'wrong',
        })),
        path: 'prod/app',
      };
      await expect(
        copyImage(
          from,
          to,
          (await fetchManifest(from, 'v1'))!,
          ['v1'],
          OPTIONS,
        ),
      ).rejects.toThrow(
        `Registry ${locked.host} refused authentication (HTTP 401). Log in first: docker login ${locked.host}`,
      );
    } finally {
      await locked.close();
    }
  });
});
