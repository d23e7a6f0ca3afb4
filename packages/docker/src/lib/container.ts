/**
 * Containers this process starts, and the promise that each is removed: on
 * success, failure, timeout, and when nx is interrupted (SIGINT/SIGTERM).
 */
import { randomBytes } from 'node:crypto';
import { docker, resolveEngine } from './engine';
import { runDetached, runSync } from './process';

/** Label on every container the plugin starts, so a leak is easy to find: docker ps -a --filter label=ml-docker.owner */
export const OWNER_LABEL = 'ml-docker.owner';

const live = new Set<string>();
let client: string | undefined;
let handlersInstalled = false;

export function containerName(project: string, image: string): string {
  const safe = `${project}-${image}`
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-');
  return `mld-${safe.slice(0, 40)}-${randomBytes(4).toString('hex')}`;
}

function onSignal(signal: NodeJS.Signals): void {
  for (const name of live) {
    if (client) runSync(client, ['rm', '-f', '-v', name]);
    live.delete(name);
  }
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

// On Ctrl-C nx signals the task's whole process tree, then kills it, which can
// cut the signal handler's `docker rm` short. So every container also gets a
// reaper started ahead of time, double-forked out of that tree: it waits for
// this process to end, however it ends, then removes the container (a no-op
// when the normal path already did). Arguments are positional: no quoting.
const REAPER =
  '( while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" rm -f -v "$3" ) </dev/null >/dev/null 2>&1 &';

/** Registers a container for removal if the process is interrupted or dies. Call before `docker run`. */
export async function track(name: string): Promise<void> {
  client = (await resolveEngine()).client;
  live.add(name);
  runDetached('/bin/sh', [
    '-c',
    REAPER,
    'ml-docker-reaper',
    String(process.pid),
    client,
    name,
  ]);
  if (!handlersInstalled) {
    handlersInstalled = true;
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
}

export async function removeContainer(name: string): Promise<void> {
  await docker(['rm', '-f', '-v', name], { timeoutMs: 30_000 });
  live.delete(name);
}

export async function lastLogLines(name: string, n = 30): Promise<string> {
  const r = await docker(['logs', '--tail', String(n), name], {
    timeoutMs: 10_000,
  });
  return (r.all || '').trim();
}

export interface ContainerState {
  status: string;
  running: boolean;
  exitCode: number;
  health?: string;
  oomKilled: boolean;
}

export async function containerState(
  name: string,
): Promise<ContainerState | undefined> {
  const r = await docker(
    ['container', 'inspect', '--format', '{{json .State}}', name],
    { timeoutMs: 10_000 },
  );
  if (r.exitCode !== 0) return undefined;
  const s = JSON.parse(r.stdout);
  return {
    status: s.Status,
    running: Boolean(s.Running),
    exitCode: s.ExitCode,
    health: s.Health?.Status,
    oomKilled: Boolean(s.OOMKilled),
  };
}

/** The host port Docker picked for a container port published on 127.0.0.1. */
export async function publishedPort(
  name: string,
  containerPort: number,
): Promise<number | undefined> {
  const r = await docker(['port', name, `${containerPort}/tcp`], {
    timeoutMs: 10_000,
  });
  const m = r.stdout.match(/127\.0\.0\.1:(\d+)/);
  return m ? Number(m[1]) : undefined;
}
