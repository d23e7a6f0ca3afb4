/**
 * The one way this plugin starts a process. Everything that talks to the
 * Docker engine, git or a credential helper goes through `run`, so unit tests
 * mock this module and assert the exact command lines.
 *
 * No shell is ever involved: arguments reach the program literally, so build
 * args, tags and labels holding spaces, quotes or `$(...)` stay inert.
 */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Show the output live on this process's stdout/stderr while capturing it. */
  stream?: boolean;
  /** Text written to the child's stdin (then closed). */
  input?: string;
  /** Kill the process after this many milliseconds. */
  timeoutMs?: number;
}

export interface RunResult {
  command: string;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as produced. */
  all: string;
  timedOut: boolean;
  /** Set when the program could not be started at all (e.g. ENOENT). */
  spawnError?: string;
}

type Execa = typeof import('execa').execa;
type ExecaSync = typeof import('execa').execaSync;
let loaded: { execa: Execa; execaSync: ExecaSync } | undefined;

// execa is ESM-only; tsc emits CommonJS, and Node >= 20.19 can require() ESM.
function execaModule(): { execa: Execa; execaSync: ExecaSync } {
  loaded ??= require('execa');
  return loaded!;
}

export async function run(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const { execa } = execaModule();
  const out = options.stream
    ? (['pipe', 'inherit'] as const)
    : ('pipe' as const);
  const result = await execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: true,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    stdout: out,
    stderr: out,
    all: true,
    reject: false,
    stripFinalNewline: true,
    timeout: options.timeoutMs,
    killSignal: 'SIGKILL',
  } as never);
  return toResult(result as unknown as ExecaLikeResult);
}

/**
 * Starts a process in its own session and does not wait for it: cleanup that
 * must outlive this process, whose whole tree nx may kill on Ctrl-C.
 */
export function runDetached(file: string, args: readonly string[]): void {
  const { execa } = execaModule();
  const child = execa(file, args, {
    detached: true,
    cleanup: false,
    stdio: 'ignore',
    reject: false,
  });
  child.unref();
}

/**
 * Synchronous variant, only for cleanup inside signal handlers where an
 * asynchronous call would never get to run.
 */
export function runSync(
  file: string,
  args: readonly string[],
  timeoutMs = 15_000,
): RunResult {
  const { execaSync } = execaModule();
  const result = execaSync(file, args, {
    reject: false,
    stdin: 'ignore',
    all: true,
    timeout: timeoutMs,
  });
  return toResult(result as unknown as ExecaLikeResult);
}

interface ExecaLikeResult {
  command: string;
  exitCode?: number;
  stdout?: unknown;
  stderr?: unknown;
  all?: unknown;
  timedOut?: boolean;
  failed?: boolean;
  code?: string;
  originalMessage?: string;
}

function toResult(r: ExecaLikeResult): RunResult {
  const text = (v: unknown) =>
    typeof v === 'string' ? v : Array.isArray(v) ? v.join('\n') : '';
  return {
    command: r.command,
    exitCode: r.exitCode,
    stdout: text(r.stdout),
    stderr: text(r.stderr),
    all: text(r.all),
    timedOut: Boolean(r.timedOut),
    spawnError:
      r.exitCode === undefined && !r.timedOut
        ? r.originalMessage || r.code
        : undefined,
  };
}
