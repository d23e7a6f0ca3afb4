/**
 * What a build will do, decided before anything runs: the options with their
 * defaults, the tags, the OCI labels and the build args of each Dockerfile.
 * Pure apart from reading git, so every rule here is unit-tested.
 */
import { ExecutorContext } from '@nx/devkit';
import type { BuildOptions } from './build-options';
import { recordPath } from '../record/build-record';
import { assertNoCredentialArgs } from './build-secrets';
import { declaredArgs } from '../dockerfile/dockerfile';
import { RequestedBuildMode } from '../engine/detection';
import { fail } from '../errors/errors';
import { commitTime, GitInfo } from '../process/git';
import { assertTag, contentTag } from '../registry/image-ref';
import { projectInfo, taskHash } from '../record/project-images';

export interface NormalizedBuildOptions extends BuildOptions {
  latest: boolean;
  registryCache: boolean;
  gitShaTag: boolean;
  engine: RequestedBuildMode;
  recordPath: string;
  contentTag?: string;
}

/** Rebuilding an image a record names: same content tag and tags, merged into that record. */
export interface RecordedRebuild {
  contentTag?: string;
  tags: string[];
}

export function normalizeOptions(
  options: BuildOptions,
  context: ExecutorContext,
  rebuild?: RecordedRebuild,
): NormalizedBuildOptions {
  const project = projectInfo(context);
  for (const tag of options.tags ?? []) assertTag(tag, 'the tags option');
  assertNoCredentialArgs(options.buildArgs);
  const hash = taskHash(context);
  return {
    ...options,
    latest: options.latest ?? true,
    gitShaTag: options.gitShaTag ?? true,
    engine: options.engine ?? 'auto',
    registryCache: options.registryCache ?? true,
    // ML_DOCKER_BASE_IMAGE is applied per Dockerfile, below workspace dependencies.
    baseImage: options.baseImage,
    recordPath: recordPath(context.root, project.root, options.outputPath),
    // A rebuild keeps the tag the record already promised to test and push.
    contentTag: rebuild
      ? rebuild.contentTag
      : hash
        ? contentTag(hash)
        : undefined,
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
  const committed =
    git.sha && !git.dirty ? await commitTime(workspaceRoot) : undefined;
  labels['org.opencontainers.image.created'] =
    committed ?? new Date().toISOString();
  return labels;
}

/** pip's index settings: the generated Dockerfiles read them from build secrets (see build-secrets). */
const INDEX_ARGS = ['PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL'];

/**
 * BASE_IMAGE, weakest first: the environment's default (ML_DOCKER_BASE_IMAGE),
 * the exact image a workspace dependency just built, the baseImage option,
 * an explicit build arg.
 */
export function buildArgsFor(
  dockerfileText: string,
  opts: Pick<NormalizedBuildOptions, 'baseImage' | 'buildArgs'>,
  dependencyArgs: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const declared = declaredArgs(dockerfileText);
  const args: Record<string, string> = {};
  if (env.ML_DOCKER_BASE_IMAGE && declared.has('BASE_IMAGE'))
    args.BASE_IMAGE = env.ML_DOCKER_BASE_IMAGE;
  Object.assign(args, dependencyArgs);
  if (opts.baseImage && declared.has('BASE_IMAGE'))
    args.BASE_IMAGE = opts.baseImage;
  for (const name of INDEX_ARGS)
    if (opts.buildArgs?.[name] !== undefined && !declared.has(name))
      fail(
        `Build arg ${name} is not read by this Dockerfile: the generated Dockerfiles take the package index from a build secret, never a build arg. Set "secrets": { "${name.toLowerCase().replace(/_/g, '-')}": { "env": "${name}" } } and remove it from buildArgs (see README "Private package index").`,
      );
  Object.assign(args, opts.buildArgs ?? {});
  return args;
}
