/**
 * The containers one task starts, and the promise that each is removed: on
 * success, failure, timeout, and when nx is interrupted. The session belongs
 * to its caller (the test executor creates one per run); the executor
 * boundary calls `removeAllNow()` from its signal handler.
 */
import { randomBytes } from 'node:crypto';
import { docker, Engine } from '../engine/engine';
import { OWNER_LABEL } from '../names/names';
import { runDetached, runSync } from '../process/process';

export function containerName(project: string, image: string): string {
  const safe = `${project}-${image}`
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-');
  return `mld-${safe.slice(0, 40)}-${randomBytes(4).toString('hex')}`;
}

/** `--label` arguments every container the plugin starts carries. */
export function ownerLabelArgs(purpose: string): string[] {
  return ['--label', `${OWNER_LABEL}=${purpose}`];
}

// On Ctrl-C nx signals the task's whole process tree, then kills it, which can
// cut the signal handler's `docker rm` short. So every container also gets a
// reaper started ahead of time, double-forked out of that tree: it waits for
// this process to end, however it ends, then removes the container (a no-op
// when the normal path already did). Arguments are positional: no quoting.
const REAPER =
  '( while kill -0 "$1" 2>/dev/null; do sleep 1; done; "$2" rm -f -v "$3" ) </dev/null >/dev/null 2>&1 &';

export class ContainerSession {
  private readonly live = new Set<string>();

  constructor(readonly engine: Engine) {}

  /** Registers a container for removal if the process is interrupted or dies. Call before `docker run`. */
  track(name: string): void {
    this.live.add(name);
    runDetached('/bin/sh', [
      '-c',
      REAPER,
      'ml-docker-reaper',
      String(process.pid),
      this.engine.client,
      name,
    ]);
  }

  async remove(name: string): Promise<void> {
    await docker(this.engine, ['rm', '-f', '-v', name], { timeoutMs: 30_000 });
    this.live.delete(name);
  }

  /** Synchronous: a signal handler gets no second turn of the event loop. */
  removeAllNow(): void {
    for (const name of this.live) {
      runSync(this.engine.client, ['rm', '-f', '-v', name]);
      this.live.delete(name);
    }
  }

  async lastLogLines(name: string, n = 30): Promise<string> {
    const r = await docker(this.engine, ['logs', '--tail', String(n), name], {
      timeoutMs: 10_000,
    });
    return (r.all || '').trim();
  }

  async state(name: string): Promise<ContainerState | undefined> {
    const r = await docker(
      this.engine,
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

  /** The host port the engine picked for a container port published on 127.0.0.1. */
  async publishedPort(
    name: string,
    containerPort: number,
  ): Promise<number | undefined> {
    const r = await docker(
      this.engine,
      ['port', name, `${containerPort}/tcp`],
      { timeoutMs: 10_000 },
    );
    const m = r.stdout.match(/127\.0\.0\.1:(\d+)/);
    return m ? Number(m[1]) : undefined;
  }
}

export interface ContainerState {
  status: string;
  running: boolean;
  exitCode: number;
  health?: string;
  oomKilled: boolean;
}
