/**
 * Registry-to-registry copy of one image by digest, on the OCI distribution
 * API alone: no engine, no layer on this machine's disk. Blobs first (the
 * destination's HEAD skips what it has; the same registry mounts across
 * repositories; another registry gets each blob streamed from the source,
 * its digest checked on the way), then the manifests by digest, then the
 * tags last: a copy cut anywhere leaves no tag at the destination, and a
 * rerun finds what already arrived and completes it.
 */
import { logger } from '@nx/devkit';
import { createHash } from 'node:crypto';
import { fail, UserFacingError } from '../errors/errors';
import { backoffMs } from '../registry/push-service';
import {
  MANIFEST_TYPES,
  RegistryClient,
  RegistryUnreachableError,
} from '../registry/registry-client';

export interface Repository {
  client: RegistryClient;
  /** The repository's path inside the registry, e.g. acme-prod/ml/synth-inference. */
  path: string;
}

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  urls?: string[];
}

export interface Manifest {
  digest: string;
  mediaType: string;
  /** The manifest's bytes exactly as the source serves them: their hash is the digest. */
  bytes: Buffer;
  config?: Descriptor;
  layers: Descriptor[];
  /** An index's (manifest list's) images. */
  manifests: Descriptor[];
}

export interface CopyStats {
  blobsMounted: number;
  blobsCopied: number;
  blobsPresent: number;
  bytesCopied: number;
  manifestsPut: number;
  manifestsPresent: number;
  tagsPut: number;
  tagsPresent: number;
}

export function emptyStats(): CopyStats {
  return {
    blobsMounted: 0,
    blobsCopied: 0,
    blobsPresent: 0,
    bytesCopied: 0,
    manifestsPut: 0,
    manifestsPresent: 0,
    tagsPut: 0,
    tagsPresent: 0,
  };
}

export interface CopyOptions {
  /** Attempts per blob, manifest and tag for transient failures. */
  retries: number;
  /** How long one blob may take to stream. */
  blobTimeoutMs?: number;
  /** Waits between attempts; tests pass a short one. */
  backoff?: (attempt: number) => number;
}

/** A status worth retrying: the registry is there but could not serve now. */
class TransientStatusError extends UserFacingError {}

const BLOB_TIMEOUT_MS = 60 * 60_000;

export function sha256(bytes: Buffer | Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function assertSha256(digest: string): void {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest))
    fail(
      `Digest ${digest} is not a sha256 digest: only sha256 content is copied. Push the image with a current engine, then promote.`,
    );
}

function transient(res: Response, repo: Repository, what: string): void {
  if (res.status >= 500 || res.status === 429)
    throw new TransientStatusError(
      `Registry ${repo.client.registry} answered HTTP ${res.status} for ${what}`,
    );
}

/** Fails for any status but the expected ones: a refused login with its fix, a 5xx as transient. */
function expectStatus(
  res: Response,
  repo: Repository,
  what: string,
  ok: number[],
): void {
  if (ok.includes(res.status)) return;
  transient(res, repo, what);
  repo.client.check(res, what);
  fail(
    `Registry ${repo.client.registry} answered HTTP ${res.status} for ${what}. Check the registry's logs and retry.`,
  );
}

/** The manifest a tag or digest names, as its bytes; undefined when there is none. */
export async function fetchManifest(
  repo: Repository,
  reference: string,
): Promise<Manifest | undefined> {
  const what = `${repo.path}:${reference}`;
  const res = await repo.client.send(
    `/v2/${repo.path}/manifests/${reference}`,
    { accept: MANIFEST_TYPES },
  );
  if (res.status === 404) return undefined;
  expectStatus(res, repo, what, [200]);
  const bytes = Buffer.from(await res.arrayBuffer());
  const digest = sha256(bytes);
  if (reference.startsWith('sha256:') && digest !== reference)
    fail(
      `Registry ${repo.client.registry} served ${repo.path}@${reference} with content whose digest is ${digest}. The registry's storage is damaged: do not promote from it.`,
    );
  const body = JSON.parse(bytes.toString('utf8')) as {
    mediaType?: string;
    config?: Descriptor;
    layers?: Descriptor[];
    manifests?: Descriptor[];
  };
  return {
    digest,
    mediaType:
      body.mediaType ??
      res.headers.get('content-type') ??
      'application/vnd.oci.image.manifest.v1+json',
    bytes,
    config: body.config,
    layers: body.layers ?? [],
    manifests: body.manifests ?? [],
  };
}

