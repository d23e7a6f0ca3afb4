/**
 * The build service: runs a build plan on the engine, one Dockerfile at a
 * time, and writes the build record. The build executor calls it; so do the
 * test and push executors when a record names an image that neither the
 * engine nor the registry has (a cache hit on a machine that never built it).
 */
import { PLUGIN_NAME } from '../names/names';
import { ExecutorContext, logger, readTargetOptions } from '@nx/devkit';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { BuildOptions } from './build-options';
import {
  BuildRecord,
  ImageRecord,
  readBuildRecord,
  writeJsonAtomic,
} from '../record/build-record';
import { explainBuildFailure } from './build-output';
import { BuildSecret, resolveSecrets } from './build-secrets';
import {
  buildArgsFor,
  NormalizedBuildOptions,
  normalizeOptions,
  ociLabels,
  RecordedRebuild,
  tagsFor,
} from './build-plan';
import { dependencyImageArgs } from './dependency-images';
import { cachePlan, CachePlan } from './cache-plan';
import { imageUses } from '../dockerfile/dockerfile';
import { seedArgSteps, stageBases } from './podman-arg-cache';
import { RegistryClient } from '../registry/registry-client';
import {
  buildCommand,
  BuildSpec,
  isLoopbackRegistry,
  needsBuildKit,
} from '../engine/commands';
import {
  describeEngine,
  withBuildMode,
  withBuildxBuilder,
} from '../engine/detection';
import { Engine } from '../engine/engine';
import { inspectImage } from '../engine/image-inspection';
import { fail } from '../errors/errors';
import { gitInfo } from '../process/git';
import { Rebuild } from '../record/image-availability';
import { fullName, imageRef } from '../registry/image-ref';
import {
  ProjectImage,
  ProjectInfo,
  projectInfo,
  resolveImages,
} from '../record/project-images';
import { run } from '../process/process';

export interface BuildRequest {
  options: BuildOptions;
  context: ExecutorContext;
  /** The engine as detected; the build option `engine` may ask for another mode of it. */
  engine: Engine;
  /** The name of the target that builds (for messages and dependency records). */
  buildTarget: string;
  /** Set when rebuilding images a record already names. */
  rebuild?: RecordedRebuild;
  /** false: build only, keep no record (docker-train builds the image it runs). */
  writeRecord?: boolean;
}

export async function buildImages(req: BuildRequest): Promise<BuildRecord> {
  const { context } = req;
  const project = projectInfo(context);
  const opts = normalizeOptions(req.options, context, req.rebuild);
  const images = resolveImages(project, opts);
  const engine = await withBuildxBuilder(
    withBuildMode(req.engine, opts.engine),
    opts.builder,
  );
  logger.info(`@ml/docker: ${describeEngine(engine)}`);
  if (
    opts.secrets &&
    Object.keys(opts.secrets).length &&
    engine.mode === 'classic'
  )
    fail(
      `The secrets option needs BuildKit or Podman, and ${describeEngine(engine)}: the classic builder cannot pass build secrets. Set engine to "auto" (with docker buildx installed, or a Docker client older than 23), or engine "podman".`,
    );
  const secrets = resolveSecrets(opts.secrets, context.root);
  for (const a of secrets.absent)
    logger.warn(
      `@ml/docker: build secret ${a.id}: ${a.why}; building without it.`,
    );
  const git = await gitInfo(context.root, project.root);
  if (opts.gitShaTag && git.dirty) {
    logger.info(
      `@ml/docker: ${project.root} has uncommitted changes: not tagging the git SHA ${git.shortSha}`,
    );
  }
  if (!opts.contentTag) {
    logger.info(
      '@ml/docker: no Nx task hash (not run by nx): building without a content tag',
    );
  }
  const tags = req.rebuild?.tags ?? tagsFor(opts, git);
  const labels = {
    ...(await ociLabels(git, context.root)),
    ...(opts.labels ?? {}),
  };

  const records: ImageRecord[] = [];
  for (const image of images) {
    const text = readFileSync(image.dockerfile, 'utf8');
    const dependencyArgs = await dependencyImageArgs(
      text,
      context,
      project.name,
      engine,
      req.buildTarget,
    );
    records.push(
      await buildOne(image, text, {
        opts,
        engine,
        project,
        tags,
        labels,
        buildArgs: buildArgsFor(text, opts, dependencyArgs),
        secrets: secrets.given,
      }),
    );
  }
  // A rebuild replaces its image in the existing record and keeps the others.
  const kept = req.rebuild
    ? (
        readBuildRecord(opts.recordPath, project.name, req.buildTarget)
          ?.images ?? []
      ).filter((i) => !records.some((r) => r.image === i.image))
    : [];
  const record: BuildRecord = {
    version: 2,
    project: project.name,
    images: [...kept, ...records],
  };
  if (req.writeRecord === false) return record;
  writeJsonAtomic(opts.recordPath, record);
  logger.info(
    `@ml/docker: build record ${relative(context.root, opts.recordPath)}`,
  );
  return record;
}

