/**
 * The engines beside the main Docker engine that the engine suites use: a
 * second dockerd reached over TCP on loopback (tools/toolchain/remote-engine.sh,
 * its own data root and bridge), and Podman stores of their own
 * (CONTAINERS_STORAGE_CONF naming a storage.conf with a temporary graphroot
 * and runroot, so a suite never touches the Podman images of anyone else);
 * plus readers for what a build says about its steps (BuildKit's plain
 * progress, Podman's STEP lines) and for an image's layers and history.
 */
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OWNER_LABEL } from '../../../packages/docker/src/names/names';
import {
  docker,
  REGISTRY,
  registryManifest,
  run,
  Ran,
  withFileLock,
} from './run';

const repoRoot = join(__dirname, '..', '..', '..');
const REMOTE_ENGINE = join(repoRoot, 'tools', 'toolchain', 'remote-engine.sh');

/** The offline base every suite builds ml-base on, and where the second engines pull it from. */
export const OFFLINE_BASE = 'ml-docker/python-offline:3.13-trixie';
export const REGISTRY_BASE = `${REGISTRY}/${OFFLINE_BASE}`;

/**
 * Makes sure the local registry holds the offline base (the second dockerd
 * and a fresh Podman store have no images and pull it from there). Pushed
 * from the main engine when missing.
 */
export async function ensureBaseInRegistry(): Promise<string> {
  const [path, tag] = OFFLINE_BASE.split(':');
  const present = async () =>
    (await registryManifest(path, tag)).status === 200;
  if (await present()) return REGISTRY_BASE;
  // Suites running at once would untag the base under each other's push.
  await withFileLock('ml-docker-e2e-base-push', async () => {
    if (await present()) return;
    docker(['tag', OFFLINE_BASE, REGISTRY_BASE]);
    try {
      docker(['push', REGISTRY_BASE], { timeoutMs: 20 * 60_000 });
    } finally {
      // rmi of a tag only untags while another tag names the image.
      docker(['rmi', REGISTRY_BASE], { allowFail: true });
    }
  });
  return REGISTRY_BASE;
}

/**
 * A port for a second engine of this run: free on 127.0.0.1 and with no data
 * root of the script's under it, so two runs of a suite (or another
 * engineer's engine on the script's default 23750) never share one.
 */
export async function freeEnginePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 23760 + Math.floor(Math.random() * 240);
    if (existsSync(`/var/lib/ml-docker/remote-engine-${port}`)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port for a second engine in 23760-23999');
}

/** A second dockerd on tcp://127.0.0.1:<port>, started and purged through the toolchain script. */
export class RemoteEngine {
  readonly host: string;
  constructor(readonly port: number) {
    this.host = `tcp://127.0.0.1:${port}`;
  }
  /** On a port of its own (see freeEnginePort). */
  static async onFreePort(): Promise<RemoteEngine> {
    return new RemoteEngine(await freeEnginePort());
  }
  private script(cmd: 'start' | 'stop' | 'purge' | 'status'): Ran {
    return run('bash', [REMOTE_ENGINE, cmd, String(this.port)], {
      allowFail: cmd === 'status',
      timeoutMs: 3 * 60_000,
    });
  }
  /** An engine with an EMPTY data root: purge (stop, delete the data root), then start. */
  startEmpty(): void {
    this.script('purge');
    this.script('start');
  }
  purge(): void {
    this.script('purge');
  }
  running(): boolean {
    return this.script('status').status === 0;
  }
  get env(): NodeJS.ProcessEnv {
    return { DOCKER_HOST: this.host };
  }
  docker(args: string[], opts: Parameters<typeof run>[2] = {}): Ran {
    return docker(args, { ...opts, env: { ...opts.env, ...this.env } });
  }
  /** Containers on this engine that the plugin started. */
  ownedContainers(): string[] {
    return this.docker(['ps', '-aq', '--filter', `label=${OWNER_LABEL}`])
      .stdout.split('\n')
      .filter(Boolean);
  }
  /** Every image (repository:tag, dangling ones as <none>) and every container on it. */
  contents(): { images: string[]; containers: string[] } {
    const lines = (r: Ran) => r.stdout.split('\n').filter(Boolean);
    return {
      images: lines(this.docker(['images', '-a', '--format', '{{.ID}}'])),
      containers: lines(this.docker(['ps', '-aq'])),
    };
  }
}

