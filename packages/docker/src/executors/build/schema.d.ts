export interface BuildExecutorSchema {
  /** Images to build (folder names under docker/); default: every docker/<image>/Dockerfile. */
  images?: string[];
  registry?: string;
  repository?: string;
  imageNames?: Record<string, string>;
  /** Extra tags for every image. */
  tags?: string[];
  latest?: boolean;
  gitShaTag?: boolean;
  baseImage?: string;
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  target?: string;
  platform?: string;
  pull?: boolean;
  noCache?: boolean;
  cacheFrom?: string[];
  /** Embed layer cache metadata in the image and reuse the registry's :latest as cache. */
  registryCache?: boolean;
  engine?: 'auto' | 'buildx' | 'buildkit' | 'classic';
  /** Folder for build-record.json, relative to the workspace root. */
  outputPath?: string;
}
