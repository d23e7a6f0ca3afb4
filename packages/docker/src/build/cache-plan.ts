/**
 * How a build reuses the layers other machines built, by what the engine
 * can do, decided before the build runs and named in the engine line and the
 * build record:
 * - buildx with a driver that exports cache: every stage's layers in the
 *   registry (`<image>:buildcache`, mode=max), GitHub Actions' cache, or a folder;
 * - the engine's BuildKit (and buildx's `docker` driver, which exports
 *   nothing): inline cache, per stage: each named stage the image needs
 *   (the builder, where pip install runs) is built and tagged
 *   `<image>:buildcache-<stage>` with its cache metadata inline, pushed by
 *   docker-push beside the image, and read back with --cache-from;
 * - Podman: --layers with --cache-to/--cache-from `<image>-buildcache`
 *   (Podman pushes the layers while it builds);
 * - the classic builder: none.
 */
import { cacheableStages } from '../dockerfile/dockerfile';
import {
  CACHE_EXPORTING_DRIVERS,
  isLoopbackRegistry,
} from '../engine/commands';
import { Engine } from '../engine/engine';
import { fullName, ImageName, imageRef } from '../registry/image-ref';

export type CacheMode =
  'registry' | 'gha' | 'local' | 'inline-stages' | 'podman' | 'none';

export interface StageCacheImage {
  stage: string;
  ref: string;
}

export interface CachePlan {
  mode: CacheMode;
  /** For the engine line: what this build reuses and from where. */
  describe: string;
  cacheFrom: string[];
  cacheTo: string[];
  buildArgs: Record<string, string>;
  /** inline-stages: built first, in order, each tagged as its own cache image. */
  stages: StageCacheImage[];
}

export interface CacheOptions {
  registryCache: boolean;
  cache?: { type: 'registry' | 'gha' | 'local'; dest?: string; scope?: string };
  /** The build tags `latest`: the last image is cache too. */
  tagsLatest: boolean;
  target?: string;
}

export const BUILDCACHE_TAG = 'buildcache';

const NONE = (describe: string): CachePlan => ({
  mode: 'none',
  describe,
  cacheFrom: [],
  cacheTo: [],
  buildArgs: {},
  stages: [],
});

export function cachePlan(
  engine: Pick<Engine, 'mode' | 'buildxDriver'>,
  repo: ImageName,
  dockerfileText: string,
  o: CacheOptions,
): CachePlan {
  if (!o.registryCache) return NONE('no registry cache (registryCache: false)');
  if (engine.mode === 'classic')
    return NONE(
      'no registry cache (the classic builder can neither read nor write one)',
    );
  const name = fullName(repo);
  // A gha or local cache needs a builder that exports cache; elsewhere the registry is used, and the line says so.
  const ignored =
    o.cache && o.cache.type !== 'registry'
      ? ` (cache type ${o.cache.type} needs a buildx builder that exports cache, e.g. docker-container; this one uses the registry)`
      : '';
  if (engine.mode === 'podman') {
    const ref = `${name}-${BUILDCACHE_TAG}`;
    return {
      mode: 'podman',
      describe: `registry cache: every layer (podman --layers) at ${ref}${ignored}`,
      cacheFrom: [ref],
      cacheTo: [ref],
      buildArgs: {},
      stages: [],
    };
  }
  const exporting =
    engine.mode === 'buildx' &&
    CACHE_EXPORTING_DRIVERS.includes(engine.buildxDriver ?? '');
  if (exporting) {
    const type = o.cache?.type ?? 'registry';
    if (type === 'gha') {
      const scope = o.cache?.scope ?? repo.path;
      return {
        mode: 'gha',
        describe: `GitHub Actions cache: every stage (mode=max), scope ${scope}`,
        cacheFrom: [`type=gha,scope=${scope}`],
        cacheTo: [`type=gha,scope=${scope},mode=max`],
        buildArgs: {},
        stages: [],
      };
    }
    if (type === 'local') {
      const dest = o.cache?.dest ?? '.nx/cache/ml-docker-buildcache';
      return {
        mode: 'local',
        describe: `local cache: every stage (mode=max) in ${dest}`,
        cacheFrom: [`type=local,src=${dest}`],
        cacheTo: [`type=local,dest=${dest},mode=max`],
        buildArgs: {},
        stages: [],
      };
    }
    const ref = imageRef(repo, BUILDCACHE_TAG);
    const insecure = isLoopbackRegistry(repo.registry)
      ? ',registry.insecure=true'
      : '';
    return {
      mode: 'registry',
      describe: `registry cache: every stage (mode=max) at ${ref}`,
      cacheFrom: [`type=registry,ref=${ref}${insecure}`],
      cacheTo: [`type=registry,ref=${ref},mode=max${insecure}`],
      buildArgs: {},
      stages: [],
    };
  }
  const stages = cacheableStages(dockerfileText, o.target).map((stage) => ({
    stage,
    ref: imageRef(repo, `${BUILDCACHE_TAG}-${stage}`),
  }));
  const cacheFrom = [
    ...stages.map((s) => s.ref),
    ...(o.tagsLatest ? [imageRef(repo, 'latest')] : []),
  ];
  return {
    mode: 'inline-stages',
    describe:
      (stages.length
        ? `registry cache: inline, per stage (${stages.map((s) => s.stage).join(', ')} as ${name}:${BUILDCACHE_TAG}-<stage>, and the image itself)`
        : 'registry cache: inline (the image itself)') + ignored,
    cacheFrom,
    cacheTo: [],
    buildArgs: { BUILDKIT_INLINE_CACHE: '1' },
    stages,
  };
}
