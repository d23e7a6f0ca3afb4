/**
 * Files a generator writes, checked before any is written: a file the user
 * edited, or wrote by hand, is never replaced silently, so a refusal leaves
 * the workspace exactly as it was. Shared by the images and deploy generators.
 */
import { Tree } from '@nx/devkit';
import { fail } from '../errors/errors';
import { generatedBy, wasEditedByHand } from './generated-marker';

export interface RenderedFile {
  path: string;
  content: string;
}

/**
 * Refuses, before anything is written, to replace a file the user edited or
 * wrote by hand, unless --overwrite: each case with its own message, since
 * the choices differ.
 */
export function refuseConflicts(
  tree: Tree,
  files: RenderedFile[],
  overwrite: boolean,
  /** Another generator's name and what to say about a hand-written file it would replace. */
  by: { generator: string; keep: string } = { generator: 'images', keep: '' },
): void {
  if (overwrite) return;
  for (const f of files) {
    if (!tree.exists(f.path)) continue;
    const before = tree.read(f.path, 'utf-8')!;
    if (before === f.content || !wasEditedByHand(before)) continue;
    if (!generatedBy(before)) {
      const image = /(^|\/)docker\/([^/]+)\//.exec(f.path)?.[2];
      const other = image?.startsWith('training') ? 'inference' : 'training';
      const keep = by.keep
        ? by.keep
        : image
          ? `Keep it (docker-build, docker-test and docker-push work with any docker/<image>/Dockerfile; generate only the other image with --image=${other})`
          : 'Keep it';
      fail(
        `${f.path} was written by hand, not by @ml/docker:${by.generator}; it was left as it is and nothing was written. ${keep}, or replace it with --overwrite.`,
      );
    }
    fail(
      `${f.path} was edited since it was generated; it was left as it is and nothing was written. Rerun with --overwrite to replace it (your edits are lost), or merge the changes by hand.`,
    );
  }
}

export function writeFiles(tree: Tree, files: RenderedFile[]): void {
  for (const f of files) tree.write(f.path, f.content);
}
