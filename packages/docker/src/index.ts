import type { Tree } from '@nx/devkit';
import type { ImagesGeneratorSchema } from './generators/images/schema';

export { createDependencies, createNodes } from './plugins/plugin';
export type { MlDockerPluginOptions } from './plugins/plugin';
export type { ImagesGeneratorSchema } from './generators/images/schema';
export type { BuildRecord, ImageRecord } from './record/build-record';

export const name = '@ml/docker';

/**
 * The images generator, for other generators to call. Loaded on first use:
 * Nx loads this module for createNodes on every command, and the generator
 * brings the Python parsers and templates with it.
 */
export async function imagesGenerator(
  tree: Tree,
  options: ImagesGeneratorSchema,
): ReturnType<typeof import('./generators/images/images').imagesGenerator> {
  const { imagesGenerator: generate } = await import(
    './generators/images/images'
  );
  return generate(tree, options);
}
