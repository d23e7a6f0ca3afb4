/**
 * Turns an engine's build log into the one line a user needs: which step
 * failed and why. The engines end a failed RUN with its exit code only
 * ("exit code: 2"); the cause is the step's own last words above it
 * (`BackendUnavailable: Cannot import 'poetry.core.masonry.api'`), so the
 * line carries both. Knows BuildKit's plain progress, Podman's STEP lines and
 * the classic builder.
 */
import { secretMountIds, secretRemedy } from './build-secrets';

interface FailedStep {
  step: string;
  output: string[];
  exitCode?: string;
}

export function explainBuildFailure(
  log: string,
  secretsGiven: readonly string[] = [],
): string {
  const lines = log
    .split(/\r?\n/)
    // eslint-disable-next-line no-control-regex
    .map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').replace(/\s+$/, ''));
  const failed =
    buildkitFailure(lines) ?? podmanFailure(lines) ?? classicFailure(lines);
  const cause = failed && lastWords(failed.output);
  if (failed && cause) {
    const code = failed.exitCode ? ` (exit code: ${failed.exitCode})` : '';
    // Only when the step got none of its secrets: with one given, a wrong value is likelier.
    const mounted = secretMountIds(failed.step);
    const missing = mounted.some((id) => secretsGiven.includes(id))
      ? []
      : mounted;
    const secretHint =
      missing.length && INDEX_MISS.test(cause)
        ? `; ${secretRemedy(missing)}`
        : '';
    return `step ${truncate(displayStep(failed.step), 160)}: ${truncate(cause, 300)}${code}${secretHint}`;
  }
  return engineReason(lines);
}

/** pip could not get a package from an index: what a missing private-index secret looks like. */
const INDEX_MISS =
  /No matching distribution|Could not find a version|\b40[13]\b|Unauthorized|Forbidden|Could not fetch URL/i;

/** BuildKit: the vertex that reports `#n ERROR:`, its name and its own output lines. */
function buildkitFailure(lines: string[]): FailedStep | undefined {
  const error = [...lines].reverse().find((l) => /^#\d+ ERROR: /.test(l));
  if (!error) return undefined;
  const n = error.match(/^#(\d+) /)![1];
  const name = lines
    .map((l) => l.match(new RegExp(`^#${n} (\\[[^\\]]+\\]\\s+.+)$`)))
    .find(Boolean);
  if (!name) return undefined;
  const output = lines
    .map((l) => l.match(new RegExp(`^#${n} \\d+\\.\\d+ ?(.*)$`)))
    .filter((m): m is RegExpMatchArray => Boolean(m))
    .map((m) => m[1]);
  return { step: name[1], output, exitCode: exitCodeIn(error) };
}

/** Podman: the last STEP before "Error: building at STEP …", and what it printed. */
function podmanFailure(lines: string[]): FailedStep | undefined {
  const end = lines.findIndex((l) => /^Error: building at STEP /.test(l));
  if (end < 0) return undefined;
  // A multi-stage build numbers its stages too: "[1/2] STEP 13/13: RUN …".
  const stepLine = /^(\[\d+\/\d+\] )?STEP \d+\/\d+: /;
  const start = lastIndex(lines.slice(0, end), (l) => stepLine.test(l));
  if (start < 0) return undefined;
  return {
    step: lines[start].replace(stepLine, ''),
    output: lines.slice(start + 1, end),
    exitCode: lines[end].match(/exit status (\d+)\s*$/)?.[1],
  };
}

/** The classic builder: the last "Step n/m : …" and its lines up to "returned a non-zero code". */
function classicFailure(lines: string[]): FailedStep | undefined {
  const end = lines.findIndex((l) =>
    /^The command '.*' returned a non-zero code: \d+$/.test(l),
  );
  if (end < 0) return undefined;
  const start = lastIndex(lines.slice(0, end), (l) =>
    /^Step \d+\/\d+ : /.test(l),
  );
  if (start < 0) return undefined;
  return {
    step: lines[start].replace(/^Step \d+\/\d+ : /, ''),
    output: lines
      .slice(start + 1, end)
      .filter((l) => !/^ ---> |^Removing intermediate container /.test(l)),
    exitCode: exitCodeIn(lines[end]),
  };
}

/** Lines that close a failure without saying what failed. */
const NOISE = [
  /^\[notice\]/,
  /^note: This error originates from a subprocess/,
  /^hint: /,
  /^[│╰─>×|\s]*(exit code: \d+|See above for (the )?output\.?|[~^]+)?$/,
];

/** The last line of a step's output that says something. */
function lastWords(output: string[]): string | undefined {
  return [...output]
    .reverse()
    .map((l) => l.trim())
    .find((l) => l && !NOISE.some((re) => re.test(l)));
}

function exitCodeIn(line: string): string | undefined {
  return line.match(/(?:exit code|non-zero code): (\d+)/)?.[1];
}

/** Secret mounts make a RUN long and say nothing of why it failed. */
function displayStep(step: string): string {
  return step.replace(/--mount=\S+\s+/g, '');
}

/** No step output to go by (parse errors, missing files, registry errors): the engine's own words. */
function engineReason(lines: string[]): string {
  let step: string | undefined;
  for (const line of lines) {
    const buildkit = line.match(/^\s*>\s*(\[[^\]]+\]\s+.+?):?$/);
    if (buildkit) step = buildkit[1];
    const classic = line.match(/^Step \d+\/\d+ : (.+)$/);
    if (classic) step = classic[1];
  }
  const reason =
    [...lines]
      .reverse()
      .map((l) => l.replace(/^#\d+\s+[\d.]+\s*/, '').trim())
      .find((l) =>
        /(error|failed to solve|returned a non-zero code|exit code|not found|no such file|unknown instruction|parse error)/i.test(
          l,
        ),
      ) ??
    lines.filter(Boolean).pop() ??
    'no output';
  const hint =
    step &&
    /^\[[^\]]*\]\s+(COPY|ADD)\b|^(COPY|ADD)\b/i.test(step) &&
    /not found|no such file/i.test(reason)
      ? ' (a file the Dockerfile copies is missing from the build context or excluded by .dockerignore)'
      : '';
  return step
    ? `step ${truncate(displayStep(step), 160)}: ${truncate(reason, 300)}${hint}`
    : truncate(reason, 300);
}

function lastIndex<T>(items: T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i])) return i;
  return -1;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
