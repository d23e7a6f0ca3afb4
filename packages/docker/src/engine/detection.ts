/**
 * Which engine answers: the Docker client on PATH (with buildx, the engine's
 * BuildKit or the classic builder) or Podman, its versions and build mode,
 * and the build mode an option asks for. Run once per task.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fail } from '../errors/errors';
import { run, RunResult } from '../process/process';
import { BuildMode, Engine, EngineKind, firstLine } from './engine';

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
