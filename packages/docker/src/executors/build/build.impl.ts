import { ExecutorContext, logger, readTargetOptions } from '@nx/devkit';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  BuildRecord,
  defaultRecordPath,
  ImageRecord,
  readBuildRecord,
  writeJsonAtomic,
} from '../../lib/build-record';
import { explainBuildFailure } from '../../lib/build-output';
import {
  declaredArgs,
  imageUses,
  repositoryPathOf,
} from '../../lib/dockerfile';
import { ensureLocalImage } from '../../lib/image-availability';
import { workspaceImageIndex } from '../../lib/workspace-images';
import {
  buildCommand,
  describeEngine,
  Engine,
  inspectImage,
  needsBuildKit,
  resolveEngine,
} from '../../lib/engine';
import { fail } from '../../lib/errors';
import { runExecutor } from '../../lib/executor-boundary';
import { GitInfo, gitInfo } from '../../lib/git';
import { assertTag, contentTag, imageRef, repoName } from '../../lib/image-ref';
import { run } from '../../lib/process';
import {
  projectInfo,
  ProjectImage,
  recordPathFor,
  resolveImages,
  taskHash,
} from '../../lib/project-images';
import { BuildExecutorSchema } from './schema';

export interface NormalizedBuildOptions extends BuildExecutorSchema {
  latest: boolean;
  registryCache: boolean;
  gitShaTag: boolean;
  engine: NonNullable<BuildExecutorSchema['engine']>;
  recordPath: string;
  contentTag?: string;
}

export function normalizeOptions(
  options: BuildExecutorSchema,
  context: ExecutorContext,
): NormalizedBuildOptions {
  const project = projectInfo(context);
  const hash = taskHash(context);
  for (const tag of options.tags ?? []) assertTag(tag, 'the tags option');
  return {
    ...options,
    latest: options.latest ?? true,
    gitShaTag: options.gitShaTag ?? true,
    engine: options.engine ?? 'auto',
    registryCache: options.registryCache ?? true,
    // ML_DOCKER_BASE_IMAGE is applied per Dockerfile, below workspace dependencies.
    baseImage: options.baseImage,
    recordPath: options.outputPath
      ? join(context.root, options.outputPath, 'build-record.json')
      : defaultRecordPath(context.root, project.root),
    contentTag: hash ? contentTag(hash) : undefined,
  };
}

export function tagsFor(
  options: NormalizedBuildOptions,
  git: GitInfo,
): string[] {
  const tags: string[] = [];
  if (options.contentTag) tags.push(options.contentTag);
  if (options.gitShaTag && git.shortSha && !git.dirty) tags.push(git.shortSha);
  if (options.latest) tags.push('latest');
  tags.push(...(options.tags ?? []));
  return [...new Set(tags)];
}

/** OCI labels from git. `created` is the commit time, so rebuilding the same commit yields the same image. */
export async function ociLabels(
  git: GitInfo,
  workspaceRoot: string,
): Promise<Record<string, string>> {
  const labels: Record<string, string> = {};
  if (git.remoteUrl) labels['org.opencontainers.image.source'] = git.remoteUrl;
  if (git.sha) labels['org.opencontainers.image.revision'] = git.sha;
  let created = new Date().toISOString();
  if (git.sha && !git.dirty) {
    const r = await run('git', ['show', '-s', '--format=%cI', 'HEAD'], {
      cwd: workspaceRoot,
    });
    if (r.exitCode === 0 && r.stdout.trim())
      created = new Date(r.stdout.trim()).toISOString();
  }
  labels['org.opencontainers.image.created'] = created;
  return labels;
}

export async function pickEngine(
  requested: NormalizedBuildOptions['engine'],
): Promise<Engine> {
  const best = await resolveEngine();
  if (requested === 'auto' || requested === best.mode) return best;
  if (requested === 'classic') return { ...best, mode: 'classic' };
  if (requested === 'buildkit' && best.mode === 'buildx')
    return { ...best, mode: 'buildkit' };
  fail(
    `engine "${requested}" was requested but this machine only offers ${describeEngine(best)}. Install buildx or a Docker client that supports BuildKit, or set engine to "auto".`,
  );
}