/** An index's child, which the registry must hold: the index names it. */
async function childManifest(
  repo: Repository,
  index: Manifest,
  child: Descriptor,
): Promise<Manifest> {
  return (
    (await fetchManifest(repo, child.digest)) ??
    fail(
      `${repo.path}@${index.digest} lists ${child.digest}, which registry ${repo.client.registry} does not hold. Push the image again, then promote.`,
    )
  );
}

/** Every image manifest a manifest stands for: itself, or an index's children. */
export async function imageManifests(
  repo: Repository,
  manifest: Manifest,
): Promise<Manifest[]> {
  if (!manifest.manifests.length) return [manifest];
  const children: Manifest[] = [];
  for (const child of manifest.manifests)
    children.push(
      ...(await imageManifests(
        repo,
        await childManifest(repo, manifest, child),
      )),
    );
  return children;
}

/**
 * Retries what failed for want of an answer (refused, reset, cut, 5xx);
 * an answer (401, 404, a bad digest) fails at once.
 */
export async function withRetries<T>(
  what: string,
  options: CopyOptions,
  body: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await body();
    } catch (e) {
      const retriable =
        e instanceof RegistryUnreachableError ||
        e instanceof TransientStatusError;
      if (!retriable) throw e;
      const reason = (e as Error).message.split(/\.\s/)[0];
      if (attempt >= options.retries)
        fail(
          `Promoting ${what} failed after ${attempt} attempt(s): ${reason}. Check that both registries are up, then rerun: nothing is tagged at the destination until the image is complete, and what arrived is kept.`,
        );
      const wait = (options.backoff ?? backoffMs)(attempt);
      logger.warn(
        `@ml/docker: copying ${what} failed (${reason}); retrying in ${wait / 1000} s (${attempt}/${options.retries})`,
      );
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** The upload URL a started upload answered with, absolute. */
function uploadUrl(res: Response, repo: Repository, digest: string): string {
  const location = res.headers.get('location');
  if (!location)
    fail(
      `Registry ${repo.client.registry} started an upload to ${repo.path} without saying where to send it (no Location header). Check the registry.`,
    );
  const url = new URL(location, `${new URL(res.url).origin}/`);
  url.searchParams.set('digest', digest);
  return url.toString();
}

/** The blob's bytes as they pass, hashed; `verdict()` says whether they were the digest's. */
function hashing(body: ReadableStream<Uint8Array>) {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hash.update(chunk);
        bytes += chunk.length;
        controller.enqueue(chunk);
      },
    }),
  );
  return {
    stream,
    verdict: () => ({ digest: `sha256:${hash.digest('hex')}`, bytes }),
  };
}

