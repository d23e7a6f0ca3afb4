/**
 * The engine adapters: which client to call (Docker, with buildx, the
 * engine's BuildKit or the classic builder; or Podman), how it builds, and
 * the exact command lines. Command construction is pure (`buildCommand`,
 * `registryFlags`) so it is unit-tested table-driven; everything else goes
 * through `process.run`. The engine is detected once per task and passed as
 * a value: nothing here is remembered between calls.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { BuildExecutorSchema } from '../executors/build/schema';
import type { BuildSecret } from './build-secrets';
import { fail } from './errors';
import { run, RunOptions, RunResult } from './process';

export type EngineKind = 'docker' | 'podman';
export type BuildMode = 'buildx' | 'buildkit' | 'classic' | 'podman';

export interface Engine {
  kind: EngineKind;
  /** Absolute path of the client used for every call. */
  client: string;
  /** Where the engine is: DOCKER_HOST, the default socket, or Podman's local store. */
  host: string;
  mode: BuildMode;
  clientVersion: string;
  serverVersion: string;
  /** buildx: the builder to use (--builder), and whether its driver can export cache. */
  builder?: string;
  buildxDriver?: string;
  /** Podman: --ulimit values every container gets (see podmanUlimits). */
  ulimits?: string[];
}

/** buildx drivers that can export cache (--cache-to); the default `docker` driver cannot. */
export const CACHE_EXPORTING_DRIVERS = [
  'docker-container',
  'remote',
  'kubernetes',
];

/** One engine build: the build options that pass straight through, and what the service decided. */
export interface BuildSpec extends Pick<
  BuildExecutorSchema,
  | 'buildArgs'
  | 'labels'
  | 'target'
  | 'platform'
  | 'pull'
  | 'noCache'
  | 'cacheFrom'
  | 'network'
> {
  context: string;
  dockerfile: string;
  tags: string[];
  cacheTo?: string[];
  iidFile?: string;
  /** Named by variable or file only: the value never is in the command line. */
  secrets?: BuildSecret[];
  /** Podman: the registries this build talks to are all loopback ones (plain HTTP). */
  insecureRegistries?: boolean;
}

export interface BuildCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
}

/** The flags every engine spells the same, in one order. */
function specArgs(spec: BuildSpec, pullFlag: string): string[] {
  const args = ['--file', spec.dockerfile];
  for (const tag of spec.tags) args.push('--tag', tag);
  for (const [k, v] of Object.entries(spec.buildArgs ?? {}))
    args.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of Object.entries(spec.labels ?? {}))
    args.push('--label', `${k}=${v}`);
  if (spec.target) args.push('--target', spec.target);
  if (spec.platform) args.push('--platform', spec.platform);
  if (spec.pull) args.push(pullFlag);
  if (spec.noCache) args.push('--no-cache');
  for (const ref of spec.cacheFrom ?? []) args.push('--cache-from', ref);
  for (const ref of spec.cacheTo ?? []) args.push('--cache-to', ref);
  // BuildKit (Docker 20.10's client too) and Podman 4.3 read both env= and src=.
  for (const s of spec.secrets ?? [])
    args.push(
      '--secret',
      `id=${s.id},${s.env ? `env=${s.env}` : `src=${s.src}`}`,
    );
  if (spec.network && spec.network !== 'default')
    args.push('--network', spec.network);
  return args;
}

export function buildCommand(
  engine: Pick<Engine, 'client' | 'mode' | 'builder' | 'ulimits'>,
  spec: BuildSpec,
): BuildCommand {
  if (engine.mode === 'podman') return podmanBuildCommand(engine, spec);
  const args: string[] =
    engine.mode === 'buildx' ? ['buildx', 'build', '--load'] : ['build'];
  if (engine.mode === 'buildx' && engine.builder)
    args.push('--builder', engine.builder);
  if (engine.mode !== 'classic') args.push('--progress=plain');
  args.push(...specArgs(spec, '--pull'));
  if (spec.iidFile) args.push('--iidfile', spec.iidFile);
  args.push(spec.context);
  // DOCKER_BUILDKIT selects the builder for clients without buildx; buildx ignores it.
  const env: Record<string, string> =
    engine.mode === 'buildx'
      ? {}
      : { DOCKER_BUILDKIT: engine.mode === 'buildkit' ? '1' : '0' };
  return { file: engine.client, args, env };
}

