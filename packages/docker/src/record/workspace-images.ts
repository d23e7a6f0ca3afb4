/**
 * Which workspace project builds which image: the map from a repository path
 * (registry host and tag stripped) to the project and image key. Used to turn
 * a Dockerfile's FROM / COPY --from into project graph edges, and to hand a
 * dependent build the exact image its dependency just built.
 */
import type { ProjectConfiguration } from '@nx/devkit';
import { join } from 'node:path';
import { fullName, pathInRegistry } from '../registry/image-ref';
import { DEFAULT_TARGET_NAMES, EXECUTORS } from '../names/names';
import {
  imageRepository,
  listDockerfiles,
  NamingOptions,
} from './project-images';

export interface WorkspaceImage {
  project: string;
  image: string;
  /** Full image name, `<registry>/<path>`. */
  name: string;
  buildTarget: string;
}

/** The project's target that runs our build executor (inferred or explicit). */
export function buildTargetOf(
  config: ProjectConfiguration,
  preferred = DEFAULT_TARGET_NAMES.build,
): string | undefined {
  const targets = config.targets ?? {};
  if (targets[preferred]?.executor === EXECUTORS.build) return preferred;
  return Object.keys(targets).find(
    (t) =>
      targets[t].executor === EXECUTORS.build && !targets[t].options?.images,
  );
}

export function workspaceImageIndex(
  projects: Record<string, ProjectConfiguration>,
  workspaceRoot: string,
  preferredBuildTarget = DEFAULT_TARGET_NAMES.build,
): Map<string, WorkspaceImage> {
  const index = new Map<string, WorkspaceImage>();
  for (const [project, config] of Object.entries(projects)) {
    const buildTarget = buildTargetOf(config, preferredBuildTarget);
    if (!buildTarget) continue;
    const options = (config.targets?.[buildTarget]?.options ??
      {}) as NamingOptions;
    for (const image of listDockerfiles(join(workspaceRoot, config.root))) {
      try {
        const repo = imageRepository(project, image, options);
        index.set(pathInRegistry(fullName(repo), repo.registry), {
          project,
          image,
          name: fullName(repo),
          buildTarget,
        });
      } catch {
        // an invalid name is reported when that project builds
      }
    }
  }
  return index;
}
