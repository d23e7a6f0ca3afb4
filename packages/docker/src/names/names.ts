/**
 * Every name the plugin agrees on with itself and with Nx: its package and
 * executor ids, the target names (which users can rename through the plugin
 * options in nx.json), which project owns a `docker/<image>/Dockerfile`, and
 * where records are written. Nothing else spells these out.
 */
import type { NxJsonConfiguration } from '@nx/devkit';
import { posix } from 'node:path';

export const PLUGIN_NAME = '@ml/docker';

export const EXECUTORS = {
  build: `${PLUGIN_NAME}:build`,
  test: `${PLUGIN_NAME}:test`,
  push: `${PLUGIN_NAME}:push`,
  train: `${PLUGIN_NAME}:train`,
  promote: `${PLUGIN_NAME}:promote`,
  deployManifests: `${PLUGIN_NAME}:deploy-manifests`,
  checkManifests: `${PLUGIN_NAME}:check-manifests`,
  releasePublish: `${PLUGIN_NAME}:release-publish`,
} as const;

/** The folder of a project's deployment manifests, beside docker/. */
export const DEPLOY_DIR = 'deploy';

/** Targets a project with a deploy/ folder gets: pin the tested digest, check manifests against the image. */
export const DEPLOY_TARGET_NAMES = {
  pin: 'docker-deploy-manifests',
  check: 'docker-check-manifests',
} as const;

/**
 * The technology every inferred target declares. Not "docker": nx release
 * hands every project with a "docker" target to @nx/docker's image
 * versioning whenever release.docker is configured anywhere in the
 * workspace, which would tag our projects a second time under another name.
 */
export const TECHNOLOGY = 'ml-docker';

/** What a release group's version.versionActions names in nx.json: our version actions, as the packed plugin ships them. */
export const VERSION_ACTIONS_PATH = `${PLUGIN_NAME}/src/release/version-actions`;

/** The target `nx release publish` runs on every project of the release; Nx fixes its name. */
export const RELEASE_PUBLISH_TARGET = 'nx-release-publish';

export interface MlDockerPluginOptions {
  buildTargetName?: string;
  testTargetName?: string;
  pushTargetName?: string;
  trainTargetName?: string;
  promoteTargetName?: string;
  /**
   * Where images live per stage, e.g. {"dev": {"registry": "europe-docker.pkg.dev/acme-dev/ml"}}:
   * docker-promote copies between them by name.
   */
  environments?: Record<string, { registry: string }>;
}

export interface TargetNames {
  build: string;
  test: string;
  push: string;
  /** Runs the training image and keeps what it writes, before the inference image is built. */
  train: string;
  /** Copies a tested digest from one environment's registry to another's. */
  promote: string;
}

export const DEFAULT_TARGET_NAMES: TargetNames = {
  build: 'docker-build',
  test: 'docker-test',
  push: 'docker-push',
  train: 'docker-train',
  promote: 'docker-promote',
};

export function targetNames(options: MlDockerPluginOptions = {}): TargetNames {
  return {
    build: options.buildTargetName ?? DEFAULT_TARGET_NAMES.build,
    test: options.testTargetName ?? DEFAULT_TARGET_NAMES.test,
    push: options.pushTargetName ?? DEFAULT_TARGET_NAMES.push,
    train: options.trainTargetName ?? DEFAULT_TARGET_NAMES.train,
    promote: options.promoteTargetName ?? DEFAULT_TARGET_NAMES.promote,
  };
}

