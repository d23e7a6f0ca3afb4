export { imagesGenerator } from './generators/images/images';
export type { ImagesGeneratorSchema } from './generators/images/schema';
export type { BuildRecord, ImageRecord } from './lib/build-record';