async function buildOne(
  image: ProjectImage,
  text: string,
  ctx: {
    opts: NormalizedBuildOptions;
    engine: Engine;
    project: ProjectInfo;
    tags: string[];
    labels: Record<string, string>;
    buildArgs: Record<string, string>;
    secrets: BuildSecret[];
  },
): Promise<ImageRecord> {
  const { opts, engine, project, buildArgs } = ctx;
  const feature = needsBuildKit(text);
  if (feature && engine.mode === 'classic') {
    const remedy =
      opts.engine === 'classic'
        ? 'the engine option asks for the classic builder. Set engine to "auto"'
        : 'this machine has only the classic builder. Install docker buildx (or use a Docker client older than 23 with DOCKER_BUILDKIT=1)';
    fail(
      `${relative(project.absRoot, image.dockerfile)} uses ${feature}, which needs BuildKit, and ${remedy}, or use engine "podman". The Dockerfiles ${PLUGIN_NAME} generates mount build secrets and need either; from a Dockerfile of your own you may remove ${feature} instead.`,
    );
  }
  const cache = cachePlan(engine, image.repo, text, {
    registryCache: opts.registryCache,
    cache: opts.cache,
    tagsLatest: ctx.tags.includes('latest'),
    target: opts.target,
  });
  logger.info(`@ml/docker: ${image.image}: ${cache.describe}`);
  const refs = ctx.tags.map((t) => imageRef(image.repo, t));
  const base: Omit<BuildSpec, 'tags'> = {
    context: project.absRoot,
    dockerfile: image.dockerfile,
    buildArgs: { ...cache.buildArgs, ...buildArgs },
    labels: ctx.labels,
    platform: opts.platform,
    pull: opts.pull,
    noCache: opts.noCache,
    secrets: ctx.secrets,
    network: opts.network,
    insecureRegistries: talksOnlyToLoopback(
      text,
      buildArgs,
      image.repo.registry,
    ),
  };
  const started = Date.now();
  if (cache.mode === 'podman' && !opts.noCache)
    await seedPodmanArgSteps(
      engine,
      image,
      cache.cacheFrom[0],
      text,
      base.buildArgs ?? {},
    );
  // Stages first, each its own cache image, so a fresh engine can skip them.
  const stageImages: Array<{ stage: string; ref: string; imageId: string }> =
    [];
  for (const stage of cache.stages) {
    logger.info(
      `@ml/docker: building stage ${stage.stage} of ${image.image} → ${stage.ref}`,
    );
    const imageId = await runBuild(engine, project, image, {
      ...base,
      tags: [stage.ref],
      target: stage.stage,
      cacheFrom: [...(opts.cacheFrom ?? []), ...cache.cacheFrom],
    });
    stageImages.push({ ...stage, imageId });
  }
  logger.info(`@ml/docker: building ${image.image} → ${refs.join(', ')}`);
  const imageId = await runBuild(engine, project, image, {
    ...base,
    tags: refs,
    target: opts.target,
    cacheFrom: [...(opts.cacheFrom ?? []), ...cache.cacheFrom],
    cacheTo: cache.cacheTo,
  });
  const durationMs = Date.now() - started;
  const info = await inspectImage(engine, imageId);
  logger.info(
    `@ml/docker: built ${image.image} ${imageId.slice(0, 19)} (${((info?.size ?? 0) / 1e6).toFixed(1)} MB) in ${(durationMs / 1000).toFixed(1)} s`,
  );
  return {
    image: image.image,
    dockerfile: relative(project.absRoot, image.dockerfile),
    name: fullName(image.repo),
    registry: image.repo.registry,
    tags: ctx.tags,
    contentTag: opts.contentTag,
    imageId,
    sizeBytes: info?.size ?? 0,
    durationMs,
    engine: engine.kind,
    builtWith: engine.mode,
    cache: recordedCache(cache, stageImages),
    createdAt: new Date().toISOString(),
  };
}