/** The plugin's entry in nx.json, if it is registered. */
export function pluginEntry(
  nxJson: NxJsonConfiguration | null | undefined,
): { index: number; options: MlDockerPluginOptions } | undefined {
  const plugins = nxJson?.plugins ?? [];
  const index = plugins.findIndex(
    (p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN_NAME,
  );
  if (index < 0) return undefined;
  const entry = plugins[index];
  return {
    index,
    options:
      typeof entry === 'string'
        ? {}
        : ((entry.options ?? {}) as MlDockerPluginOptions),
  };
}

/** Target names as the workspace configured them (defaults when the plugin is not registered yet). */
export function configuredTargetNames(
  nxJson: NxJsonConfiguration | null | undefined,
): TargetNames {
  return targetNames(pluginEntry(nxJson)?.options);
}

/** Every image's Dockerfile, as a createNodes glob. */
export const DOCKERFILE_GLOB = '**/docker/*/Dockerfile';

const DOCKERFILE_PATH = /^(?:(.*)\/)?docker\/([^/]+)\/Dockerfile$/;

/**
 * The owner rule: `<projectRoot>/docker/<image>/Dockerfile` belongs to the
 * project at `<projectRoot>`, and `<image>` is the image's key.
 */
export function dockerfileOwner(
  file: string,
): { projectRoot: string; image: string } | undefined {
  const m = DOCKERFILE_PATH.exec(file.replace(/\\/g, '/'));
  return m ? { projectRoot: m[1] ?? '.', image: m[2] } : undefined;
}

/** The Dockerfile of one image, relative to the project root (posix). */
export function dockerfileOf(image: string): string {
  return posix.join('docker', image, 'Dockerfile');
}

/** The folder every project's images live under. */
export const DOCKER_DIR = 'docker';

/**
 * Where docker-build writes its record unless the outputPath option says
 * otherwise. A project at the workspace root gets a folder of its own, not
 * dist/docker itself, which holds every other project's records.
 */
export function defaultOutputPath(projectRoot: string): string {
  const root =
    projectRoot === '.' || projectRoot === '' ? '.workspace-root' : projectRoot;
  return posix.join('dist', 'docker', root);
}

export const BUILD_RECORD_FILE = 'build-record.json';
export const PUSH_RECORD_FILE = 'push-record.json';
/** What docker-test proved, beside the build record: promotion and deploy manifests read it. */
export const TEST_RECORD_FILE = 'test-record.json';
/** Every promotion of the build record's images, beside it: which digest went where, when. */
export const PROMOTION_RECORD_FILE = 'promotion-record.json';

/**
 * The version `nx release version` chose for a project's images, read by a
 * later `nx release publish`. Outside the build target's output folder: a
 * cache restore of docker-build replaces that folder and would drop it.
 */
export function releaseRecordPath(projectRoot: string): string {
  const root =
    projectRoot === '.' || projectRoot === '' ? '.workspace-root' : projectRoot;
  return posix.join('dist', 'docker-release', root, 'release-record.json');
}

/** Label on every container the plugin starts, so a leak is easy to find: docker ps -a --filter label=ml-docker.owner */
export const OWNER_LABEL = 'ml-docker.owner';

/**
 * Label a training image carries naming the folders its run writes (e.g.
 * "models/ metrics/"): docker-train mounts and collects them, and the
 * inference image that COPYs one of them is built after training.
 */
export const OUTPUTS_LABEL = 'ml-docker.outputs';

/** Label an inference image carries naming its liveness path: docker-test polls it unless told otherwise. */
export const HEALTH_PATH_LABEL = 'ml-docker.health-path';

/**
 * Label naming the readiness path the generator found in the app's source:
 * docker-test waits for it even when the route is left out of the OpenAPI
 * document (include_in_schema=False), where it cannot be discovered.
 */
export const READY_PATH_LABEL = 'ml-docker.ready-path';

/**
 * Label an inference image carries naming the folders its app writes (e.g.
 * "logs/"), relative to its working directory: docker-test runs it with a
 * read-only root filesystem and a tmpfs over each, as Kubernetes would with
 * readOnlyRootFilesystem and an emptyDir per folder.
 */
export const WRITABLE_LABEL = 'ml-docker.writable';

/** Label naming the variant an image is: "cpu", or "cuda<version>". */
export const ACCELERATOR_LABEL = 'ml-docker.accelerator';
