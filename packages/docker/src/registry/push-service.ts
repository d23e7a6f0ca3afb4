/**
 * The push service: every tag of the build record to its registry, asking the
 * registry first so an unchanged image uploads nothing, retrying transient
 * failures, and writing the push record beside the build record.
 */
import { ExecutorContext, logger } from '@nx/devkit';
import { readFileSync } from 'node:fs';
import type { PushOptions } from './push-options';
import {
  ImageRecord,
  pushRecordPath,
  writeJsonAtomic,
} from '../record/build-record';
import { rebuildWith } from '../build/build-service';
import { registryFlags } from '../engine/commands';
import { docker, Engine, firstLine } from '../engine/engine';
import { inspectImage } from '../engine/image-inspection';
import { fail } from '../errors/errors';
import { ensureLocalImage } from '../record/image-availability';
import { pathInRegistry, splitRegistry } from './image-ref';
import { RecordedRun } from '../record/recorded-images';
import { RegistryClient, RemoteManifest } from './registry-client';

export type PushFailure = 'auth' | 'transient' | 'fatal';

/**
 * Which push failures are worth retrying: network blips and 5xx, never a
 * refused login. Only the error lines count: progress lines hold layer IDs
 * and the registry's port, which look like status codes.
 */
export function classifyPushFailure(output: string): PushFailure {
  const errors = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(The push refers to|[0-9a-f]{12}: )/.test(l))
    .join('\n');
  if (
    /unauthorized|authentication required|denied|no basic auth credentials|forbidden|\b40[13]\b/i.test(
      errors,
    )
  ) {
    return 'auth';
  }
  if (
    /connection refused|connection reset|timeout|timed out|\bEOF\b|temporarily unavailable|\b50[0-9] |status 50[0-9]|broken pipe|TLS handshake|dial tcp|i\/o timeout/i.test(
      errors,
    )
  ) {
    return 'transient';
  }
  return 'fatal';
}

export function backoffMs(attempt: number): number {
  return 1000 * 2 ** (attempt - 1);
}

export interface PushedTag {
  ref: string;
  digest: string;
  uploaded: boolean;
}

export async function pushImages(
  run: RecordedRun,
  options: PushOptions,
  context: ExecutorContext,
  engine: Engine,
): Promise<PushedTag[]> {
  const { project, buildTarget, recordPath, images } = run;
  const retries = options.retries ?? 3;
  const clients = new Map<string, RegistryClient>();
  const clientOf = (recorded: ImageRecord) => {
    if (!recorded.registry)
      fail(
        `${recorded.image} has no registry in its build record. Set the registry option of ${buildTarget}.`,
      );
    const client =
      clients.get(recorded.registry) ?? new RegistryClient(recorded.registry);
    clients.set(recorded.registry, client);
    return client;
  };
  // Every image first: a refused release pushes none of them, not half.
  if (options.tags)
    for (const recorded of images)
      for (const tag of options.tags)
        refuseMovedTag(
          `${recorded.name}:${tag}`,
          recorded.imageId,
          await clientOf(recorded).manifest(
            pathInRegistry(recorded.name, recorded.registry),
            tag,
          ),
        );
  const results: PushedTag[] = [];
  for (const recorded of images) {
    const client = clientOf(recorded);
    await client.ping();
    const image = options.dryRun
      ? recorded
      : await ensureLocalImage(
          engine,
          recorded,
          { project: project.name, buildTarget },
          rebuildWith(context, buildTarget, engine),
        );
    const path = pathInRegistry(image.name, image.registry);
    // The image's tags, then its per-stage cache images (never tagged latest).
    const pushes = options.tags
      ? options.tags.map((tag) => ({
          tag,
          imageId: image.imageId,
          cache: false,
        }))
      : [
          ...image.tags.map((tag) => ({
            tag,
            imageId: image.imageId,
            cache: false,
          })),
          ...(image.cache?.stages ?? []).map((s) => ({
            tag: s.ref.slice(s.ref.lastIndexOf(':') + 1),
            imageId: s.imageId,
            cache: true,
          })),
        ];
    for (const { tag, imageId, cache } of pushes) {
      const ref = `${image.name}:${tag}`;
      const remote = await client.manifest(path, tag);
      // Again here: a rebuild of a missing image may have made another one.
      if (options.tags) refuseMovedTag(ref, imageId, remote);
      if (remote?.configDigest === imageId) {
        logger.info(
          `@ml/docker: ${ref} already in the registry (${remote.digest}); nothing uploaded`,
        );
        results.push({ ref, digest: remote.digest, uploaded: false });
        continue;
      }
      if (options.dryRun) {
        logger.info(
          `@ml/docker: [dry run] would ${options.tags ? 'tag and ' : ''}push ${ref} (image ${imageId.slice(0, 19)})`,
        );
        continue;
      }
      if (options.tags) await tagImage(engine, imageId, ref);
      if (cache && !(await inspectImage(engine, imageId))) {
        // A cache hit restored the record on a machine that never built the stage.
        logger.info(
          `@ml/docker: cache image ${ref} is not in this engine; not pushed (the next build makes it)`,
        );
        continue;
      }
      const digest =
        (await pushWithRetry(engine, ref, image, retries)) ??
        (await client.manifest(path, tag))?.digest ??
        'digest unknown';
      logger.info(`@ml/docker: pushed ${ref} ${digest}`);
      results.push({ ref, digest, uploaded: true });
    }
  }
  if (!options.dryRun) {
    const path = pushRecordPath(recordPath);
    writeJsonAtomic(path, {
      version: 1,
      project: project.name,
      pushedAt: new Date().toISOString(),
      tags: options.tags
        ? [...earlierPushes(path, results), ...results]
        : results,
    });
  }
  return results;
}

