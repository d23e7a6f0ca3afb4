/**
 * The repository uses its own plugin: examples/synth's Docker files are the
 * generator's output, committed. This fails when they drift apart.
 */
import { addProjectConfiguration, Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { imagesGenerator } from '../../packages/docker/src/generators/images/images';

const workspaceRoot = join(__dirname, '..', '..');
const synthRoot = 'examples/synth';
const GENERATED = [
  'docker/training/Dockerfile',
  'docker/training/entrypoint.sh',
  'docker/inference/Dockerfile',
  '.dockerignore',
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (/^(models|metrics|__pycache__|docker)$/.test(name)) return [];
    return statSync(p).isDirectory() ? sourceFiles(p) : [p];
  });
}

describe('examples/synth Docker files match @ml/docker:images output', () => {
  let tree: Tree;

  beforeAll(async () => {
    tree = createTreeWithEmptyWorkspace();
    for (const file of sourceFiles(join(workspaceRoot, synthRoot))) {
      if (file.endsWith('.dockerignore') || file.endsWith('project.json'))
        continue;
      tree.write(relative(workspaceRoot, file), readFileSync(file));
    }
    addProjectConfiguration(tree, 'synth', { root: synthRoot, targets: {} });
    await imagesGenerator(tree, { project: 'synth', skipFormat: true });
  });

  it.each(GENERATED)(
    '%s is exactly what the generator writes (regenerate: nx g @ml/docker:images --project=synth)',
    (file) => {
      const committed = readFileSync(
        join(workspaceRoot, synthRoot, file),
        'utf8',
      );
      expect(tree.read(`${synthRoot}/${file}`, 'utf-8')).toBe(committed);
    },
  );
});
