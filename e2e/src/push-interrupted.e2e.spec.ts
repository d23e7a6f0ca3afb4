/**
 * Pushes cut off midway, through a proxy in front of the local registry that
 * drops connections at known points: by the network (a manifest upload, a
 * layer upload) and by the user (Ctrl-C during a slow upload). Each time the
 * registry ends up with the complete image or none of it, never a tag that
 * points at a half-uploaded image, and a rerun completes the push.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordedImagesAt, removeImagesOf } from './support/example-monorepo';
import { expectFailure } from './support/failure-modes';
import { FlakyProxy, startFlakyProxy } from './support/flaky-registry-proxy';
import { registryManifest, uniqueId, until } from './support/run';
import { freshWorkspace, Workspace } from './support/workspace';

const MB = 1024 * 1024;
/** Random bytes do not compress: the upload is the layer's size. */
const LAYER = 24 * MB;

/** One image per story, each with a layer of its own random bytes: new to the registry. */
const STORIES = ['manifest-cut', 'layer-cut', 'always-cut', 'ctrl-c'] as const;
type Story = (typeof STORIES)[number];

describe('a docker-push interrupted midway', () => {
  const id = uniqueId('pi');
  const project = `pushy-${id}`;
  const root = `ml/${project}`;
  const repository = `e2e-${id}`;
  let ws: Workspace;
  let port = 0;
  let proxy: FlakyProxy | undefined;

  /** A proxy with these faults on the port the images are tagged with. */
  const proxyWith = async (faults: Parameters<typeof startFlakyProxy>[0]) => {
    await proxy?.close();
    proxy = await startFlakyProxy({ ...faults, port });
    port = Number(proxy.registry.split(':')[1]);
    return proxy;
  };
  const push = (story: Story, retries = 3) =>
    ws.nx(
      [
        'run',
        `${project}:docker-push`,
        `--images=${story}`,
        `--retries=${retries}`,
        '--skip-nx-cache',
      ],
      { allowFail: true },
    );
  const recorded = (story: Story) =>
    recordedImagesAt(ws.root, root)!.find((i) => i.image === story)!;
  const pushRecord = () =>
    join(ws.root, 'dist/docker', root, 'push-record.json');
  /** What the registry itself (not the proxy) holds for every tag of the story's image. */
  const inRegistry = async (story: Story) => {
    const { name, tags } = recorded(story);
    // The recorded image name minus its registry host: the path the registry knows.
    const path = name.split('/').slice(1).join('/');
    return Promise.all(
      tags.map(async (tag) => {
        const m = await registryManifest(path, tag);
        return m.status === 200 ? m.configDigest : m.status;
      }),
    );
  };

  beforeAll(async () => {
    // The images are tagged with the proxy's address: start one to get a port.
    await proxyWith({});
    ws = freshWorkspace();
    for (const story of STORIES) {
      // FROM scratch: one layer per image, so the proxy's byte counts are this layer's.
      ws.write(
        `${root}/docker/${story}/Dockerfile`,
        `FROM scratch\nCOPY ${story}.bin /payload.bin\n`,
      );
      writeFileSync(join(ws.root, root, `${story}.bin`), randomBytes(LAYER));
    }
    ws.write(
      `${root}/project.json`,
      JSON.stringify({
        name: project,
        root,
        targets: {
          'docker-build': {
            executor: '@ml/docker:build',
            options: {
              registry: proxy!.registry,
              repository,
              gitShaTag: false,
              // No --cache-from: the registry is only reachable while a proxy runs.
              registryCache: false,
            },
          },
          'docker-push': { executor: '@ml/docker:push', options: {} },
        },
      }),
    );
    ws.commitAll('four images to push');
    const built = ws.nx(['run', `${project}:docker-build`], {
      allowFail: true,
    });
    if (built.status !== 0) throw new Error(built.all.slice(-4000));
  });

  afterAll(async () => {
    await proxy?.close();
    removeImagesOf(repository);
    ws?.dispose();
  });

  it('a manifest upload cut by the network is retried and lands', async () => {
    const p = await proxyWith({ cutManifestPuts: 1 });
    const r = push('manifest-cut');
    expect(r.all).toMatch(
      /push of \S+ failed \(.+\); retrying in 1 s \(1\/3\)/,
    );
    expect(r.status).toBe(0);
    expect((await p.stats()).manifestCuts).toBe(1);
    const { imageId, tags } = recorded('manifest-cut');
    expect(await inRegistry('manifest-cut')).toEqual(tags.map(() => imageId));
  });

  it('a layer upload cut midway is started again and the push lands', async () => {
    const p = await proxyWith({ cutBlobAfter: 4 * MB, blobCuts: 1 });
    const r = push('layer-cut');
    expect(r.status).toBe(0);
    // Docker's engine retries a broken layer upload itself before giving up.
    expect(r.all).toMatch(/Retrying in \d+ seconds?|retrying in \d+ s/);
    const stats = await p.stats();
    expect(stats.blobCuts).toBe(1);
    expect(stats.blobBytes).toBeGreaterThan(LAYER); // the layer went up again after the cut
    const { imageId, tags } = recorded('layer-cut');
    expect(await inRegistry('layer-cut')).toEqual(tags.map(() => imageId));
  });

  it('cut on every attempt, it gives up clearly with no tag in the registry, and a rerun completes it', async () => {
    await proxyWith({ cutManifestPuts: 1000 });
    const lastRecord = readFileSync(pushRecord(), 'utf8');
    const failed = push('always-cut', 2);
    expectFailure(failed, 'push.cut-too-often');
    expect(failed.all).toMatch(/failed after 2 attempt\(s\)/);
    // The record still describes the last push that worked.
    expect(readFileSync(pushRecord(), 'utf8')).toBe(lastRecord);
    expect(await inRegistry('always-cut')).toEqual(
      recorded('always-cut').tags.map(() => 404),
    );

    await proxyWith({});
    const rerun = push('always-cut');
    expect(rerun.status).toBe(0);
    const { imageId, tags } = recorded('always-cut');
    expect(await inRegistry('always-cut')).toEqual(tags.map(() => imageId));
  });

  it('interrupted by the user (SIGINT) during a slow upload, it leaves no tag, and a rerun completes it', async () => {
    const slow = await proxyWith({ throttle: 4 * MB });
    const nx = ws.nxInBackground([
      'run',
      `${project}:docker-push`,
      '--images=ctrl-c',
      '--skip-nx-cache',
    ]);
    try {
      expect(
        await until(
          async () => (await slow.stats()).blobBytes > 4 * MB,
          120_000,
        ),
      ).toBe(true);
      nx.signal('SIGINT');
      expect(await nx.exited).not.toBe(0);
    } finally {
      nx.stop();
    }
    expect((await slow.stats()).blobBytes).toBeLessThan(LAYER);
    expect(await inRegistry('ctrl-c')).toEqual(
      recorded('ctrl-c').tags.map(() => 404),
    );

    await proxyWith({});
    const rerun = push('ctrl-c');
    expect(rerun.status).toBe(0);
    const { imageId, tags } = recorded('ctrl-c');
    expect(await inRegistry('ctrl-c')).toEqual(tags.map(() => imageId));
  });
});
