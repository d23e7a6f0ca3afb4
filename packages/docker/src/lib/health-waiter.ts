/**
 * Waits for a containerized server to answer on its health path, polling the
 * published port on 127.0.0.1 and watching the container so that an exit or
 * an unhealthy mark fails at once instead of at the timeout.
 */
export type WaitOutcome =
  | { ok: true; status: number; elapsedMs: number; attempts: number }
  | { ok: false; reason: string; elapsedMs: number; attempts: number };

export interface WaitOptions {
  url: string;
  timeoutMs: number;
  intervalMs: number;
  requestTimeoutMs?: number;
  /** Returns a reason to stop waiting (the container exited, was marked unhealthy), or undefined. */
  watch: () => Promise<string | undefined>;
  /** Status codes that count as healthy; default 200-299. */
  healthy?: (status: number) => boolean;
}

export async function waitForHealthy(o: WaitOptions): Promise<WaitOutcome> {
  const started = Date.now();
  const healthy = o.healthy ?? ((s: number) => s >= 200 && s < 300);
  let attempts = 0;
  let last = 'no answer yet';
  while (Date.now() - started < o.timeoutMs) {
    attempts++;
    const stop = await o.watch();
    if (stop)
      return {
        ok: false,
        reason: stop,
        elapsedMs: Date.now() - started,
        attempts,
      };
    try {
      const res = await fetch(o.url, {
        signal: AbortSignal.timeout(o.requestTimeoutMs ?? 1000),
      });
      await res.arrayBuffer();
      if (healthy(res.status))
        return {
          ok: true,
          status: res.status,
          elapsedMs: Date.now() - started,
          attempts,
        };
      last = `HTTP ${res.status}`;
    } catch (e) {
      last =
        (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    }
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
  return {
    ok: false,
    reason: `no healthy answer from ${o.url} within ${(o.timeoutMs / 1000).toFixed(0)} s (last: ${last})`,
    elapsedMs: Date.now() - started,
    attempts,
  };
}
