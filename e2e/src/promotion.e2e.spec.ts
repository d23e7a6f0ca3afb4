/**
 * docker-promote between two real registries: the local one as dev and a
 * second one with a login (Debian's docker-registry, htpasswd) as prod. The
 * digest that passed docker-test arrives byte for byte, the engine neither
 * builds nor pulls, a copy cut midway leaves no tag and a rerun completes
 * it, a second promotion uploads nothing, and each refusal writes nothing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordedImagesAt, removeImagesOf } from './support/example-monorepo';
import {
  AuthRegistry,
  freePort,
  startAuthRegistry,
} from './support/auth-registry';
import { expectFailure } from './support/failure-modes';
import { FlakyProxy, startFlakyProxy } from './support/flaky-registry-proxy';
import { docker, REGISTRY, uniqueId } from './support/run';
import { freshWorkspace, Workspace } from './support/workspace';

const MB = 1024 * 1024;
const MANIFEST_TYPES =
  'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json';

describe('docker-promote from dev to prod', () => {
  const id = uniqueId('promo');
  const project = id;
  const root = `ml/${project}`;
  const devRepository = `e2e-${id}`;
  const user = 'ml-release';
  const password = `pw-${id}-never-printed`;
  let prod: AuthRegistry;
  let proxy: FlakyProxy | undefined;
  let proxyPort = 0;
  let ws: Workspace;
  let withLogin: string;
  let downPort: number;

  const recordDir = () => join(ws.root, 'dist/docker', root);
  const image = () => recordedImagesAt(ws.root, root)![0];
  const imageName = () => image().name.split('/').pop()!;
  const testedImageId = () =>
    JSON.parse(readFileSync(join(recordDir(), 'test-record.json'), 'utf8'))
      .images[0].imageId as string;
  const promotionRecord = () => {
    const file = join(recordDir(), 'promotion-record.json');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  };
  const promote = (args: string[], config = withLogin) =>
    ws.nx(['run', `${project}:docker-promote`, '--skip-nx-cache', ...args], {
      allowFail: true,
      env: { DOCKER_CONFIG: config },
    });

  /** What a registry holds under a reference: status, manifest digest and config digest. */
  const manifestAt = async (host: string, path: string, ref: string) => {
    const res = await fetch(`http://${host}/v2/${path}/manifests/${ref}`, {
      headers: {
        accept: MANIFEST_TYPES,
        authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
      },
    });
    if (res.status !== 200) return { status: res.status };
    const body = (await res.json()) as { config?: { digest?: string } };
    return {
      status: 200,
      digest: res.headers.get('docker-content-digest') ?? undefined,
      configDigest: body.config?.digest,
    };
  };
  const devManifest = () =>
    manifestAt(REGISTRY, `${devRepository}/${imageName()}`, image().tags[0]);

  /** A proxy in front of prod on the same port each time, with these faults. */
  const proxyWith = async (faults: Parameters<typeof startFlakyProxy>[0]) => {
    await proxy?.close();
    proxy = await startFlakyProxy({
      ...faults,
      upstream: prod.host,
      port: proxyPort,
    });
    proxyPort = Number(proxy.registry.split(':')[1]);
    return proxy;
  };

  beforeAll(async () => {
    prod = await startAuthRegistry(user, password);
    await proxyWith({});
    downPort = await freePort();
    withLogin = prod.dockerConfig({
      [prod.host]: `${user}:${password}`,
      [proxy!.registry]: `${user}:${password}`,
    });
    ws = freshWorkspace();
    // The environments live in the plugin options, as a team writes them.
    const nxJson = JSON.parse(readFileSync(join(ws.root, 'nx.json'), 'utf8'));
    nxJson.plugins = [
      ...(nxJson.plugins ?? []),
      {
        plugin: '@ml/docker',
        options: {
          environments: {
            dev: { registry: `${REGISTRY}/${devRepository}` },
            prod: { registry: `${prod.host}/acme-prod/ml` },
            'prod-via-proxy': { registry: `${proxy!.registry}/acme-prod/ml` },
            'staging-via-proxy': {
              registry: `${proxy!.registry}/acme-staging/ml`,
            },
            nowhere: { registry: `127.0.0.1:${downPort}/ml` },
          },
        },
      },
    ];
    writeFileSync(join(ws.root, 'nx.json'), JSON.stringify(nxJson, null, 2));
    ws.imageProject(
      root,
      'app',
      [
        // Random bytes: a layer neither registry has, big enough to cut midway.
        'COPY payload.bin /payload.bin',
        'USER 10001:10001',
        'CMD ["python3", "-c", "print(1)"]',
      ],
      {
        'docker-build': {
          executor: '@ml/docker:build',
          options: {
            registry: REGISTRY,
            repository: devRepository,
            gitShaTag: false,
          },
        },
        'docker-test': {
          executor: '@ml/docker:test',
          options: { job: { artifacts: [] } },
        },
        'docker-push': { executor: '@ml/docker:push', options: {} },
      },
    );
    writeFileSync(join(ws.root, root, 'payload.bin'), randomBytes(6 * MB));
    ws.commitAll('a project released from dev to prod');
    // Built, tested and pushed to dev: what CI does on main.
    const pushed = ws.nx(['run', `${project}:docker-push`], {
      allowFail: true,
    });
    if (pushed.status !== 0) throw new Error(pushed.all.slice(-4000));
  });

  afterAll(async () => {
    await proxy?.close();
    removeImagesOf(devRepository);
    ws?.dispose();
    prod?.stop();
  });

  describe('the tested digest', () => {
    it('arrives in prod byte for byte, with its tags, and the engine builds and pulls nothing', async () => {
      // Other suites build on the same engine: only this suite's images count.
      const ours = (line: string) =>
        [devRepository, prod.host, 'acme-prod', testedImageId()].some((n) =>
          line.includes(n),
        );
      const localImages = () =>
        docker([
          'images',
          '--no-trunc',
          '--format',
          '{{.ID}} {{.Repository}}:{{.Tag}}',
        ])
          .stdout.split('\n')
          .filter(ours)
          .sort();
      const before = localImages();
      // The push that set up the suite is in the past, to the second the engine's events count.
      await new Promise((r) => setTimeout(r, 1100));
      const since = (Date.now() / 1000).toFixed(3);
      const r = promote(['--from=dev', '--to=prod']);
      const until = Math.ceil(Date.now() / 1000) + 1;
      expect(r.status).toBe(0);

      const dev = await devManifest();
      const path = `acme-prod/ml/${imageName()}`;
      for (const tag of image().tags) {
        const at = await manifestAt(prod.host, path, tag);
        expect(at).toEqual({
          status: 200,
          digest: dev.digest,
          configDigest: testedImageId(),
        });
      }
      expect(r.all).toContain(
        `@ml/docker: promoted ${REGISTRY}/${devRepository}/${imageName()}@${dev.digest} to ${prod.host}/${path} as ${image().tags.join(', ')} (blobs: `,
      );
      expect(r.all).toMatch(/blobs: [1-9]\d* copied \(\d+\.\d MB\), 0 mounted/);
      // No image event of ours while it ran: nothing pulled, tagged, built or removed.
      const events = docker([
        'events',
        '--since',
        since,
        '--until',
        String(until),
        '--filter',
        'type=image',
        '--format',
        '{{.Action}} {{.Actor.ID}} {{index .Actor.Attributes "name"}}',
      ])
        .stdout.split('\n')
        .filter(ours);
      expect(events).toEqual([]);
      expect(localImages()).toEqual(before);

      const record = JSON.parse(promotionRecord());
      expect(record.promotions).toEqual([
        expect.objectContaining({
          image: 'app',
          digest: dev.digest,
          from: {
            environment: 'dev',
            repository: `${REGISTRY}/${devRepository}/${imageName()}`,
          },
          to: { environment: 'prod', repository: `${prod.host}/${path}` },
          tags: image().tags,
        }),
      ]);
      expect(r.all).not.toContain(password);
      for (const file of readdirSync(recordDir()))
        expect(readFileSync(join(recordDir(), file), 'utf8')).not.toContain(
          password,
        );
    });

    it('a second promotion uploads nothing', async () => {
      const p = await proxyWith({});
      const r = promote(['--from=dev', '--to=prod-via-proxy']);
      expect(r.status).toBe(0);
      expect(r.all).toMatch(
        /blobs: 0 copied \(0\.0 MB\), 0 mounted, \d+ already there; manifests: 0 put, 1 already there; tags: 0 put, \d+ already there/,
      );
      expect((await p.stats()).blobBytes).toBe(0);
    });
  });

  describe('a promotion cut midway', () => {
    it('leaves no tag at the destination, and a rerun completes it', async () => {
      const path = `acme-staging/ml/${imageName()}`;
      await proxyWith({ cutBlobAfter: 1 * MB, blobCuts: 100 });
      const cut = promote([
        '--from=dev',
        '--to=staging-via-proxy',
        '--retries=2',
      ]);
      expectFailure(cut, 'promote.cut-too-often');
      expect(cut.all).toMatch(/retrying in 1 s \(1\/2\)/);
      for (const tag of image().tags)
        expect((await manifestAt(prod.host, path, tag)).status).toBe(404);

      const p = await proxyWith({});
      const rerun = promote(['--from=dev', '--to=staging-via-proxy']);
      expect(rerun.status).toBe(0);
      const dev = await devManifest();
      for (const tag of image().tags)
        expect((await manifestAt(prod.host, path, tag)).digest).toBe(
          dev.digest,
        );
      expect((await p.stats()).blobBytes).toBeGreaterThan(1 * MB);
    });
  });

  describe('refusals', () => {
    const refused = (
      id: Parameters<typeof expectFailure>[1],
      args: string[],
      config?: string,
    ) => {
      const before = promotionRecord();
      const r = promote(args, config);
      expectFailure(r, id);
      expect(promotionRecord()).toBe(before);
      expect(r.all).not.toContain(password);
      return r;
    };

    it('an unknown environment, listing the known ones', () => {
      const r = refused('promote.unknown-environment', [
        '--from=dev',
        '--to=production',
      ]);
      expect(r.all).toContain(
        'Known environments: dev, prod, prod-via-proxy, staging-via-proxy, nowhere.',
      );
    });

    it('a destination that refuses the login', async () => {
      refused(
        'promote.auth-refused',
        ['--from=dev', '--to=prod', '--tags=refused'],
        prod.dockerConfig({ [prod.host]: `${user}:not-${password}` }),
      );
      expect(
        (await manifestAt(prod.host, `acme-prod/ml/${imageName()}`, 'refused'))
          .status,
      ).toBe(404);
    });

    it('a destination that does not answer', () => {
      refused('promote.registry-down', ['--from=dev', '--to=nowhere']);
    });

    it('a digest docker-test did not pass: rebuilt and pushed without testing', async () => {
      writeFileSync(join(ws.root, root, 'payload.bin'), randomBytes(MB));
      ws.commitAll('a change pushed without docker-test');
      ws.nx(['run', `${project}:docker-build`]);
      ws.nx(['run', `${project}:docker-push`, '--excludeTaskDependencies']);
      const untested = (await devManifest()).digest!;
      const r = refused('promote.untested', [
        '--from=dev',
        '--to=prod',
        '--tags=untested',
      ]);
      expect(r.all).toContain(`@${untested} is not tested`);
      expect(
        (await manifestAt(prod.host, `acme-prod/ml/${imageName()}`, 'untested'))
          .status,
      ).toBe(404);
    });
  });
});
