/**
 * Turns an engine's build log into the one line a user needs: which step
 * failed and why. Knows BuildKit's plain progress and the classic builder.
 */
export function explainBuildFailure(log: string): string {
  const lines = log.split(/\r?\n/).map((l) => l.replace(/\s+$/, ''));
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
    ? `step ${truncate(step, 160)}: ${truncate(reason, 300)}${hint}`
    : truncate(reason, 300);
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
