/**
 * A private package index reached through a build secret, on the engine's
 * BuildKit and on Podman: a real PEP 503 index on 127.0.0.1 behind basic auth
 * holding a wheel built here (ml-private-utils), a generated project that
 * needs it, docker-build with `secrets` (the URL, token included, in an
 * environment variable) and `network: host`, the container importing it, and
 * docker-push. Then everything the build and push left is searched for the
 * token: every manifest, config and own layer of every repository the push
 * wrote (images and cache images, straight from the registry API), the
 * engine's history of each image, the build and push records, the Nx cache
 * (terminal outputs) and the captured output. A canary image built the old
 * way (the URL as a build arg) proves the search finds what it looks for.
 * Without the secret the build fails with one line naming it; a credential
 * as a build arg is refused before any build.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  ensureBaseInRegistry,
  OFFLINE_BASE,
  PodmanStore,
} from './support/engines';
import { recordedImagesAt } from './support/example-monorepo';
import { expectFailure } from './support/failure-modes';
import {
  PrivateIndex,
  startPrivateIndex,
  writeWheel,
} from './support/private-index';
import { docker, Ran, REGISTRY, uniqueId } from './support/run';
import { freshWorkspace, Workspace } from './support/workspace';

const SECRET_ENV = 'ML_E2E_PRIVATE_INDEX_URL';
const GREETING = 'hello from the private index';
const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

interface Manifest {
  config?: { digest: string };
  layers?: Array<{ digest: string; mediaType: string }>;
  manifests?: Array<{ digest: string }>;
}

/** Everything the registry holds under these repositories, as text, with the layers the build made unpacked. */
async function registryContents(
  repositoryPrefix: string,
  baseLayers: number,
): Promise<Array<{ where: string; text: string }>> {
  const get = async (path: string, accept?: string) => {
    const res = await fetch(`http://${REGISTRY}/v2/${path}`, {
      headers: accept ? { accept } : {},
    });
    if (res.status !== 200)
      throw new Error(`GET /v2/${path}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  };
  // The registry pages its catalog (at most 1000 a page).
  const repositories: string[] = [];
  for (let last = ''; ;) {
    const page = JSON.parse(
      (
        await get(
          `_catalog?n=1000${last ? `&last=${encodeURIComponent(last)}` : ''}`,
        )
      ).toString(),
    ) as { repositories: string[] };
    repositories.push(...page.repositories);
    if (page.repositories.length < 1000) break;
    last = page.repositories[page.repositories.length - 1];
  }
  const out: Array<{ where: string; text: string }> = [];
  for (const repo of repositories.filter((r) =>
    r.startsWith(`${repositoryPrefix}/`),
  )) {
    const { tags } = JSON.parse((await get(`${repo}/tags/list`)).toString());
    const pending: string[] = tags ?? [];
    const seen = new Set<string>();
    while (pending.length) {
      const ref = pending.pop()!;
      if (seen.has(ref)) continue;
      seen.add(ref);
      const raw = await get(`${repo}/manifests/${ref}`, MANIFEST_TYPES);
      out.push({ where: `${repo}@${ref} manifest`, text: raw.toString() });
      const m = JSON.parse(raw.toString()) as Manifest;
      for (const sub of m.manifests ?? []) pending.push(sub.digest);
      if (m.config) {
        const config = await get(`${repo}/blobs/${m.config.digest}`);
        out.push({ where: `${repo}@${ref} config`, text: config.toString() });
      }
      // The base's layers are the offline base's; the ones after it are this build's.
      for (const layer of (m.layers ?? []).slice(baseLayers)) {
        const blob = await get(`${repo}/blobs/${layer.digest}`);
        const tar =
          blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob;
        out.push({
          where: `${repo}@${ref} layer ${layer.digest}`,
          text: tar.toString('latin1'),
        });
      }
    }
  }
  return out;
}

/** Every file under a folder, as text. */
function filesUnder(dir: string): Array<{ where: string; text: string }> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory()
      ? filesUnder(p)
      : [{ where: p, text: readFileSync(p, 'latin1') }];
  });
}

describe('a private index through build secrets', () => {
  const id = uniqueId('pidx');
  const project = `pi-${id}`;
  const root = `ml/${project}`;
  const repository = `e2e-${id}`;
  const token = `tok-${id}-never-stored`;
  let dir: string;
  let index: PrivateIndex;
  let ws: Workspace;
  let baseLayers: number;
  const outputs: Ran[] = [];

  const nx = (
    args: string[],
    env: NodeJS.ProcessEnv = {},
    allowFail = false,
  ) => {
    const r = ws.nx(args, { env, allowFail });
    outputs.push(r);
    return r;
  };
  const records = () =>
    filesUnder(join(ws.root, 'dist', 'docker', root)).filter((f) =>
      f.where.endsWith('.json'),
    );
  /** The images of the last build record. */
  const recorded = () => recordedImagesAt(ws.root, root) ?? [];

  /** Where the token was found, among everything a build and push leave. */
  async function leaks(historyOf: (ref: string) => string): Promise<string[]> {
    const refs = recorded().flatMap((i) => [
      `${i.name}:${i.tags[0]}`,
      ...(i.cache?.stages ?? []).map((s) => s.ref),
    ]);
    const places = [
      ...(await registryContents(repository, baseLayers)),
      ...refs.map((ref) => ({
        where: `history of ${ref}`,
        text: historyOf(ref),
      })),
      ...records(),
      ...filesUnder(join(ws.root, '.nx', 'cache')),
      ...outputs.map((o, i) => ({ where: `output ${i}`, text: o.all })),
    ];
    expect(places.some((p) => p.where.includes(' layer '))).toBe(true);
    return places.filter((p) => p.text.includes(token)).map((p) => p.where);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ml-docker-pidx-'));
    writeWheel(
      join(dir, 'wheels'),
      'ml-private-utils',
      '0.1.0',
      `GREETING = ${JSON.stringify(GREETING)}\n`,
    );
    index = await startPrivateIndex(join(dir, 'wheels'), 'ci-bot', token);
    baseLayers = JSON.parse(
      docker([
        'image',
        'inspect',
        '--format',
        '{{json .RootFS.Layers}}',
        OFFLINE_BASE,
      ]).stdout,
    ).length;

    ws = freshWorkspace();
    ws.write(
      `${root}/project.json`,
      JSON.stringify({
        name: project,
        root,
        targets: {
          'docker-build': {
            executor: '@ml/docker:build',
            options: {
              repository,
              images: ['training'],
              secrets: { 'pip-index-url': { env: SECRET_ENV } },
              network: 'host',
            },
          },
          'docker-push': { executor: '@ml/docker:push', options: {} },
        },
      }),
    );
    // Unique per run: the engine's layer cache (shared with earlier runs) must not answer the install.
    ws.write(`${root}/requirements.txt`, `# ${id}\nml-private-utils==0.1.0\n`);
    ws.write(`${root}/src/__init__.py`, '');
    ws.write(
      `${root}/src/train.py`,
      'import ml_private_utils\n\n\ndef main():\n    print(ml_private_utils.GREETING)\n\n\nif __name__ == "__main__":\n    main()\n',
    );
    ws.commitAll('a project that needs a package from a private index');
    nx([
      'g',
      '@ml/docker:images',
      `--project=${project}`,
      '--image=training',
      '--no-interactive',
    ]);
    ws.commitAll('its Dockerfiles');
  });

  afterAll(async () => {
    await index?.close();
    for (const image of docker([
      'images',
      '--format',
      '{{.Repository}}:{{.Tag}}',
    ])
      .stdout.split('\n')
      .filter((i) => i.includes(`/${repository}`)))
      docker(['rmi', '-f', image], { allowFail: true });
    ws?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the index URL with its token as a build arg, before any build, without echoing the token', () => {
    const fake = `fake-${id}`;
    const r = nx(
      [
        'run',
        `${project}:docker-build`,
        '--skip-nx-cache',
        `--buildArgs.PIP_EXTRA_INDEX_URL=http://ci-bot:${fake}@127.0.0.1:9/simple/`,
      ],
      {},
      true,
    );
    expectFailure(r, 'build.credential-build-arg');
    expect(r.all).not.toMatch(/building (stage|training)/);
    // nx echoes its own command line; the plugin's line must not repeat the value.
    const line = r.all
      .split('\n')
      .find((l) => l.includes('looks like a credential'))!;
    expect(line).not.toContain(fake);
  });

  it('refuses secrets on the classic builder, before any build', () => {
    const r = nx(
      ['run', `${project}:docker-build`, '--skip-nx-cache', '--engine=classic'],
      { [SECRET_ENV]: 'http://127.0.0.1:9/simple/' },
      true,
    );
    expectFailure(r, 'build.secrets-on-classic');
    expect(r.all).not.toMatch(/building (stage|training)/);
  });

  describe.each([
    { engine: 'buildkit', podman: false },
    { engine: 'podman', podman: true },
  ])('on $engine', ({ engine, podman }) => {
    let store: PodmanStore | undefined;
    const env = (): NodeJS.ProcessEnv => (store ? store.env : {});
    const build = (withSecret: boolean) =>
      nx(
        [
          'run',
          `${project}:docker-build`,
          '--skip-nx-cache',
          `--engine=${engine}`,
          ...(podman ? [`--baseImage=${REGISTRY}/${OFFLINE_BASE}`] : []),
          // A secret is no part of a step's cache key: without the cache the install runs again, as on a fresh machine.
          ...(withSecret ? [] : ['--noCache']),
        ],
        {
          ...env(),
          [SECRET_ENV]: withSecret ? index.urlWithCredentials : '',
        },
        !withSecret,
      );
    const inEngine = (args: string[]) =>
      podman ? store!.podman(args) : docker(args);

    beforeAll(async () => {
      if (podman) {
        await ensureBaseInRegistry();
        store = new PodmanStore(id);
      }
    });
    afterAll(() => store?.dispose());

    it('installs the private package through the secret, and the image imports it', async () => {
      const before = await index.requests();
      build(true);
      expect((await index.requests()).authorized).toBeGreaterThan(
        before.authorized,
      );
      const image = recorded()[0];
      const out = inEngine([
        'run',
        '--rm',
        '--network',
        'none',
        '--entrypoint',
        'python',
        `${image.name}:${image.tags[0]}`,
        '-c',
        'import ml_private_utils; print(ml_private_utils.GREETING)',
      ]);
      expect(out.stdout.trim()).toBe(GREETING);
    });

    it('leaves the token in no image, cache image, history, record, Nx cache or output after docker-push', async () => {
      nx(['run', `${project}:docker-push`, '--excludeTaskDependencies'], env());
      const pushed = recorded()[0];
      expect(pushed.cache?.mode).toBe(podman ? 'podman' : 'inline-stages');
      expect(
        await leaks(
          (ref) =>
            inEngine([
              'history',
              '--no-trunc',
              '--format',
              '{{.CreatedBy}}',
              ref,
            ]).stdout,
        ),
      ).toEqual([]);
    });

    it('without the secret, fails with one line naming the missing secret', () => {
      const r = build(false);
      expectFailure(r, 'build.secret-missing');
      expect(r.all).toContain(
        `build secret pip-index-url: ${SECRET_ENV} is not set; building without it.`,
      );
    });
  });

  it('finds a token passed the old way, as a build arg (the search can fail)', async () => {
    // What the plugin did before build secrets: the URL as a build arg of the builder stage.
    // A repository of its own: the other checks never see it.
    const canary = `${REGISTRY}/${repository}-canary/canary:leaky`;
    const context = join(dir, 'canary');
    mkdirSync(context);
    writeFileSync(
      join(context, 'Dockerfile'),
      `FROM ${OFFLINE_BASE}\nARG PIP_EXTRA_INDEX_URL\nRUN echo installing > /tmp/done\n`,
    );
    docker(
      [
        'build',
        '--tag',
        canary,
        '--build-arg',
        `PIP_EXTRA_INDEX_URL=${index.urlWithCredentials}`,
        context,
      ],
      { env: { DOCKER_BUILDKIT: '1' } },
    );
    docker(['push', canary]);
    const found = (await registryContents(`${repository}-canary`, baseLayers))
      .filter((p) => p.text.includes(token))
      .map((p) => p.where);
    expect(found).toEqual([`${repository}-canary/canary@leaky config`]);
  });
});