/** A released version names one image for good: rollbacks and changelogs rely on it. */
function refuseMovedTag(
  ref: string,
  imageId: string,
  remote: RemoteManifest | undefined,
): void {
  if (remote && remote.configDigest !== imageId)
    fail(
      `${ref} is already in the registry as another image (${remote.digest}): a released version is never moved. Release a new version (nx release), or delete the tag in the registry if it was a mistake.`,
    );
}

/** The push record's entries for refs not pushed again now (a release adds to docker-push's record). */
function earlierPushes(path: string, now: PushedTag[]): PushedTag[] {
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as {
      tags?: PushedTag[];
    };
    return (record.tags ?? []).filter((t) => !now.some((n) => n.ref === t.ref));
  } catch {
    return [];
  }
}

async function tagImage(engine: Engine, imageId: string, ref: string) {
  const r = await docker(engine, ['tag', imageId, ref]);
  if (r.exitCode !== 0)
    fail(
      `Could not tag image ${imageId.slice(0, 19)} as ${ref}: ${firstLine(r.all || r.spawnError || '')}. Rebuild it (nx run-many -t docker-build --skip-nx-cache), then rerun.`,
    );
}

async function pushWithRetry(
  engine: Engine,
  ref: string,
  image: ImageRecord,
  retries: number,
): Promise<string | undefined> {
  const host = splitRegistry(image.registry).host;
  for (let attempt = 1; ; attempt++) {
    const r = await docker(
      engine,
      ['push', ...registryFlags(engine, ref), ref],
      {
        stream: true,
        timeoutMs: 60 * 60_000,
      },
    );
    if (r.exitCode === 0) {
      // Docker prints the digest; Podman does not (the registry is asked instead).
      return r.all.match(/digest: (sha256:[0-9a-f]{64})/)?.[1];
    }
    const output = r.all || r.spawnError || '';
    const kind = classifyPushFailure(output);
    const reason = firstLine(
      output
        .split('\n')
        .reverse()
        .find((l) => l.trim()) ?? '',
    );
    if (kind === 'auth') {
      fail(
        `Registry ${host} refused the push of ${ref} (${reason}). Log in first: ${engine.kind} login ${host} (for Artifact Registry: gcloud auth configure-docker ${host}).`,
      );
    }
    if (kind === 'fatal' || attempt >= retries) {
      fail(
        `Pushing ${ref} failed after ${attempt} attempt(s): ${reason}. Check that the registry is up and has space, then rerun.`,
      );
    }
    const wait = backoffMs(attempt);
    logger.warn(
      `@ml/docker: push of ${ref} failed (${reason}); retrying in ${wait / 1000} s (${attempt}/${retries})`,
    );
    await new Promise((res) => setTimeout(res, wait));
  }
}