/** A failed seed costs time, not the build: Podman then runs the ARG steps and what follows them. */
async function seedPodmanArgSteps(
  engine: Engine,
  image: ProjectImage,
  cacheRef: string,
  text: string,
  buildArgs: Record<string, string>,
): Promise<void> {
  try {
    const seeded = await seedArgSteps(
      engine,
      cacheRef,
      stageBases(text, buildArgs),
      new RegistryClient(image.repo.registry),
    );
    if (seeded.length)
      logger.info(
        `@ml/docker: ${image.image}: ${seeded.length} ARG step(s) taken from ${cacheRef} before the build (Podman looks ARG steps up only in its own store)`,
      );
  } catch (e) {
    logger.warn(
      `@ml/docker: ${image.image}: could not read ${cacheRef} (${(e as Error).message}); Podman runs the ARG steps, and the steps after them, again.`,
    );
  }
}

function recordedCache(
  plan: CachePlan,
  stages: Array<{ stage: string; ref: string; imageId: string }>,
): ImageRecord['cache'] {
  if (plan.mode === 'none') return undefined;
  return {
    mode: plan.mode,
    refs: [...new Set([...plan.cacheFrom, ...plan.cacheTo])],
    stages: stages.length ? stages : undefined,
  };
}

/** Podman verifies TLS unless told not to: only when every registry the build reaches is a loopback one. */
function talksOnlyToLoopback(
  text: string,
  buildArgs: Record<string, string>,
  registry: string,
): boolean {
  if (!isLoopbackRegistry(registry)) return false;
  return imageUses(text).every((u) =>
    isLoopbackRegistry(u.arg && buildArgs[u.arg] ? buildArgs[u.arg] : u.ref),
  );
}

/** One engine build; the image ID it produced. */
async function runBuild(
  engine: Engine,
  project: ProjectInfo,
  image: ProjectImage,
  spec: Omit<BuildSpec, 'iidFile'>,
): Promise<string> {
  const scratch = mkdtempSync(join(tmpdir(), 'ml-docker-build-'));
  try {
    const iidFile = join(scratch, 'iid');
    const cmd = buildCommand(engine, { ...spec, iidFile });
    const result = await run(cmd.file, cmd.args, {
      env: cmd.env,
      stream: true,
      cwd: project.absRoot,
    });
    if (result.exitCode !== 0) {
      fail(
        `Build of ${project.name}/${image.image} failed at ${explainBuildFailure(
          result.all || result.spawnError || '',
          (spec.secrets ?? []).map((s) => s.id),
        )}. Fix the Dockerfile or its inputs and rerun.`,
      );
    }
    const id = readFileSync(iidFile, 'utf8').trim();
    // Podman writes the bare hex; Docker the digest form, which registries compare against.
    return id.startsWith('sha256:') ? id : `sha256:${id}`;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * How test and push rebuild a recorded image that neither this engine nor
 * the registry has: with the build target's own options, the record's
 * content tag and tags, merged into that record.
 */
export function rebuildWith(
  context: ExecutorContext,
  buildTarget: string,
  engine: Engine,
): Rebuild {
  return async (image) => {
    let options: BuildOptions;
    try {
      options = readTargetOptions(
        { project: context.projectName!, target: buildTarget },
        context,
      ) as BuildOptions;
    } catch (e) {
      fail(
        `${image.image} must be rebuilt, but the options of ${context.projectName}:${buildTarget} cannot be read (${(e as Error).message}). Check that the target exists and runs @ml/docker:build, or run it yourself: nx run ${context.projectName}:${buildTarget} --skip-nx-cache`,
      );
    }
    const record = await buildImages({
      options: { ...options, images: [image.image] },
      context,
      engine,
      buildTarget,
      rebuild: { contentTag: image.contentTag, tags: image.tags },
    });
    return record.images.find((i) => i.image === image.image)!;
  };
}
