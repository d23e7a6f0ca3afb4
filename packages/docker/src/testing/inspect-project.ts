/**
 * Spec helpers: a project written into a fresh devkit tree and inspected,
 * or the refusal it gets.
 */
import { Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { UserFacingError } from '../errors/errors';
import {
  inspectProject,
  InspectOptions,
  ProjectInspection,
} from '../inspection/inspect-project';

export const ROOT = 'apps/ml';

export type Files = Record<string, string>;

export const MAIN_GUARD = '\n\nif __name__ == "__main__":\n    main()\n';

export function treeWith(files: Files, root = ROOT): Tree {
  const tree = createTreeWithEmptyWorkspace();
  for (const [path, content] of Object.entries(files))
    tree.write(root ? `${root}/${path}` : path, content);
  return tree;
}

/** Inspects files laid out under root (default apps/ml, named ml). */
export function inspect(
  files: Files,
  options: InspectOptions = {},
  root = ROOT,
): ProjectInspection {
  return inspectProject(treeWith(files, root), root, {
    projectName: 'ml',
    ...options,
  });
}

/** The message inspection refuses files with (fails the spec when it does not refuse). */
export function refusal(files: Files, options: InspectOptions = {}): string {
  try {
    inspect(files, options);
  } catch (e) {
    expect(e).toBeInstanceOf(UserFacingError);
    return (e as Error).message;
  }
  throw new Error('inspectProject did not refuse');
}