/**
 * Podman builds Docker-format images (the OCI format has no HEALTHCHECK and
 * Podman would drop it), keeps every layer (--layers) so a registry cache
 * can serve them, and talks plain HTTP only to loopback registries.
 */
function podmanBuildCommand(
  engine: Pick<Engine, 'client' | 'ulimits'>,
  spec: BuildSpec,
): BuildCommand {
  const args = ['build', '--layers', '--format', 'docker'];
  // RUN steps are containers too: the same limits (see runFlags).
  for (const u of engine.ulimits ?? []) args.push('--ulimit', u);
  args.push(...specArgs(spec, '--pull=always'));
  if (spec.insecureRegistries) args.push('--tls-verify=false');
  if (spec.iidFile) args.push('--iidfile', spec.iidFile);
  args.push(spec.context);
  return { file: engine.client, args, env: {} };
}

/** True for a registry (or an image reference's registry) on the loopback interface. */
export function isLoopbackRegistry(refOrRegistry: string): boolean {
  const host = refOrRegistry
    .split('/')[0]
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
  );
}

/**
 * Flags a pull or push of `ref` needs: Podman verifies TLS unless told not
 * to, which a plain-HTTP local registry needs; Docker already allows
 * loopback registries over HTTP.
 */
export function registryFlags(
  engine: Pick<Engine, 'kind'>,
  ref: string,
): string[] {
  return engine.kind === 'podman' && isLoopbackRegistry(ref)
    ? ['--tls-verify=false']
    : [];
}

/**
 * Flags every container the plugin runs needs. Podman gives containers
 * open-files and process limits (1048576 and more) above what a sandboxed
 * host or CI runner allows, and the container then fails to start ("error
 * setting rlimit type 7" / "type 6"); `--ulimit host` does not help, since
 * Podman raises its own limits first. The limits of the calling process
 * (processes capped at kernel.pid_max) are always allowed.
 */
export function runFlags(engine: Pick<Engine, 'kind' | 'ulimits'>): string[] {
  if (engine.kind !== 'podman') return [];
  return (engine.ulimits ?? []).flatMap((u) => ['--ulimit', u]);
}

/** `--ulimit` values from `ulimit -Hn`, `ulimit -Hu` and kernel.pid_max as a shell reports them. */
export function podmanUlimits(
  hardNofile: string,
  hardNproc: string,
  pidMax: string,
): string[] {
  const limits: string[] = [];
  const n = parseInt(hardNofile, 10);
  if (Number.isFinite(n) && n > 0) limits.push(`nofile=${n}:${n}`);
  const candidates = [hardNproc, pidMax]
    .map((v) => parseInt(v, 10))
    .filter((v) => Number.isFinite(v) && v > 0);
  if (candidates.length) {
    const p = Math.min(...candidates);
    limits.push(`nproc=${p}:${p}`);
  }
  return limits;
}

