export type ImageKind = 'training' | 'inference';

export interface ImagesGeneratorSchema {
  project: string;
  /** Which images to write: both by default. */
  image?: 'all' | ImageKind;
  baseImage?: string;
  pythonVersion?: string;
  port?: number;
  healthPath?: string;
  /** Module path of the FastAPI app, e.g. src.serve.app:app; found when the project has exactly one. */
  appModule?: string;
  trainingModule?: string;
  user?: string;
  uid?: number;
  /** Workspace library projects whose artifact image (docker/lib/Dockerfile) the images copy in. */
  sharedLibs?: string[];
  /** Replace files the user edited since they were generated. */
  overwrite?: boolean;
  skipFormat?: boolean;
}
