/**
 * The repository uses its own plugin: the example models' Docker files are the
 * generator's output, committed. This fails when they drift apart.
 */
import { addProjectConfiguration, Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { imagesGenerator } from '../../packages/docker/src/generators/images/images';
import { ImagesGeneratorSchema } from '../../packages/docker/src/generators/images/schema';

const workspaceRoot = join(__dirname, '..', '..');
const GENERATED = [
  'docker/training/Dockerfile',
  'docker/training/entrypoint.sh',
  'docker/inference/Dockerfile',
  '.dockerignore',
];
/** The options each example was generated with: the README's example section, plus --trainingModule=src.model.train. */
const EXAMPLES: Array<Omit<ImagesGeneratorSchema, 'skipFormat'>> = [
  {
    project: 'synth',
    baseImage: '127.0.0.1:5000/ml-images/ml-base:latest',
    sharedLibs: ['ml-common'],
    trainingModule: 'src.model.train',
  },
  {
    project: 'churn',
    baseImage: '127.0.0.1:5000/ml-images/ml-base:latest',
    sharedLibs: ['ml-common'],
    trainingModule: 'src.model.train',
  },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (/^(models|metrics|__pycache__)$/.test(name)) return [];
    return statSync(p).isDirectory() ? sourceFiles(p) : [p];
  });
}

describe.each(EXAMPLES)(
  'examples/$project Docker files match @ml/docker:images output',
  (options) => {
    const root = `examples/${options.project}`;
    let tree: Tree;

    beforeAll(async () => {
      tree = createTreeWithEmptyWorkspace();
      for (const project of [options.project, ...(options.sharedLibs ?? [])]) {
        for (const file of sourceFiles(
          join(workspaceRoot, 'examples', project),
        )) {
          const rel = relative(join(workspaceRoot, 'examples', project), file);
          if (
            rel === 'project.json' ||
            (project === options.project && GENERATED.includes(rel))
          )
            continue;
          tree.write(relative(workspaceRoot, file), readFileSync(file));
        }
        addProjectConfiguration(tree, project, {
          root: `examples/${project}`,
          targets: {},
        });
      }
      await imagesGenerator(tree, { ...options, skipFormat: true });
    });

    it.each(GENERATED)(
      `%s is exactly what the generator writes (regenerate: see the README)`,
      (file) => {
        const committed = readFileSync(join(workspaceRoot, root, file), 'utf8');
        expect(tree.read(`${root}/${file}`, 'utf-8')).toBe(committed);
      },
    );
  },
);
