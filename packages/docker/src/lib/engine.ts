/**
 * The engine adapter: which Docker client to call, how it builds, and the
 * exact command lines. Command construction is pure (`buildCommand`) so it is
 * unit-tested table-driven; everything else goes through `process.run`.
 */
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fail } from './errors';
import { run, RunOptions, RunResult } from './process';

export type BuildMode = 'buildx' | 'buildkit' | 'classic';

export interface Engine {
  /** Absolute path of the docker client used for every call. */
  client: string;
  /** Where the engine is: DOCKER_HOST, or the default socket. */
  host: string;
  mode: BuildMode;
  clientVersion: string;
  serverVersion: string;
}

export interface BuildSpec {
  context: string;
  dockerfile: string;
  tags: string[];
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  target?: string;
  platform?: string;
  pull?: boolean;
  noCache?: boolean;
  cacheFrom?: string[];
  iidFile?: string;
}

export interface BuildCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
}

export function buildCommand(
  engine: Pick<Engine, 'client' | 'mode'>,
  spec: BuildSpec,
): BuildCommand {
  const args: string[] =
    engine.mode === 'buildx' ? ['buildx', 'build', '--load'] : ['build'];
  if (engine.mode !== 'classic') args.push('--progress=plain');
  args.push('--file', spec.dockerfile);
  for (const tag of spec.tags) args.push('--tag', tag);
  for (const [k, v] of Object.entries(spec.buildArgs ?? {}))
    args.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of Object.entries(spec.labels ?? {}))
    args.push('--label', `${k}=${v}`);
  if (spec.target) args.push('--target', spec.target);
  if (spec.platform) args.push('--platform', spec.platform);
  if (spec.pull) args.push('--pull');
  if (spec.noCache) args.push('--no-cache');
  for (const ref of spec.cacheFrom ?? []) args.push('--cache-from', ref);
  if (spec.iidFile) args.push('--iidfile', spec.iidFile);
  args.push(spec.context);
  // DOCKER_BUILDKIT selects the builder for clients without buildx; buildx ignores it.
  const env: Record<string, string> =
    engine.mode === 'buildx'
      ? {}
      : { DOCKER_BUILDKIT: engine.mode === 'buildkit' ? '1' : '0' };
  return { file: engine.client, args, env };
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

const rank: Record<BuildMode, number> = { buildx: 3, buildkit: 2, classic: 1 };

/**
 * Finds the client and build mode: buildx when a client has it, else a
 * pre-23 client that drives the engine's BuildKit through DOCKER_BUILDKIT=1,
 * else the classic builder. Callers detect once per task and pass the result
 * down: nothing here is remembered between calls.
 */
export async function detectEngine(
  env: NodeJS.ProcessEnv = process.env,
): Promise<Engine> {
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
      best = { client, host, mode, clientVersion, serverVersion };
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
  const how =
    engine.mode === 'buildx'
      ? 'buildx'
      : engine.mode === 'buildkit'
        ? "the engine's BuildKit (DOCKER_BUILDKIT=1)"
        : 'the classic builder (no BuildKit available)';
  return `engine ${engine.serverVersion}, client ${engine.client} ${engine.clientVersion}, building with ${how}`;
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
    id: raw.Id,
    size: raw.Size,
    repoTags: raw.RepoTags ?? [],
    repoDigests: raw.RepoDigests ?? [],
    user: c.User ?? '',
    workingDir: c.WorkingDir || '/',
    exposedPorts: Object.keys(c.ExposedPorts ?? {}),
    healthcheck: c.Healthcheck?.Test
      ? { test: c.Healthcheck.Test, timeoutNs: c.Healthcheck.Timeout }
      : undefined,
    cmd: c.Cmd ?? [],
    entrypoint: c.Entrypoint ?? [],
    labels: c.Labels ?? {},
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

/** The build mode a build option asks for, on the engine that was found. */
export function withBuildMode(
  engine: Engine,
  requested: RequestedBuildMode,
): Engine {
  if (requested === 'auto' || requested === engine.mode) return engine;
  if (requested === 'classic') return { ...engine, mode: 'classic' };
  if (requested === 'buildkit' && engine.mode === 'buildx')
    return { ...engine, mode: 'buildkit' };
  fail(
    `engine "${requested}" was requested but this machine only offers ${describeEngine(engine)}. Install buildx or a Docker client that supports BuildKit, or set engine to "auto".`,
  );
}
