/**
 * The nx.json release group for a workspace's ML image projects, written by
 * `nx g @ml/docker:init --release` (and printed in the README). Only into an
 * nx.json without a release block: once nx.json has release groups, a
 * project outside them is no longer released, so adding one to a workspace
 * that already releases its packages would silently drop them.
 */
import {
  getProjects,
  logger,
  NxJsonConfiguration,
  readNxJson,
  Tree,
  updateNxJson,
} from '@nx/devkit';
import { join } from 'node:path';
import { DOCKER_DIR, dockerfileOf, VERSION_ACTIONS_PATH } from '../names/names';

export const RELEASE_GROUP = 'ml-images';

export function mlReleaseGroup(projects: string[]) {
  return {
    projects,
    // Each project has its own pyproject.toml version and its own image tags.
    projectsRelationship: 'independent' as const,
    version: {
      versionActions: VERSION_ACTIONS_PATH,
      currentVersionResolver: 'disk' as const,
    },
  };
}

/** The projects that own a docker/<image>/Dockerfile. */
export function mlImageProjects(tree: Tree): string[] {
  return [...getProjects(tree)]
    .filter(([, p]) => hasImages(tree, p.root))
    .map(([name]) => name)
    .sort();
}

/** Writes the release group when nx.json has no release block; otherwise says what to add. */
export function addReleaseGroup(tree: Tree): void {
  const nxJson: NxJsonConfiguration = readNxJson(tree) ?? {};
  const projects = mlImageProjects(tree);
  const block = { groups: { [RELEASE_GROUP]: mlReleaseGroup(projects) } };
  if (projects.length === 0) {
    logger.warn(
      `@ml/docker: no project has a ${DOCKER_DIR}/<image>/Dockerfile yet, so no release group was written. Generate the images first (nx g @ml/docker:images <project>), then run nx g @ml/docker:init --release.`,
    );
    return;
  }
  if (nxJson.release) {
    logger.warn(
      `@ml/docker: nx.json has a release block already; it was left as it is. To release the images with nx release, add this group to release.groups (a workspace with groups releases only the projects in them):\n${JSON.stringify(block.groups, null, 2)}`,
    );
    return;
  }
  updateNxJson(tree, { ...nxJson, release: block });
}

// The generator's tree, not the disk: the images generator may have just written them.
function hasImages(tree: Tree, projectRoot: string): boolean {
  const dir = join(projectRoot, DOCKER_DIR);
  return (
    tree.exists(dir) &&
    !tree.isFile(dir) &&
    tree
      .children(dir)
      .some((image) => tree.isFile(join(projectRoot, dockerfileOf(image))))
  );
}