/**
 * A Podman store of its own: podman (and the plugin's podman calls, which
 * inherit the environment) use its graphroot and runroot while
 * CONTAINERS_STORAGE_CONF names its storage.conf. Libpod's database lives
 * under the graphroot too (static dir graphroot/libpod); only the tmp dir
 * (/run/libpod) is shared, so podman never "refreshes" after a new store.
 */
export class PodmanStore {
  readonly dir: string;
  readonly conf: string;
  constructor(label: string) {
    this.dir = mkdtempSync(join(tmpdir(), `ml-docker-podman-${label}-`));
    this.conf = join(this.dir, 'storage.conf');
    writeFileSync(
      this.conf,
      [
        '[storage]',
        'driver = "overlay"',
        `graphroot = "${join(this.dir, 'graph')}"`,
        `runroot = "${join(this.dir, 'run')}"`,
        '',
      ].join('\n'),
    );
  }
  get env(): NodeJS.ProcessEnv {
    return { CONTAINERS_STORAGE_CONF: this.conf };
  }
  podman(args: string[], opts: Parameters<typeof run>[2] = {}): Ran {
    return run('podman', args, {
      ...opts,
      env: { ...opts.env, ...this.env },
    });
  }
  /** The store podman reports: proves CONTAINERS_STORAGE_CONF is honoured. */
  graphRoot(): string {
    return this.podman([
      'info',
      '--format',
      '{{.Store.GraphRoot}}',
    ]).stdout.trim();
  }
  images(): string[] {
    return this.podman(['images', '-aq']).stdout.split('\n').filter(Boolean);
  }
  containers(): string[] {
    return this.podman(['ps', '-aq']).stdout.split('\n').filter(Boolean);
  }
  /** Containers in this store that the plugin started. */
  ownedContainers(): string[] {
    return this.podman(['ps', '-aq', '--filter', `label=${OWNER_LABEL}`])
      .stdout.split('\n')
      .filter(Boolean);
  }
  layersOf(ref: string): string[] {
    return JSON.parse(
      this.podman([
        'image',
        'inspect',
        '--format',
        '{{json .RootFS.Layers}}',
        ref,
      ]).stdout,
    );
  }
  /** Containers and images of this store only, its mounts, then the folder. */
  dispose(): void {
    this.podman(['rm', '-af'], { allowFail: true });
    this.podman(['rmi', '-af'], { allowFail: true });
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m) => m && m.startsWith(`${this.dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) run('umount', ['-l', m], { allowFail: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An image's layer diff IDs in the engine that DOCKER_HOST (env) names. */
export function layersOf(ref: string, env: NodeJS.ProcessEnv = {}): string[] {
  return JSON.parse(
    docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref], {
      env,
    }).stdout,
  );
}

/**
 * The instruction that made each layer (diff ID) of an image in the registry,
 * from its config blob's history (entries with empty_layer made none).
 */
export async function layerHistory(
  repositoryPath: string,
  tag: string,
): Promise<Array<{ diffId: string; createdBy: string }>> {
  const { configDigest } = await registryManifest(repositoryPath, tag);
  if (!configDigest)
    throw new Error(
      `${REGISTRY}/${repositoryPath}:${tag} is not in the registry`,
    );
  const res = await fetch(
    `http://${REGISTRY}/v2/${repositoryPath}/blobs/${configDigest}`,
  );
  const config = (await res.json()) as {
    rootfs: { diff_ids: string[] };
    history: Array<{ created_by?: string; empty_layer?: boolean }>;
  };
  const made = config.history.filter((h) => !h.empty_layer);
  if (made.length !== config.rootfs.diff_ids.length)
    throw new Error(
      `${repositoryPath}:${tag}: ${made.length} history entries with a layer, ${config.rootfs.diff_ids.length} layers`,
    );
  return made.map((h, i) => ({
    diffId: config.rootfs.diff_ids[i],
    createdBy: h.created_by ?? '',
  }));
}

