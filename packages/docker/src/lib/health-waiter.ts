/**
 * Waits for a containerized server to answer on its health path, polling the
 * published port on 127.0.0.1 and watching the container so that an exit or
 * an unhealthy mark fails at once instead of at the timeout.
 */
import { get } from 'node:http';

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

/**
 * One GET, its status. node:http rather than fetch: while the app is not yet
 * listening, Docker's port proxy accepts the connection and then drops it;
 * node:http reports that at once, fetch only at its timeout, which made every
 * verdict about a second late.
 */
export function httpStatus(url: string, timeoutMs: number): Promise<number> {
  return httpAnswer(url, timeoutMs).then((a) => a.status);
}

/**
 * One GET: its status and the start of its body, which says why an answer
 * was not healthy (a readiness route's {"ready": false, "reason": ...}).
 */
export function httpAnswer(
  url: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 2000) body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
    );
    req.on('error', reject);
  });
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
      const { status, body } = await httpAnswer(
        o.url,
        o.requestTimeoutMs ?? 1000,
      );
      if (healthy(status))
        return { ok: true, status, elapsedMs: Date.now() - started, attempts };
      const said = body.replace(/\s+/g, ' ').trim().slice(0, 200);
      last = said ? `HTTP ${status}: ${said}` : `HTTP ${status}`;
    } catch (e) {
      last = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
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