/** Rebuilding an image a record names: same content tag and tags, merged into that record. */
export interface RecordedRebuild {
  contentTag?: string;
  tags: string[];
}

export async function buildImages(
  options: BuildExecutorSchema,
  context: ExecutorContext,
  rebuild?: RecordedRebuild,
): Promise<BuildRecord> {
  const project = projectInfo(context);
  const opts = normalizeOptions(options, context);
  if (rebuild) opts.contentTag = rebuild.contentTag;
  const images = resolveImages(project, opts);
  const engine = await pickEngine(opts.engine);
  logger.info(`@ml/docker: ${describeEngine(engine)}`);
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
  const tags = rebuild?.tags ?? tagsFor(opts, git);
  const labels = {
    ...(await ociLabels(git, context.root)),
    ...(opts.labels ?? {}),
  };

  const records: ImageRecord[] = [];
  for (const image of images) {
    records.push(
      await buildOne(image, {
        opts,
        engine,
        project,
        tags,
        labels,
        dependencyArgs: (text) =>
          dependencyImageArgs(text, context, project.name),
      }),
    );
  }
  // A rebuild replaces its image in the existing record and keeps the others.
  const kept = rebuild
    ? (readBuildRecord(opts.recordPath, project.name)?.images ?? []).filter(
        (i) => !records.some((r) => r.image === i.image),
      )
    : [];
  const record: BuildRecord = {
    version: 1,
    project: project.name,
    images: [...kept, ...records],
  };
  writeJsonAtomic(opts.recordPath, record);
  logger.info(
    `@ml/docker: build record ${relative(context.root, opts.recordPath)}`,
  );
  return record;
}

