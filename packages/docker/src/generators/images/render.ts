/**
 * Renders the templates under files/ to text, without touching the tree, so
 * every conflict is known before anything is written: a refusal leaves the
 * workspace exactly as it was.
 */
import { joinPathFragments, Tree } from '@nx/devkit';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../../lib/errors';
import {
  generatedBy,
  markGenerated,
  wasEditedByHand,
} from './generated-marker';

export interface RenderedFile {
  path: string;
  content: string;
}

// ejs is what @nx/devkit's generateFiles uses; rendering to strings needs it directly.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ejs = require('ejs') as {
  render(template: string, data: object, options: { filename: string }): string;
};

/** Every template of a folder, rendered, with generateFiles' naming (__tmpl__ dropped, __dot__ a dot). */
export function renderFolder(
  templateDir: string,
  targetDir: string,
  data: object,
): RenderedFile[] {
  return readdirSync(templateDir, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const file = join(templateDir, e.name);
      const text = ejs.render(readFileSync(file, 'utf8'), data, {
        filename: file,
      });
      const path = joinPathFragments(
        targetDir,
        e.name.replace(/__tmpl__/g, '').replace(/__dot__/g, '.'),
      );
      return { path, content: markGenerated(path, text) };
    });
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
