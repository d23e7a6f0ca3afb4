export { createDependencies, createNodes } from './plugins/plugin';
export type { MlDockerPluginOptions } from './plugins/plugin';
export { imagesGenerator } from './generators/images/images';
export type { ImagesGeneratorSchema } from './generators/images/schema';
export type { BuildRecord, ImageRecord } from './record/build-record';

export const name = '@ml/docker';