/** Dockerfile features that the classic builder rejects. */
export function needsBuildKit(dockerfileText: string): string | undefined {
  // Join continuation lines: flags often sit on the line after `RUN \`.
  const lines = dockerfileText.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  if (/^#\s*syntax\s*=/i.test(lines[0] ?? '')) return 'a "# syntax=" directive';
  for (const line of lines) {
    if (/^\s*RUN\s+(.*\s)?--mount[= ]/i.test(line)) return 'RUN --mount';
    if (/^\s*(COPY|ADD)\s+(.*\s)?--link\b/i.test(line)) return 'COPY --link';
    if (/^\s*(RUN|COPY)\s+.*<<-?\s*['"]?[A-Za-z_]+/i.test(line))
      return 'a heredoc';
  }
  return undefined;
}

/** Every executable named docker on PATH (then Debian's /usr/bin/docker), first match first. */
export function candidateClients(
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  if (env.ML_DOCKER_CLIENT) return [env.ML_DOCKER_CLIENT];
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  const seen = new Set<string>();
  const found: string[] = [];
  for (const file of [
    ...dirs.map((d) => join(d, 'docker')),
    '/usr/bin/docker',
  ]) {
    try {
      accessSync(file, constants.X_OK);
      if (!statSync(file).isFile()) continue;
      const real = realpathSync(file);
      if (seen.has(real)) continue;
      seen.add(real);
      found.push(file);
    } catch {
      // not there
    }
  }
  return found;
}

/** podman on PATH (or ML_DOCKER_PODMAN). */
export function podmanClient(
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (env.ML_DOCKER_PODMAN) return env.ML_DOCKER_PODMAN;
  for (const d of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const file = join(d, 'podman');
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not there
    }
  }
  return undefined;
}

const rank: Record<BuildMode, number> = {
  buildx: 3,
  buildkit: 2,
  classic: 1,
  podman: 0,
};

/**
 * The engine to use: `docker` (the best Docker client that reaches an
 * engine), `podman`, or `auto`: Docker when an engine answers, else Podman
 * when it is installed.
 */
export async function detectEngine(
  env: NodeJS.ProcessEnv = process.env,
  want: EngineKind | 'auto' = 'auto',
): Promise<Engine> {
  if (want === 'podman') return detectPodman(env);
  try {
    return await detectDocker(env);
  } catch (e) {
    const podman = want === 'auto' ? podmanClient(env) : undefined;
    if (!podman) throw e;
    return detectPodman(env);
  }
}

async function detectPodman(env: NodeJS.ProcessEnv): Promise<Engine> {
  const client = podmanClient(env);
  if (!client)
    fail(
      'engine "podman" was requested but podman is not installed (not on PATH). Install it (on Debian: apt-get install podman), set ML_DOCKER_PODMAN to its path, or set engine to "auto".',
    );
  const r = await run(client, ['version', '--format', '{{.Client.Version}}'], {
    timeoutMs: 20_000,
  });
  if (r.exitCode !== 0)
    fail(
      `podman at ${client} does not answer (${firstLine(r.stderr || r.spawnError || '') || `exit ${r.exitCode}`}). Check it with: podman info`,
    );
  const version = r.stdout.trim();
  const limits = await run(
    '/bin/sh',
    ['-c', 'ulimit -Hn; ulimit -Hu; cat /proc/sys/kernel/pid_max'],
    { timeoutMs: 5_000 },
  );
  const [nofile = '', nproc = '', pidMax = ''] = limits.stdout.split('\n');
  return {
    kind: 'podman',
    client,
    host: env.CONTAINER_HOST || 'local store',
    mode: 'podman',
    clientVersion: version,
    serverVersion: version,
    ulimits: podmanUlimits(nofile, nproc, pidMax),
  };
}

/**
 * Finds the Docker client and build mode: buildx when a client has it, else a
 * pre-23 client that drives the engine's BuildKit through DOCKER_BUILDKIT=1,
 * else the classic builder.
 */
async function detectDocker(env: NodeJS.ProcessEnv): Promise<Engine> {
  const clients = candidateClients(env);
  const host = env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  if (clients.length === 0) {
    fail(
      "No docker client found on PATH. Install Docker (on Debian: apt-get install docker.io) or set ML_DOCKER_CLIENT to the client's path.",
    );
  }
  let best: Engine | undefined;
  let lastError: RunResult | undefined;
  for (const client of clients) {
    const version = await run(
      client,
      ['version', '--format', '{{.Client.Version}}|{{.Server.Version}}'],
      {
        timeoutMs: 20_000,
      },
    );
    const [clientVersion = '', serverVersion = ''] = version.stdout
      .trim()
      .split('|');
    if (version.exitCode !== 0 || !serverVersion) {
      lastError = version;
      continue;
    }
    const buildx = await run(client, ['buildx', 'version'], {
      timeoutMs: 10_000,
    });
    const major = parseInt(clientVersion, 10);
    const mode: BuildMode =
      buildx.exitCode === 0
        ? 'buildx'
        : Number.isFinite(major) && major < 23
          ? 'buildkit'
          : 'classic';
    if (!best || rank[mode] > rank[best.mode])
      best = {
        kind: 'docker',
        client,
        host,
        mode,
        clientVersion,
        serverVersion,
      };
    if (mode === 'buildx') break;
  }
  if (!best) {
    const detail = firstLine(lastError?.stderr || lastError?.spawnError || '');
    fail(
      `Docker engine not reachable at ${host}${detail ? ` (${detail})` : ''}. Start it (sudo systemctl start docker, or run dockerd) or point DOCKER_HOST at a running engine.`,
    );
  }
  return best;
}

export function describeEngine(engine: Engine): string {
  if (engine.kind === 'podman')
    return `podman ${engine.clientVersion} (${engine.client}, ${engine.host})`;
  const how =
    engine.mode === 'buildx'
      ? `buildx${engine.builder ? ` (builder ${engine.builder}${engine.buildxDriver ? `, driver ${engine.buildxDriver}` : ''})` : engine.buildxDriver ? ` (driver ${engine.buildxDriver})` : ''}`
      : engine.mode === 'buildkit'
        ? "the engine's BuildKit (DOCKER_BUILDKIT=1)"
        : 'the classic builder (no BuildKit available)';
  return `engine ${engine.serverVersion} at ${engine.host}, client ${engine.client} ${engine.clientVersion}, building with ${how}`;
}

/**
 * The buildx builder a build uses (the `builder` option, else the current
 * one) and its driver: only some drivers can export a registry cache.
 */
export async function withBuildxBuilder(
  engine: Engine,
  builder?: string,
): Promise<Engine> {
  if (engine.mode !== 'buildx') {
    if (builder)
      fail(
        `The builder option names buildx builder "${builder}", but ${describeEngine(engine)}. Install docker buildx, or remove the builder option.`,
      );
    return engine;
  }
  const r = await run(
    engine.client,
    ['buildx', 'inspect', ...(builder ? [builder] : [])],
    { timeoutMs: 30_000 },
  );
  if (r.exitCode !== 0) {
    if (builder)
      fail(
        `buildx builder "${builder}" is not available (${firstLine(r.stderr || r.spawnError || '') || `exit ${r.exitCode}`}). Create it (docker buildx create --name ${builder} --driver docker-container) or fix the builder option.`,
      );
    return engine;
  }
  const driver = /^Driver:\s*(\S+)/m.exec(r.stdout)?.[1];
  return { ...engine, builder, buildxDriver: driver };
}

/** Runs the engine's client. */
export function docker(
  engine: Engine,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return run(engine.client, args, options);
}

export interface ImageInfo {
  id: string;
  size: number;
  repoTags: string[];
  repoDigests: string[];
  user: string;
  workingDir: string;
  exposedPorts: string[];
  healthcheck?: { test: string[]; timeoutNs?: number };
  cmd: string[];
  entrypoint: string[];
  labels: Record<string, string>;
  /** Diff IDs of the layers, bottom first. */
  layers: string[];
}

export async function inspectImage(
  engine: Engine,
  ref: string,
): Promise<ImageInfo | undefined> {
  const r = await docker(engine, ['image', 'inspect', ref]);
  if (r.exitCode !== 0) return undefined;
  const [raw] = JSON.parse(r.stdout);
  const c = raw.Config ?? {};
  return {
    // Podman prints the bare hex; records and registries use the sha256: form.
    id: raw.Id.startsWith('sha256:') ? raw.Id : `sha256:${raw.Id}`,
    size: raw.Size,
    repoTags: raw.RepoTags ?? [],
    repoDigests: raw.RepoDigests ?? [],
    user: c.User ?? '',
    workingDir: c.WorkingDir || '/',
    exposedPorts: Object.keys(c.ExposedPorts ?? {}),
    // Podman reports the HEALTHCHECK beside Config, not in it.
    healthcheck: (c.Healthcheck ?? raw.Healthcheck)?.Test
      ? {
          test: (c.Healthcheck ?? raw.Healthcheck).Test,
          timeoutNs: (c.Healthcheck ?? raw.Healthcheck).Timeout,
        }
      : undefined,
    cmd: c.Cmd ?? [],
    entrypoint: c.Entrypoint ?? [],
    labels: c.Labels ?? {},
    layers: raw.RootFS?.Layers ?? [],
  };
}

export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean) ?? ''
  );
}

export type RequestedBuildMode = 'auto' | BuildMode;

/** Which engine kind a build option asks for. */
export function engineKindFor(
  requested: RequestedBuildMode,
): EngineKind | 'auto' {
  return requested === 'podman'
    ? 'podman'
    : requested === 'auto'
      ? 'auto'
      : 'docker';
}

/** The build mode a build option asks for, on the engine that was found. */
export function withBuildMode(
  engine: Engine,
  requested: RequestedBuildMode,
): Engine {
  if (requested === 'auto' || requested === engine.mode) return engine;
  if (engine.kind === 'podman' || requested === 'podman')
    fail(
      `engine "${requested}" was requested but the engine found is ${describeEngine(engine)}. Set engine to "auto" to build with whichever engine answers.`,
    );
  if (requested === 'classic') return { ...engine, mode: 'classic' };
  if (requested === 'buildkit' && engine.mode === 'buildx')
    return { ...engine, mode: 'buildkit' };
  fail(
    `engine "${requested}" was requested but this machine only offers ${describeEngine(engine)}. Install buildx or a Docker client that supports BuildKit, or set engine to "auto".`,
  );
}
