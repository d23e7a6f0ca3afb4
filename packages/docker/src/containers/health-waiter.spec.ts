import { createServer, Server } from 'node:http';
import { AddressInfo, createServer as createTcpServer } from 'node:net';
import { httpStatus, waitForHealthy } from './health-waiter';

/** A server on 127.0.0.1 answering each request with the next status of `statuses` (the last repeats). */
async function serve(
  statuses: number[],
): Promise<{ url: string; server: Server }> {
  let n = 0;
  const server = createServer((_req, res) => {
    res.statusCode = statuses[Math.min(n++, statuses.length - 1)];
    res.end('body');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`,
    server,
  };
}

describe('health waiter', () => {
  const servers: Array<{ close: (cb: () => void) => void }> = [];
  afterEach(async () => {
    await Promise.all(
      servers
        .splice(0)
        .map((s) => new Promise<void>((r) => s.close(() => r()))),
    );
  });

  it('polls until the health path answers 2xx, counting attempts', async () => {
    const { url, server } = await serve([503, 503, 200]);
    servers.push(server);
    const outcome = await waitForHealthy({
      url,
      timeoutMs: 5000,
      intervalMs: 10,
      watch: async () => undefined,
    });
    expect(outcome).toMatchObject({ ok: true, status: 200, attempts: 3 });
  });

  it('gives up at the timeout with the last status it saw', async () => {
    const { url, server } = await serve([500]);
    servers.push(server);
    const outcome = await waitForHealthy({
      url,
      timeoutMs: 300,
      intervalMs: 20,
      watch: async () => undefined,
    });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.reason).toMatch(
      /^no healthy answer from .* within 0 s \(last: HTTP 500: body\)$/,
    );
  });

  it('stops at once when the watcher reports the container gone', async () => {
    const { url, server } = await serve([503]);
    servers.push(server);
    const outcome = await waitForHealthy({
      url,
      timeoutMs: 60_000,
      intervalMs: 10,
      watch: async () => 'the container exited with code 3',
    });
    expect(outcome).toMatchObject({
      ok: false,
      reason: 'the container exited with code 3',
      attempts: 1,
    });
  });

  it.each<[string, number[], string | undefined, object]>([
    [
      'stops at the first answer the verdict calls conclusive, with that answer',
      [404],
      'the app serves no such route',
      {
        ok: false,
        reason: 'the app serves no such route',
        attempts: 1,
        last: { status: 404, body: 'body' },
      },
    ],
    [
      'keeps polling past answers the verdict leaves open',
      [404, 404, 200],
      undefined,
      { ok: true, status: 200, attempts: 3 },
    ],
  ])('%s', async (_label, statuses, verdict, expected) => {
    const { url, server } = await serve(statuses);
    servers.push(server);
    const judged: number[] = [];
    const outcome = await waitForHealthy({
      url,
      timeoutMs: 5000,
      intervalMs: 10,
      watch: async () => undefined,
      conclusive: async (answer) => {
        judged.push(answer.status);
        return verdict;
      },
    });
    expect(outcome).toMatchObject(expected);
    // Only answers that were not healthy are judged.
    expect(judged).toEqual(statuses.filter((st) => st !== 200));
  });

  it('keeps the last answer when the watcher stops the wait', async () => {
    const { url, server } = await serve([503]);
    servers.push(server);
    let polls = 0;
    const outcome = await waitForHealthy({
      url,
      timeoutMs: 5000,
      intervalMs: 10,
      watch: async () => (polls++ === 2 ? 'unhealthy' : undefined),
    });
    expect(outcome).toMatchObject({
      ok: false,
      reason: 'unhealthy',
      last: { status: 503, body: 'body' },
    });
  });

  it('reports a connection that is accepted then dropped at once, not at its timeout', async () => {
    // What Docker's port proxy does while the app is not listening yet. The
    // request timeout is far beyond Jest's 5 s: waiting for it fails the test.
    const dropper = createTcpServer((socket) => socket.destroy());
    await new Promise<void>((r) => dropper.listen(0, '127.0.0.1', r));
    servers.push(dropper);
    const port = (dropper.address() as AddressInfo).port;
    await expect(
      httpStatus(`http://127.0.0.1:${port}/health`, 60_000),
    ).rejects.toMatchObject({
      code: expect.stringMatching(/ECONNRESET|EPIPE/),
    });
  });
});
