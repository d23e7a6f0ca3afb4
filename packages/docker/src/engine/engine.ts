/**
 * The engine as a value: which client, where, and in which build mode. It is
 * detected once per task (engine/detection) and passed down; nothing here is
 * remembered between calls. Every call to the client goes through `docker`,
 * which goes through process.run, the one way this plugin spawns.
 */
import { run, RunOptions, RunResult } from '../process/process';

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

/** Runs the engine's client. */
export function docker(
  engine: Engine,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return run(engine.client, args, options);
}

export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find(Boolean) ?? ''
  );
}
