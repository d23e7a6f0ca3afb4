/**
 * Waits for a containerized server to answer on its health path, polling the
 * published port on 127.0.0.1 and watching the container so that an exit or
 * an unhealthy mark fails at once instead of at the timeout.
 */
import { get } from 'node:http';

export interface Answer {
  status: number;
  body: string;
}

export type WaitOutcome =
  | { ok: true; status: number; elapsedMs: number; attempts: number }
  | {
      ok: false;
      reason: string;
      elapsedMs: number;
      attempts: number;
      /** The last answer the path gave, when it gave one. */
      last?: Answer;
    };

export interface WaitOptions {
  url: string;
  timeoutMs: number;
  intervalMs: number;
  requestTimeoutMs?: number;
  /** Returns a reason to stop waiting (the container exited, was marked unhealthy), or undefined. */
  watch: () => Promise<string | undefined>;
  /** Status codes that count as healthy; default 200-299. */
  healthy?: (status: number) => boolean;
  /**
   * Given an answer that is not healthy, returns a reason why waiting longer
   * cannot help (the app serves no such route), or undefined to keep polling.
   */
  conclusive?: (answer: Answer) => Promise<string | undefined>;
}

/** An answer as a failure names it: its status and the start of its body. */
export function describeAnswer(a: Answer): string {
  const said = a.body.replace(/\s+/g, ' ').trim().slice(0, 200);
  return said ? `HTTP ${a.status}: ${said}` : `HTTP ${a.status}`;
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
  let answer: Answer | undefined;
  const failed = (reason: string): WaitOutcome => ({
    ok: false,
    reason,
    elapsedMs: Date.now() - started,
    attempts,
    ...(answer ? { last: answer } : {}),
  });
  while (Date.now() - started < o.timeoutMs) {
    attempts++;
    const stop = await o.watch();
    if (stop) return failed(stop);
    let got: Answer | undefined;
    try {
      got = await httpAnswer(o.url, o.requestTimeoutMs ?? 1000);
    } catch (e) {
      last = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    }
    if (got) {
      if (healthy(got.status))
        return {
          ok: true,
          status: got.status,
          elapsedMs: Date.now() - started,
          attempts,
        };
      answer = got;
      last = describeAnswer(got);
      const verdict = await o.conclusive?.(got);
      if (verdict) return failed(verdict);
    }
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
  return failed(
    `no healthy answer from ${o.url} within ${(o.timeoutMs / 1000).toFixed(0)} s (last: ${last})`,
  );
}
