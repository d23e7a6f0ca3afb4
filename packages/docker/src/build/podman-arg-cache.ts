/**
 * Podman 4.3 (buildah 1.28) looks an ARG step up in the local store only,
 * never in --cache-from, and once one step of a stage misses, every later
 * step misses too: the new ARG image's ID is part of their cache keys. A
 * fresh store would run the whole builder stage again (pip install and all)
 * although the registry holds every layer of it. The images the first
 * machine pushed for its ARG steps are empty layers on top of the stage's
 * base, so pulling the ones that sit on this build's bases (a manifest and
 * a config each: their layers are the base's) lets the local lookup find
 * them, and the steps after them come from the registry again.
 */
import { registryFlags } from '../engine/commands';
import { docker, Engine } from '../engine/engine';
import { inspectImage } from '../engine/image-inspection';
import { ImageConfig, RegistryClient } from '../registry/registry-client';
import { imageUses, repositoryPathOf } from '../dockerfile/dockerfile';

/** buildah records an ARG step as `/bin/sh -c #(nop) ARG NAME`, with no layer. */
export function isArgStep(config: ImageConfig): boolean {
  const last = config.history?.at(-1);
  return !!last?.empty_layer && /#\(nop\) ARG /.test(last.created_by ?? '');
}

/** The config's layers start with all of one base's layers (the ARG sits on that base, or on a later step of its stage). */
export function sitsOnAny(config: ImageConfig, bases: string[][]): boolean {
  const layers = config.rootfs?.diff_ids ?? [];
  return bases.some(
    (base) => base.length > 0 && base.every((id, i) => layers[i] === id),
  );
}

/** The images the stages start FROM, with this build's build args applied. */
export function stageBases(
  dockerfileText: string,
  buildArgs: Record<string, string>,
): string[] {
  const refs = imageUses(dockerfileText)
    .filter((u) => u.via === 'FROM')
    .map((u) => (u.arg && buildArgs[u.arg]) || u.ref);
  return [...new Set(refs)];
}

/** Runs `task` over `items`, at most `limit` at a time. */
async function eachLimited<T>(
  items: T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
}

/**
 * Pulls the ARG-step images of `cacheRef` (`<image>-buildcache`) that sit on
 * one of `baseRefs` into the engine's store; returns their tags. The bases
 * are pulled first when missing (the build would pull them anyway). Errors
 * of the registry are thrown; the caller decides that a failed seed only
 * costs time.
 */
export async function seedArgSteps(
  engine: Engine,
  cacheRef: string,
  baseRefs: string[],
  client: RegistryClient,
): Promise<string[]> {
  const bases: string[][] = [];
  for (const ref of baseRefs) {
    let info = await inspectImage(engine, ref);
    if (!info) {
      await docker(engine, ['pull', ...registryFlags(engine, ref), ref], {
        timeoutMs: 30 * 60_000,
      });
      info = await inspectImage(engine, ref);
    }
    if (info?.layers.length) bases.push(info.layers);
  }
  if (bases.length === 0) return [];
  const path = repositoryPathOf(cacheRef);
  const seeded: string[] = [];
  await eachLimited(await client.tags(path), 8, async (tag) => {
    const config = await client.imageConfig(path, tag);
    if (!config || !isArgStep(config) || !sitsOnAny(config, bases)) return;
    const ref = `${cacheRef}:${tag}`;
    const pulled = await docker(
      engine,
      ['pull', '--quiet', ...registryFlags(engine, ref), ref],
      { timeoutMs: 10 * 60_000 },
    );
    if (pulled.exitCode === 0) seeded.push(tag);
  });
  return seeded.sort();
}