async function buildOne(
  image: ProjectImage,
  ctx: {
    opts: NormalizedBuildOptions;
    engine: Engine;
    project: ReturnType<typeof projectInfo>;
    tags: string[];
    labels: Record<string, string>;
    dependencyArgs: (dockerfileText: string) => Promise<Record<string, string>>;
  },
): Promise<ImageRecord> {
  const { opts, engine, project } = ctx;
  const text = readFileSync(image.dockerfile, 'utf8');
  const feature = needsBuildKit(text);
  if (feature && engine.mode === 'classic') {
    const remedy =
      opts.engine === 'classic'
        ? 'the engine option asks for the classic builder. Set engine to "auto"'
        : 'this machine has only the classic builder. Install docker buildx (or use a Docker client older than 23 with DOCKER_BUILDKIT=1)';
    fail(
      `${relative(project.absRoot, image.dockerfile)} uses ${feature}, which needs BuildKit, and ${remedy}, or remove ${feature}.`,
    );
  }
  const declared = declaredArgs(text);
  // BASE_IMAGE, weakest first: the environment's default (ML_DOCKER_BASE_IMAGE),
  // the exact image a workspace dependency just built, the baseImage option,
  // an explicit build arg.
  const buildArgs: Record<string, string> = {};
  const envBase = process.env.ML_DOCKER_BASE_IMAGE;
  if (envBase && declared.has('BASE_IMAGE')) buildArgs.BASE_IMAGE = envBase;
  Object.assign(buildArgs, await ctx.dependencyArgs(text));
  if (opts.baseImage && declared.has('BASE_IMAGE'))
    buildArgs.BASE_IMAGE = opts.baseImage;
  Object.assign(buildArgs, opts.buildArgs ?? {});
  // Layer cache across machines: the pushed image carries its cache metadata
  // (inline cache), and the next build on a fresh engine reads it back from
  // the registry. The classic builder can use neither.
  const cacheFrom = [...(opts.cacheFrom ?? [])];
  if (opts.registryCache && engine.mode !== 'classic') {
    buildArgs.BUILDKIT_INLINE_CACHE ??= '1';
    if (ctx.tags.includes('latest'))
      cacheFrom.push(imageRef(image.repo, 'latest'));
  }

  const refs = ctx.tags.map((t) => imageRef(image.repo, t));
  const scratch = mkdtempSync(join(tmpdir(), 'ml-docker-build-'));
  try {
    const iidFile = join(scratch, 'iid');
    const cmd = buildCommand(engine, {
      context: project.absRoot,
      dockerfile: image.dockerfile,
      tags: refs,
      buildArgs,
      labels: ctx.labels,
      target: opts.target,
      platform: opts.platform,
      pull: opts.pull,
      noCache: opts.noCache,
      cacheFrom,
      iidFile,
    });
    logger.info(`@ml/docker: building ${image.image} → ${refs.join(', ')}`);
    const started = Date.now();
    const result = await run(cmd.file, cmd.args, {
      env: cmd.env,
      stream: true,
      cwd: project.absRoot,
    });
    const durationMs = Date.now() - started;
    if (result.exitCode !== 0) {
      fail(
        `Build of ${project.name}/${image.image} failed at ${explainBuildFailure(result.all || result.spawnError || '')}. Fix the Dockerfile or its inputs and rerun.`,
      );
    }
    const imageId = readFileSync(iidFile, 'utf8').trim();
    const info = await inspectImage(imageId);
    logger.info(
      `@ml/docker: built ${image.image} ${imageId.slice(0, 19)} (${((info?.size ?? 0) / 1e6).toFixed(1)} MB) in ${(durationMs / 1000).toFixed(1)} s`,
    );
    return {
      image: image.image,
      dockerfile: relative(project.absRoot, image.dockerfile),
      repository: repoName(image.repo),
      registry: image.repo.registry,
      tags: ctx.tags,
      contentTag: opts.contentTag,
      imageId,
      sizeBytes: info?.size ?? 0,
      durationMs,
      builtWith: engine.mode,
      createdAt: new Date().toISOString(),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Builds one recorded image again, when neither this engine nor the registry
 * has it (a cache hit restored the record on a machine that never built it).
 */
export async function rebuildRecordedImage(
  image: ImageRecord,
  context: ExecutorContext,
  buildTarget: string,
): Promise<ImageRecord> {
  const options = readTargetOptions(
    { project: context.projectName!, target: buildTarget },
    context,
  ) as BuildExecutorSchema;
  const record = await buildImages(
    { ...options, images: [image.image] },
    context,
    {
      contentTag: image.contentTag,
      tags: image.tags,
    },
  );
  return record.images.find((i) => i.image === image.image)!;
}

/**
 * For each ARG whose default names an image another workspace project builds
 * (ARG BASE_IMAGE=…/ml-base-base:latest), the exact image that project's
 * build recorded, present in this engine: a dependent never builds on a
 * stale `latest`, on this machine or after a cache hit on another.
 */
export async function dependencyImageArgs(
  dockerfileText: string,
  context: ExecutorContext,
  currentProject: string,
): Promise<Record<string, string>> {
  const uses = imageUses(dockerfileText).filter((u) => u.arg);
  if (uses.length === 0) return {};
  const projects = context.projectsConfigurations.projects;
  const index = workspaceImageIndex(projects, context.root);
  const args: Record<string, string> = {};
  for (const use of uses) {
    const dep = index.get(repositoryPathOf(use.ref));
    if (!dep || dep.project === currentProject || args[use.arg!]) continue;
    const root = projects[dep.project].root;
    const depInfo = {
      name: dep.project,
      root,
      absRoot: join(context.root, root),
    };
    const recordPath = recordPathFor(context, depInfo, dep.buildTarget);
    const image = readBuildRecord(recordPath, dep.project)?.images.find(
      (i) => i.image === dep.image,
    );
    if (!image) {
      fail(
        `${use.arg} names ${dep.project}'s ${dep.image} image, which has no build record at ${recordPath}. Build it first: nx run ${dep.project}:${dep.buildTarget} (docker-build depends on ^docker-build, so nx run-many and nx affected do this for you).`,
      );
    }
    await ensureLocalImage(dep.project, image);
    args[use.arg!] = `${image.repository}:${image.contentTag ?? image.tags[0]}`;
    logger.info(
      `@ml/docker: ${use.arg}=${args[use.arg!]} (built by ${dep.project})`,
    );
  }
  return args;
}

export default async function buildExecutor(
  options: BuildExecutorSchema,
  context: ExecutorContext,
) {
  return runExecutor('build', async () => {
    await buildImages(options, context);
  });
}
