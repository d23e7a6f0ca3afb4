// An HTTP proxy in front of the local registry that breaks pushes on purpose:
// it cuts manifest uploads, cuts layer uploads midway, or slows them down, so
// the suites can interrupt a push at a known point. Its own process, like the
// remote cache server: the suites drive nx synchronously.
// Usage: node flaky-registry-proxy.mjs --port=N --upstream=127.0.0.1:5000
//          [--cut-manifest-puts=N] [--cut-blob-after=BYTES --blob-cuts=N]
//          [--throttle=BYTES_PER_SECOND]
// Prints its URL on the first line. GET /__proxy/stats answers the counters.
import { createServer, request } from 'node:http';

const arg = (name, fallback) => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : fallback;
};
const [upstreamHost, upstreamPort] = arg('upstream', '127.0.0.1:5000').split(':');
const cutManifestPuts = Number(arg('cut-manifest-puts', 0));
const cutBlobAfter = Number(arg('cut-blob-after', Infinity));
const blobCuts = Number(arg('blob-cuts', 0));
const throttle = Number(arg('throttle', 0));

const stats = { requests: 0, manifestCuts: 0, blobCuts: 0, blobBytes: 0 };

const server = createServer((req, res) => {
  if (req.url === '/__proxy/stats') {
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
    return res.end(JSON.stringify(stats));
  }
  stats.requests++;
  if (
    req.method === 'PUT' &&
    /\/manifests\//.test(req.url) &&
    stats.manifestCuts < cutManifestPuts
  ) {
    stats.manifestCuts++;
    // Mid-request, before any answer: the pusher sees the connection drop (EOF).
    return req.socket.destroy();
  }
  const blobUpload =
    (req.method === 'PATCH' || req.method === 'PUT') &&
    /\/blobs\/uploads\//.test(req.url);
  const upstream = request(
    {
      host: upstreamHost,
      port: Number(upstreamPort),
      method: req.method,
      path: req.url,
      // Host stays the proxy's, so the registry's upload URLs point back here.
      headers: req.headers,
    },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => req.socket.destroy());
  let sent = 0;
  let cut = false;
  req.on('data', (chunk) => {
    if (cut) return;
    if (blobUpload) {
      stats.blobBytes += chunk.length;
      sent += chunk.length;
      if (sent > cutBlobAfter && stats.blobCuts < blobCuts) {
        cut = true;
        stats.blobCuts++;
        upstream.destroy();
        return req.socket.destroy();
      }
      if (throttle > 0) {
        req.pause();
        setTimeout(() => req.resume(), (chunk.length / throttle) * 1000);
      }
    }
    if (!upstream.write(chunk)) {
      req.pause();
      upstream.once('drain', () => req.resume());
    }
  });
  req.on('end', () => {
    if (!cut) upstream.end();
  });
});

server.listen(Number(arg('port', 0)), '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
