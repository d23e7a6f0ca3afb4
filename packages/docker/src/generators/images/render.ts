/**
 * Renders the templates under files/ to text, without touching the tree, so
 * every conflict is known before anything is written: a refusal leaves the
 * workspace exactly as it was.
 */
import { joinPathFragments } from '@nx/devkit';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { markGenerated } from '../../generated-files/generated-marker';
import type { RenderedFile } from '../../generated-files/generated-files';

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
