/**
 * An OCI distribution registry in memory, for the promotion specs: blobs
 * linked per repository, cross-repository mounts, monolithic uploads checked
 * against their digest, manifests refused while a blob they name is missing
 * (as real registries do), optional Basic auth, and faults: an upload cut
 * after some bytes, for a given number of uploads.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';

export interface StoredManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface FakeRegistry {
  host: string;
  blobs: Map<string, Buffer>;
  /** repository -> digests linked into it */
  links: Map<string, Set<string>>;
  /** repository -> reference (tag or digest) -> manifest */
  manifests: Map<string, Map<string, StoredManifest>>;
  /** Every request as "METHOD path" (query left off). */
  log: string[];
  /** Bytes received in blob uploads. */
  uploadedBytes: number;
  faults: { cutUploadsAfter?: number; cuts: number };
  close(): Promise<void>;
}

const digestOf = (b: Buffer) =>
  `sha256:${createHash('sha256').update(b).digest('hex')}`;

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startFakeRegistry(
  options: { credentials?: string } = {},
): Promise<FakeRegistry> {
  const registry: Omit<FakeRegistry, 'host' | 'close'> = {
    blobs: new Map(),
    links: new Map(),
    manifests: new Map(),
    log: [],
    uploadedBytes: 0,
    faults: { cuts: 0 },
  };
  const linked = (repo: string) => {
    if (!registry.links.has(repo)) registry.links.set(repo, new Set());
    return registry.links.get(repo)!;
  };
  const manifestsOf = (repo: string) => {
    if (!registry.manifests.has(repo)) registry.manifests.set(repo, new Map());
    return registry.manifests.get(repo)!;
  };
  const expected = options.credentials
    ? `Basic ${Buffer.from(options.credentials).toString('base64')}`
    : undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://registry');
    const method = req.method ?? 'GET';
    registry.log.push(`${method} ${url.pathname}`);
    if (expected && req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' });
      return res.end();
    }
    if (url.pathname === '/v2/') return res.end('{}');
    let m = /^\/v2\/(.+)\/blobs\/uploads\/(.*)$/.exec(url.pathname);
    if (m && method === 'POST') {
      const [, repo] = m;
      const mount = url.searchParams.get('mount');
      const from = url.searchParams.get('from');
      if (mount && from && registry.links.get(from)?.has(mount)) {
        linked(repo).add(mount);
        res.writeHead(201, { 'docker-content-digest': mount });
        return res.end();
      }
      res.writeHead(202, {
        location: `/v2/${repo}/blobs/uploads/${randomUUID()}?state=x`,
      });
      return res.end();
    }
    if (m && method === 'PUT') {
      const [, repo] = m;
      const chunks: Buffer[] = [];
      let received = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        received += chunk.length;
        registry.uploadedBytes += chunk.length;
        const f = registry.faults;
        if (
          f.cutUploadsAfter !== undefined &&
          f.cuts > 0 &&
          received > f.cutUploadsAfter
        ) {
          f.cuts--;
          req.socket.destroy();
          return;
        }
        chunks.push(chunk);
      }
      const bytes = Buffer.concat(chunks);
      const digest = url.searchParams.get('digest')!;
      if (digestOf(bytes) !== digest) {
        res.writeHead(400);
        return res.end('{"errors":[{"code":"DIGEST_INVALID"}]}');
      }
      registry.blobs.set(digest, bytes);
      linked(repo).add(digest);
      res.writeHead(201, { 'docker-content-digest': digest });
      return res.end();
    }
    m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]+)$/.exec(url.pathname);
    if (m) {
      const [, repo, digest] = m;
      const bytes = registry.links.get(repo)?.has(digest)
        ? registry.blobs.get(digest)
        : undefined;
      if (!bytes) {
        res.writeHead(404);
        return res.end();
      }
      res.writeHead(200, { 'content-length': bytes.length });
      return res.end(method === 'HEAD' ? undefined : bytes);
    }
    m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const [, repo, ref] = m;
      const reference = decodeURIComponent(ref);
      if (method === 'PUT') {
        const bytes = await body(req);
        const parsed = JSON.parse(bytes.toString('utf8'));
        const missing = [parsed.config, ...(parsed.layers ?? [])]
          .filter(Boolean)
          .some((d: { digest: string }) => !linked(repo).has(d.digest));
        const missingChild = (parsed.manifests ?? []).some(
          (d: { digest: string }) => !manifestsOf(repo).has(d.digest),
        );
        if (missing || missingChild) {
          res.writeHead(400);
          return res.end('{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN"}]}');
        }
        const stored = {
          bytes,
          digest: digestOf(bytes),
          mediaType: String(req.headers['content-type']),
        };
        manifestsOf(repo).set(reference, stored);
        manifestsOf(repo).set(stored.digest, stored);
        res.writeHead(201, { 'docker-content-digest': stored.digest });
        return res.end();
      }
      const stored = registry.manifests.get(repo)?.get(reference);
      if (!stored) {
        res.writeHead(404);
        return res.end();
      }
      res.writeHead(200, {
        'content-type': stored.mediaType,
        'docker-content-digest': stored.digest,
        'content-length': stored.bytes.length,
      });
      return res.end(method === 'HEAD' ? undefined : stored.bytes);
    }
    m = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
    if (m) {
      const refs = [...(registry.manifests.get(m[1])?.keys() ?? [])];
      if (!refs.length) {
        res.writeHead(404);
        return res.end();
      }
      return res.end(
        JSON.stringify({ tags: refs.filter((r) => !r.startsWith('sha256:')) }),
      );
    }
    res.writeHead(404);
    res.end();
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    ...registry,
    host: `127.0.0.1:${port}`,
    get uploadedBytes() {
      return registry.uploadedBytes;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  } as FakeRegistry;
}

/** Pushes an image (config + layers) into the fake registry, as docker push would; returns its manifest. */
export function seedImage(
  registry: FakeRegistry,
  repo: string,
  tags: string[],
  layers: Buffer[],
  config: object = { architecture: 'amd64', os: 'linux' },
): StoredManifest & { configDigest: string } {
  const configBytes = Buffer.from(JSON.stringify(config));
  const descriptor = (b: Buffer, mediaType: string) => {
    const digest = digestOf(b);
    registry.blobs.set(digest, b);
    if (!registry.links.has(repo)) registry.links.set(repo, new Set());
    registry.links.get(repo)!.add(digest);
    return { mediaType, digest, size: b.length };
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: descriptor(configBytes, 'application/vnd.oci.image.config.v1+json'),
    layers: layers.map((l) =>
      descriptor(l, 'application/vnd.oci.image.layer.v1.tar+gzip'),
    ),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const stored = {
    bytes,
    digest: digestOf(bytes),
    mediaType: manifest.mediaType,
  };
  if (!registry.manifests.has(repo)) registry.manifests.set(repo, new Map());
  for (const ref of [...tags, stored.digest])
    registry.manifests.get(repo)!.set(ref, stored);
  return { ...stored, configDigest: manifest.config.digest };
}
