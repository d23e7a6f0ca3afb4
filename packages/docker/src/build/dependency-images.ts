/**
 * For each ARG whose default names an image another workspace project builds
 * (ARG BASE_IMAGE=…/ml-base-base:latest), the exact image that project's
 * build recorded, present in this engine: a dependent never builds on a
 * stale `latest`, on this machine or after a cache hit on another.
 */
import { ExecutorContext, logger } from '@nx/devkit';
import { join } from 'node:path';
import { readBuildRecord, recordPathOfTarget } from '../record/build-record';
import { imageUses, repositoryPathOf } from '../dockerfile/dockerfile';
import { Engine } from '../engine/engine';
import { fail } from '../errors/errors';
import { ensureLocalImage } from '../record/image-availability';
import { workspaceImageIndex } from '../record/workspace-images';

export async function dependencyImageArgs(
  dockerfileText: string,
  context: ExecutorContext,
  currentProject: string,
  engine: Engine,
  buildTargetName: string,
): Promise<Record<string, string>> {
  const uses = imageUses(dockerfileText).filter((u) => u.arg);
  if (uses.length === 0) return {};
  const projects = context.projectsConfigurations.projects;
  const index = workspaceImageIndex(projects, context.root, buildTargetName);
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
    const path = recordPathOfTarget(context, depInfo, dep.buildTarget);
    const image = readBuildRecord(
      path,
      dep.project,
      dep.buildTarget,
    )?.images.find((i) => i.image === dep.image);
    if (!image) {
      fail(
        `${use.arg} names ${dep.project}'s ${dep.image} image, which has no build record at ${path}. Build it first: nx run ${dep.project}:${dep.buildTarget} (${buildTargetName} depends on ^${buildTargetName}, so nx run-many and nx affected do this for you).`,
      );
    }
    await ensureLocalImage(engine, image, {
      project: dep.project,
      buildTarget: dep.buildTarget,
    });
    args[use.arg!] = `${image.name}:${image.contentTag ?? image.tags[0]}`;
    logger.info(
      `@ml/docker: ${use.arg}=${args[use.arg!]} (built by ${dep.project})`,
    );
  }
  return args;
}
