/** The options of a build, as the docker-build target takes them (its schema.json documents each). */
export interface BuildOptions {
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
  /** Build secrets by id: from an environment variable or a file; never in a command line, log, record or image. */
  secrets?: Record<string, BuildSecretSource>;
  /** Network of the RUN steps. */
  network?: 'default' | 'host' | 'none';
  labels?: Record<string, string>;
  target?: string;
  platform?: string;
  pull?: boolean;
  noCache?: boolean;
  cacheFrom?: string[];
  /** Embed layer cache metadata in the image and reuse the registry's :latest as cache. */
  registryCache?: boolean;
  /** auto: Docker when an engine answers (buildx, else its BuildKit, else classic), else Podman. */
  engine?: 'auto' | 'buildx' | 'buildkit' | 'classic' | 'podman';
  /** buildx builder to build with (docker buildx create --name ...), e.g. a docker-container or remote builder. */
  builder?: string;
  /** Where a buildx builder whose driver exports cache keeps it: the registry (default), GitHub Actions' cache, or a folder. */
  cache?: { type: 'registry' | 'gha' | 'local'; dest?: string; scope?: string };
  /** Folder for build-record.json, relative to the workspace root. */
  outputPath?: string;
}

export interface BuildSecretSource {
  env?: string;
  src?: string;
}