export async function copyBlob(
  from: Repository,
  to: Repository,
  blob: Descriptor,
  stats: CopyStats,
  options: CopyOptions,
): Promise<void> {
  assertSha256(blob.digest);
  const what = `blob ${blob.digest.slice(0, 19)} of ${to.path}`;
  const head = await to.client.send(`/v2/${to.path}/blobs/${blob.digest}`, {
    method: 'HEAD',
  });
  if (head.ok) {
    stats.blobsPresent++;
    return;
  }
  expectStatus(head, to, what, [404]);
  let started: Response;
  if (from.client.host === to.client.host) {
    // Same registry: it links the blob it holds into the other repository.
    started = await to.client.send(
      `/v2/${to.path}/blobs/uploads/?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(from.path)}`,
      { method: 'POST' },
    );
    expectStatus(started, to, what, [201, 202]);
    if (started.status === 201) {
      stats.blobsMounted++;
      return;
    }
  } else {
    started = await to.client.send(`/v2/${to.path}/blobs/uploads/`, {
      method: 'POST',
    });
    expectStatus(started, to, what, [202]);
  }
  const target = uploadUrl(started, to, blob.digest);
  const timeoutMs = options.blobTimeoutMs ?? BLOB_TIMEOUT_MS;
  const source = await from.client.send(
    `/v2/${from.path}/blobs/${blob.digest}`,
    { timeoutMs },
  );
  expectStatus(source, from, `blob ${blob.digest} of ${from.path}`, [200]);
  if (!source.body)
    fail(
      `Registry ${from.client.registry} sent no body for blob ${blob.digest}. Check the registry.`,
    );
  const { stream, verdict } = hashing(source.body);
  let put: Response | undefined;
  let cut: unknown;
  try {
    put = await to.client.send(target, {
      method: 'PUT',
      body: stream,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(blob.size),
      },
      timeoutMs,
    });
  } catch (e) {
    cut = e;
  } finally {
    await source.body.cancel().catch(() => undefined);
  }
  const got = verdict();
  // Checked before the cut is reported: a source serving other bytes is no blip to retry.
  if (got.bytes === blob.size && got.digest !== blob.digest)
    fail(
      `Registry ${from.client.registry} served blob ${blob.digest} of ${from.path} with content whose digest is ${got.digest}. Its storage is damaged: do not promote from it.`,
    );
  if (cut || !put) throw cut;
  expectStatus(put, to, what, [201, 204]);
  stats.blobsCopied++;
  stats.bytesCopied += got.bytes;
}

/** A manifest at the destination under `reference` (its digest or a tag), unless it is there already. */
async function putManifest(
  to: Repository,
  manifest: Manifest,
  reference: string,
): Promise<boolean> {
  const path = `/v2/${to.path}/manifests/${reference}`;
  const head = await to.client.send(path, {
    method: 'HEAD',
    accept: MANIFEST_TYPES,
  });
  if (head.ok && head.headers.get('docker-content-digest') === manifest.digest)
    return false;
  expectStatus(head, to, `${to.path}:${reference}`, [200, 404]);
  const put = await to.client.send(path, {
    method: 'PUT',
    headers: { 'content-type': manifest.mediaType },
    body: new Uint8Array(manifest.bytes),
  });
  expectStatus(put, to, `the manifest ${to.path}:${reference}`, [200, 201]);
  const landed = put.headers.get('docker-content-digest');
  if (landed && landed !== manifest.digest)
    fail(
      `Registry ${to.client.registry} stored ${to.path}:${reference} as ${landed}, not ${manifest.digest}: it rewrote the manifest. Promotion needs a registry that keeps manifests byte for byte.`,
    );
  return true;
}

/** Blobs, then manifests by digest (an index's children before it). */
async function copyTree(
  from: Repository,
  to: Repository,
  manifest: Manifest,
  stats: CopyStats,
  options: CopyOptions,
): Promise<void> {
  for (const child of manifest.manifests) {
    const m = await withRetries(`${from.path}@${child.digest}`, options, () =>
      childManifest(from, manifest, child),
    );
    await copyTree(from, to, m, stats, options);
  }
  const blobs = [
    ...(manifest.config ? [manifest.config] : []),
    ...manifest.layers.filter((l) => !l.urls?.length),
  ];
  for (const blob of blobs)
    await withRetries(`${to.path}@${blob.digest}`, options, () =>
      copyBlob(from, to, blob, stats, options),
    );
  const put = await withRetries(`${to.path}@${manifest.digest}`, options, () =>
    putManifest(to, manifest, manifest.digest),
  );
  if (put) stats.manifestsPut++;
  else stats.manifestsPresent++;
}

/** The whole image, then its tags: the tags only once everything they point to is there. */
export async function copyImage(
  from: Repository,
  to: Repository,
  manifest: Manifest,
  tags: string[],
  options: CopyOptions,
): Promise<CopyStats> {
  const stats = emptyStats();
  await copyTree(from, to, manifest, stats, options);
  for (const tag of tags) {
    const put = await withRetries(`${to.path}:${tag}`, options, () =>
      putManifest(to, manifest, tag),
    );
    if (put) stats.tagsPut++;
    else stats.tagsPresent++;
  }
  return stats;
}
