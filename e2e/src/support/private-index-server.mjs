// A private Python package index (PEP 503 "simple" API) on 127.0.0.1 that
// demands HTTP basic auth on every request, as a team's index behind a token
// does. It serves the wheels in one folder. It runs as its own process: the
// suites drive nx synchronously, which would starve an in-process server.
// Usage: node private-index-server.mjs WHEEL_DIR USER PASSWORD
// (prints its base URL on the first line; the index is at <url>/simple/)
// GET /requests answers the count of authorized and refused requests, for the tests.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const [dir, user, password] = process.argv.slice(2);
const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const counts = { authorized: 0, refused: 0 };

/** PEP 503 names: lower case, runs of -_. as one -. */
const normalize = (name) => name.toLowerCase().replace(/[-_.]+/g, '-');
const wheels = () =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.whl'))
    .map((file) => ({ file, project: normalize(file.split('-')[0]) }));

const page = (title, links) =>
  `<!DOCTYPE html><html><head><title>${title}</title></head><body>\n${links.join('\n')}\n</body></html>\n`;

const server = createServer((req, res) => {
  const reply = (status, body, headers = {}) => {
    res.writeHead(status, { connection: 'close', ...headers });
    res.end(body);
  };
  if (req.url === '/requests')
    return reply(200, JSON.stringify(counts), {
      'content-type': 'application/json',
    });
  if (req.headers.authorization !== expected) {
    counts.refused++;
    return reply(401, 'login required', {
      'www-authenticate': 'Basic realm="private index"',
    });
  }
  counts.authorized++;
  const all = wheels();
  if (req.url === '/simple/')
    return reply(
      200,
      page(
        'Simple index',
        [...new Set(all.map((w) => w.project))].map(
          (p) => `<a href="/simple/${p}/">${p}</a>`,
        ),
      ),
      { 'content-type': 'text/html' },
    );
  const project = req.url?.match(/^\/simple\/([^/]+)\/$/);
  if (project) {
    const files = all.filter((w) => w.project === normalize(project[1]));
    if (!files.length) return reply(404, 'no such project');
    const links = files.map(({ file }) => {
      const sha = createHash('sha256')
        .update(readFileSync(join(dir, file)))
        .digest('hex');
      return `<a href="/files/${file}#sha256=${sha}">${file}</a>`;
    });
    return reply(200, page(`Links for ${project[1]}`, links), {
      'content-type': 'text/html',
    });
  }
  const file = req.url?.match(/^\/files\/([A-Za-z0-9_.+-]+\.whl)$/);
  if (file && all.some((w) => w.file === file[1]))
    return reply(200, readFileSync(join(dir, file[1])), {
      'content-type': 'application/octet-stream',
    });
  reply(404, 'not found');
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
