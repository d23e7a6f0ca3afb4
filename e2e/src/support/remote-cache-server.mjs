// A small server implementing Nx's self-hosted remote cache API (the published
// OpenAPI spec: GET and PUT /v1/cache/{hash}, bearer token) on 127.0.0.1. It
// stands in for the S3/GCS bucket a team would use. It runs as its own process:
// the suites drive nx synchronously, which would starve an in-process server.
// Usage: node remote-cache-server.mjs TOKEN  (prints its URL on the first line)
// GET /stats answers {entries, hits, misses, stores}, for the tests.
import { createServer } from 'node:http';

const token = process.argv[2];
const entries = new Map();
const stats = { hits: 0, misses: 0, stores: 0 };

const server = createServer((req, res) => {
  const reply = (status, body = '', type = 'text/plain') => {
    // No keep-alive: the tests' client sits blocked between requests.
    res.writeHead(status, { 'content-type': type, connection: 'close' });
    res.end(body);
  };
  if (req.url === '/stats')
    return reply(
      200,
      JSON.stringify({ entries: entries.size, ...stats }),
      'application/json',
    );
  const m = req.url?.match(/^\/v1\/cache\/([A-Za-z0-9]+)$/);
  if (!m) return reply(404, 'not found');
  if (req.headers.authorization !== `Bearer ${token}`)
    return reply(401, 'missing or wrong access token');
  const hash = m[1];
  if (req.method === 'GET') {
    const entry = entries.get(hash);
    if (!entry) {
      stats.misses++;
      return reply(404, 'not found');
    }
    stats.hits++;
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': entry.length,
    });
    return res.end(entry);
  }
  if (req.method === 'PUT') {
    if (entries.has(hash))
      return reply(409, 'cannot override an existing record');
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      entries.set(hash, Buffer.concat(chunks));
      stats.stores++;
      reply(200);
    });
    return;
  }
  reply(405, 'method not allowed');
});

server.listen(0, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${server.address().port}`);
});
// Bounded life: never outlive a test run that forgot to stop it.
setTimeout(() => process.exit(0), 30 * 60_000).unref();
process.on('SIGTERM', () => server.close(() => process.exit(0)));
