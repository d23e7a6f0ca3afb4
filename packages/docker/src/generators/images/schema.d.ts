export type ImageKind = 'training' | 'inference';

export interface ImagesGeneratorSchema {
  project: string;
  /** Which images to write: both by default. */
  image?: 'all' | ImageKind;
  baseImage?: string;
  /** A number when typed on nx's command line (it parses 3.13 as 3.13, and 3.10 as 3.1). */
  pythonVersion?: string | number;
  port?: number;
  /** Liveness path; found in the app's routes when not given, else /health. */
  healthPath?: string;
  /** Readiness path; found in the app's routes when not given, else none. */
  readyPath?: string;
  /** Module path of the FastAPI app, e.g. src.serve.app:app; found when the project has exactly one. */
  appModule?: string;
  /** Python module the training image runs; found when not given. */
  trainingModule?: string;
  /** Command (with arguments) the training image runs, e.g. "python -m pkg.train --config configs/base.yaml". */
  trainingCommand?: string;
  /** Extra files or folders both images copy (configs the code reads at run time). */
  runtimeFiles?: string[];
  /** Files or folders inspection found that the images should not copy. */
  excludeRuntimeFiles?: string[];
  /** Debian packages installed in the runtime stage of both images (e.g. libpq5). */
  systemPackages?: string[];
  /** cpu (default), or cuda / cuda<major>.<minor>: also write CUDA variants of the selected images. */
  accelerator?: string;
  user?: string;
  uid?: number;
  /** Workspace library projects whose artifact image (docker/lib/Dockerfile) the images copy in. */
  sharedLibs?: string[];
  /** Replace files the user edited since they were generated, or wrote by hand. */
  overwrite?: boolean;
  skipFormat?: boolean;
}
