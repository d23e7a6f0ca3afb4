/**
 * The engines besides the local Docker engine, each through the whole flow
 * on synth: Podman (a store of its own) and a remote dockerd over TCP (a
 * second engine with its own data root) build, test (healthy, ready, the
 * image's own HEALTHCHECK, non-root, the documented example and the smoke
 * requests, no container left, also after SIGINT during docker-test) and
 * push, the registry's config digests being the record's image IDs. Then
 * the failure modes these engines add.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageRecord } from '../../packages/docker/src/record/build-record';
import {
  buildRecord,
  exampleMonorepo,
  recordedImagesAt,
  removeImagesOf,
} from './support/example-monorepo';
import {
  ensureBaseInRegistry,
  PodmanStore,
  RemoteEngine,
  REGISTRY_BASE,
} from './support/engines';
import { expectFailure } from './support/failure-modes';
import {
  docker,
  pathWithout,
  registryManifest,
  run,
  statusOf,
  uniqueId,
  until,
} from './support/run';
import { freshWorkspace, NX_ENV, Workspace } from './support/workspace';

const LONG = 60 * 60_000;

function nx(
  ws: Workspace,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  allowFail = false,
) {
  return run(
    'npx',
    ['nx', ...args, ...(args[0] === 'run' ? ['--outputStyle=stream'] : [])],
    {
      cwd: ws.root,
      env: { ...NX_ENV, ...env },
      timeoutMs: LONG,
      allowFail,
    },
  );
}

/** nx in its own process group with these variables (nxInBackground passes this process's environment). */
function nxInBackgroundWith(
  ws: Workspace,
  args: string[],
  env: NodeJS.ProcessEnv,
) {
  const saved = Object.fromEntries(
    Object.keys(env).map((k) => [k, process.env[k]]),
  );
  Object.assign(process.env, env);
  try {
    return ws.nxInBackground(args);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Every tag of every recorded image is in the registry as exactly the recorded image. */
async function expectPushedAsRecorded(images: ImageRecord[]): Promise<void> {
  const found: string[] = [];
  const expected: string[] = [];
  for (const image of images) {
    const path = image.name.slice(image.registry.length + 1);
    for (const tag of image.tags) {
      expected.push(`${image.name}:${tag} ${image.imageId}`);
      found.push(
        `${image.name}:${tag} ${(await registryManifest(path, tag)).configDigest}`,
      );
    }
  }
  expect(found).toEqual(expected);
}

/** What docker-test of synth says when everything passes, whatever the engine (synth documents no request example: its smoke requests stand in). */
function expectSynthPassed(all: string): void {
  expect(all).toMatch(/@ml\/docker: training passed: exit 0 in [\d.]+ s/);
  expect(all).toMatch(/@ml\/docker: inference answered \/health with 200/);
  expect(all).toMatch(/@ml\/docker: inference ready \(\/ready 200\)/);
  expect(all).toContain("@ml/docker: inference's own HEALTHCHECK passes");
  expect(all).toContain('@ml/docker: inference: POST /predict → 200 ok');
  expect(all).toContain('@ml/docker: inference: POST /predict → 422 ok');
  expect(all).toMatch(
    /@ml\/docker: inference passed: healthy in \d+ ms, ready in \d+ ms/,
  );
}

/** A project whose service never answers: docker-test waits, and a signal can catch it. */
function stallingProject(ws: Workspace, repository: string): string {
  const project = `stall-${repository}`;
  ws.imageProject(
    `apps/${project}`,
    'never-answers',
    ['USER 10001:10001', 'EXPOSE 8000', 'CMD ["sleep", "600"]'],
    {
      'docker-build': {
        executor: '@ml/docker:build',
        options: { repository },
      },
      'docker-test': {
        executor: '@ml/docker:test',
        options: { service: { timeout: 600 } },
      },
    },
  );
  return project;
}

/** SIGINT to nx's process group while docker-test waits on the container: the container goes, nx fails. */
async function interruptDockerTest(
  ws: Workspace,
  project: string,
  env: NodeJS.ProcessEnv,
  owned: () => string[],
): Promise<void> {
  const nx = nxInBackgroundWith(
    ws,
    ['run', `${project}:docker-test`, '--excludeTaskDependencies'],
    { ...NX_ENV, ...env },
  );
  try {
    expect(await until(() => owned().length > 0, 120_000)).toBe(true);
    nx.signal('SIGINT');
    expect(await nx.exited).not.toBe(0);
    expect(await until(() => owned().length === 0, 30_000)).toBe(true);
  } finally {
    nx.stop();
  }
}

const nxJsonWith = (ws: Workspace, buildOptions: object) => {
  const path = join(ws.root, 'nx.json');
  const nxJson = JSON.parse(readFileSync(path, 'utf8'));
  Object.assign(nxJson.targetDefaults['docker-build'].options, buildOptions);
  writeFileSync(path, JSON.stringify(nxJson, null, 2));
};

describe('Podman builds, tests and pushes synth', () => {
  const repository = `e2e-${uniqueId('podman')}`;
  const store = new PodmanStore('engines');
  const env = { ...store.env, ML_DOCKER_BASE_IMAGE: REGISTRY_BASE };
  const owned = () => store.ownedContainers();
  let ws: Workspace;
  let stall: string;

  beforeAll(async () => {
    await ensureBaseInRegistry();
    ws = exampleMonorepo(repository);
    nxJsonWith(ws, { engine: 'podman' });
    stall = stallingProject(ws, repository);
    ws.commitAll('build with podman');
  });

  afterAll(() => {
    try {
      expect(store.containers()).toEqual([]);
    } finally {
      store.dispose();
      ws?.dispose();
    }
  });

  it(
    'nx run synth:docker-push: podman builds ml-base, ml-common and synth, trains, tests and pushes',
    async () => {
      expect(store.graphRoot()).toBe(join(store.dir, 'graph'));
      const r = nx(ws, ['run', 'synth:docker-push'], env);
      expect(r.all).toMatch(
        /@ml\/docker: podman 4\.\d+\.\d+ \(\/usr\/bin\/podman, local store\)/,
      );
      expectSynthPassed(r.all);
      const images = ['ml-base', 'ml-common', 'synth'].flatMap((p) =>
        buildRecord(ws.root, p)!,
      );
      expect(images.map((i) => [i.image, i.engine, i.builtWith])).toEqual(
        images.map((i) => [i.image, 'podman', 'podman']),
      );
      const synth = buildRecord(ws.root, 'synth')!;
      await expectPushedAsRecorded(synth);
      for (const image of synth) {
        // Podman's ID is the bare config digest; the record's is the sha256: form registries use.
        expect(
          `sha256:${store.podman(['image', 'inspect', '--format', '{{.Id}}', image.imageId]).stdout.trim()}`,
        ).toBe(image.imageId);
        expect(
          store
            .podman([
              'image',
              'inspect',
              '--format',
              '{{.Config.User}}',
              image.imageId,
            ])
            .stdout.trim(),
        ).toBe('10001:10001');
      }
      expect(store.containers()).toEqual([]);
    },
    LONG,
  );

  it(
    "SIGINT during podman's docker-test: the container is removed, nx fails",
    async () => {
      nx(ws, ['run', `${stall}:docker-build`], env);
      await interruptDockerTest(ws, stall, env, owned);
      expect(store.containers()).toEqual([]);
    },
    LONG,
  );
});

describe('a remote dockerd over TCP builds, tests and pushes synth', () => {
  const repository = `e2e-${uniqueId('remote')}`;
  let engine: RemoteEngine;
  let env: NodeJS.ProcessEnv;
  const owned = () => engine.ownedContainers();
  let ws: Workspace;
  let stall: string;

  beforeAll(async () => {
    await ensureBaseInRegistry();
    // A port of its own: the script's default (23750) may be someone else's engine.
    engine = await RemoteEngine.onFreePort();
    env = { ...engine.env, ML_DOCKER_BASE_IMAGE: REGISTRY_BASE };
    engine.startEmpty();
    ws = exampleMonorepo(repository);
    stall = stallingProject(ws, repository);
    ws.commitAll('a stalling service');
  });

  afterAll(() => {
    try {
      if (engine?.running()) expect(engine.contents().containers).toEqual([]);
    } finally {
      engine?.purge();
      removeImagesOf(repository);
      ws?.dispose();
    }
  });

  it(
    'nx run synth:docker-push with DOCKER_HOST=tcp://127.0.0.1:…: everything happens on that engine',
    async () => {
      expect(engine.contents()).toEqual({ images: [], containers: [] });
      const r = nx(ws, ['run', 'synth:docker-push'], env);
      expect(r.all).toContain(
        `@ml/docker: engine 20.10.24+dfsg1 at ${engine.host}, client /usr/bin/docker`,
      );
      expectSynthPassed(r.all);
      const synth = buildRecord(ws.root, 'synth')!;
      expect(synth.map((i) => i.engine)).toEqual(['docker', 'docker']);
      await expectPushedAsRecorded(synth);
      for (const image of synth) {
        // In the remote engine, not in the main one.
        expect(
          engine
            .docker(['image', 'inspect', '--format', '{{.Id}}', image.imageId])
            .stdout.trim(),
        ).toBe(image.imageId);
        expect(
          docker(['image', 'inspect', image.imageId], { allowFail: true })
            .status,
        ).not.toBe(0);
        expect(
          engine
            .docker([
              'image',
              'inspect',
              '--format',
              '{{.Config.User}}',
              image.imageId,
            ])
            .stdout.trim(),
        ).toBe('10001:10001');
      }
      expect(engine.contents().containers).toEqual([]);
    },
    LONG,
  );

  it(
    'SIGINT during docker-test on the remote engine: its container is removed, nx fails',
    async () => {
      nx(ws, ['run', `${stall}:docker-build`], env);
      await interruptDockerTest(ws, stall, env, owned);
      expect(engine.contents().containers).toEqual([]);
    },
    LONG,
  );
});

describe('failure modes of the other engines', () => {
  const id = uniqueId('engfail');
  const project = `eng-${id}`;
  const repository = `e2e-${id}`;
  const store = new PodmanStore('fail');
  const noPodman = pathWithout(['podman']);
  let ws: Workspace;
  let authDir: string;
  let authRegistry: ChildProcess | undefined;
  let authHost: string;

  const build = (target: string, env: NodeJS.ProcessEnv) =>
    nx(
      ws,
      ['run', `${project}:${target}`, '--excludeTaskDependencies'],
      env,
      true,
    );
  const noRecord = (outputPath: string) =>
    recordedImagesAt(ws.root, outputPath) === undefined;
  /** The executor's error lines: the user must get exactly one. */
  const errorLines = (r: { all: string }) =>
    r.all.split('\n').filter((l) => l.includes('@ml/docker:build: '));

  beforeAll(async () => {
    // A registry that wants a login, as in registry-auth.e2e.spec.ts.
    authDir = mkdtempSync(join(tmpdir(), 'ml-docker-engauth-'));
    const hash = run('python3', [
      '-W',
      'ignore',
      '-c',
      'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))',
      `pw-${id}`,
    ]).stdout.trim();
    writeFileSync(join(authDir, 'htpasswd'), `ml-ci:${hash}\n`);
    authHost = `127.0.0.1:${await closedPort()}`;
    writeFileSync(
      join(authDir, 'config.yml'),
      [
        'version: 0.1',
        'log: { level: warn }',
        `storage: { filesystem: { rootdirectory: ${join(authDir, 'storage')} } }`,
        `http: { addr: "${authHost}" }`,
        `auth: { htpasswd: { realm: ml-docker-e2e, path: ${join(authDir, 'htpasswd')} } }`,
        '',
      ].join('\n'),
    );
    authRegistry = spawn(
      'docker-registry',
      ['serve', join(authDir, 'config.yml')],
      { stdio: 'ignore' },
    );
    expect(
      await until(
        async () => (await statusOf(`http://${authHost}/v2/`)) === 401,
        15_000,
      ),
    ).toBe(true);

    ws = freshWorkspace();
    // FROM scratch: Podman needs no base image, and a COPY makes a layer to cache.
    ws.write(
      `apps/${project}/docker/app/Dockerfile`,
      ['FROM scratch', 'COPY marker.txt /marker.txt', ''].join('\n'),
    );
    ws.write(`apps/${project}/marker.txt`, `${id}\n`);
    const target = (executor: string, options: object) => ({
      executor: `@ml/docker:${executor}`,
      options,
    });
    ws.write(
      `apps/${project}/project.json`,
      JSON.stringify({
        name: project,
        root: `apps/${project}`,
        targets: {
          'build-podman': target('build', {
            repository,
            engine: 'podman',
            outputPath: `dist/podman/${project}`,
          }),
          'build-auto': target('build', {
            repository,
            outputPath: `dist/auto/${project}`,
          }),
          'build-private-cache': target('build', {
            repository: 'private',
            registry: authHost,
            engine: 'podman',
            outputPath: `dist/private/${project}`,
          }),
        },
      }),
    );
    ws.commitAll('a project for the engine failure modes');
  });

  afterAll(() => {
    authRegistry?.kill('SIGTERM');
    store.dispose();
    ws?.dispose();
    rmSync(noPodman, { recursive: true, force: true });
    if (authDir) rmSync(authDir, { recursive: true, force: true });
  });

  it('engine: podman without podman installed fails up front, saying how to get it', () => {
    const r = build('build-podman', { PATH: noPodman });
    expectFailure(r, 'build.podman-missing');
    expect(errorLines(r)).toHaveLength(1);
    expect(noRecord(`dist/podman/${project}`)).toBe(true);
    // ML_DOCKER_PODMAN naming no file: one line too, about that path.
    const named = build('build-podman', { ML_DOCKER_PODMAN: '/nonexistent' });
    expect(named.status).toBe(1);
    expect(errorLines(named)).toEqual([
      expect.stringMatching(
        /podman at \/nonexistent does not answer \(.*ENOENT.*\)\. Check it with: podman info/,
      ),
    ]);
  });

  it('a remote engine (DOCKER_HOST=tcp://127.0.0.1:<closed port>) that does not answer fails in one line', async () => {
    const host = `tcp://127.0.0.1:${await closedPort()}`;
    const r = build('build-auto', { DOCKER_HOST: host, PATH: noPodman });
    expectFailure(r, 'build.remote-engine-down');
    expect(r.all).toContain(`Docker engine not reachable at ${host} (`);
    expect(errorLines(r)).toHaveLength(1);
    expect(noRecord(`dist/auto/${project}`)).toBe(true);
  });

  it('a registry that refuses the cache push (a login needed, none given) fails the podman build', () => {
    const r = build('build-private-cache', store.env);
    expectFailure(r, 'build.cache-push-refused');
    expect(errorLines(r)).toHaveLength(1);
    expect(noRecord(`dist/private/${project}`)).toBe(true);
    expect(store.containers()).toEqual([]);
  });
});