export interface Step {
  /** "[builder 6/6] RUN …" (BuildKit) or "builder: RUN …" (Podman). */
  name: string;
  stage: string;
  instruction: string;
  cached: boolean;
}

export interface EngineBuild {
  /** The plugin's "building …" line that opened this build. */
  title: string;
  steps: Step[];
}

/**
 * The plugin's builds in an output, in order. The engine's log goes to
 * stderr and the plugin's "building …" lines to stdout, so a run's output
 * has them apart: each build is cut where the engine's log starts anew
 * (`start`), and paired with the plugin's n-th "building …" line.
 */
function byBuild(
  output: string,
  start: RegExp,
): Array<{ title: string; body: string[] }> {
  const titles = output
    .split('\n')
    .map((l) => /@ml\/docker: (building .*)$/.exec(l)?.[1])
    .filter((t): t is string => t !== undefined);
  const builds: Array<{ title: string; body: string[] }> = [];
  for (const line of output.split('\n')) {
    if (start.test(line))
      builds.push({
        title: titles[builds.length] ?? `build ${builds.length + 1}`,
        body: [],
      });
    builds[builds.length - 1]?.body.push(line);
  }
  return builds;
}

/**
 * BuildKit's plain progress: "#12 [builder 6/6] RUN …" opens a step and
 * "#12 CACHED" says it was taken from the cache, not run.
 */
export function buildKitSteps(output: string): EngineBuild[] {
  return byBuild(output, /#1 \[internal\] load build definition/).map(
    ({ title, body }) => {
      const steps = new Map<string, Step>();
      for (const line of body) {
        const open = /#(\d+) \[([^\]\s]+) (\d+\/\d+)\] (.*)$/.exec(line);
        if (open && !steps.has(open[1]))
          steps.set(open[1], {
            name: `[${open[2]} ${open[3]}] ${open[4].trim()}`,
            stage: open[2],
            instruction: open[4].trim(),
            cached: false,
          });
        const hit = /#(\d+) CACHED\s*$/.exec(line);
        if (hit && steps.has(hit[1])) steps.get(hit[1])!.cached = true;
      }
      return { title, steps: [...steps.values()] };
    },
  );
}

/**
 * Podman (buildah) prints "[2/3] STEP 6/11: RUN …" per step and
 * "--> Using cache <id>" when the step's layer came from the cache (its
 * own store, or pulled from --cache-from first: "--> Cache pulled from remote").
 */
export function podmanSteps(output: string): EngineBuild[] {
  return byBuild(output, /(?<!\] )STEP 1\/\d+: |\[1\/\d+\] STEP 1\/\d+: /).map(
    ({ title, body }) => {
      const steps: Step[] = [];
      const stageNames = new Map<string, string>();
      for (const line of body) {
        const open = /(?:\[(\d+)\/\d+\] )?STEP \d+\/\d+: (.*)$/.exec(line);
        if (open) {
          const index = open[1] ?? '1';
          const instruction = open[2].trim();
          const as = /^FROM \S+ AS (\S+)/i.exec(instruction);
          if (as) stageNames.set(index, as[1]);
          const stage = stageNames.get(index) ?? `stage ${index}`;
          steps.push({
            name: `${stage}: ${instruction}`,
            stage,
            instruction,
            cached: false,
          });
          continue;
        }
        if (/--> Using cache /.test(line) && steps.length)
          steps[steps.length - 1].cached = true;
      }
      return { title, steps };
    },
  );
}

/** The steps of a stage that do work (FROM only names the base). */
export const workSteps = (steps: Step[], stage: string) =>
  steps.filter((s) => s.stage === stage && !/^FROM /i.test(s.instruction));
