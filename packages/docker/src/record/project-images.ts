/**
 * Which images a project has (one per `docker/<image>/Dockerfile`) and what
 * they are called. Shared by every executor so build, test and push agree.
 */
import { ExecutorContext } from '@nx/devkit';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors/errors';
import { DOCKER_DIR, dockerfileOf, PLUGIN_NAME } from '../names/names';
import {
  assertRegistry,
  assertRepositoryPath,
  DEFAULT_REGISTRY,
  DEFAULT_REPOSITORY,
  ImageName,
} from '../registry/image-ref';

export interface NamingOptions {
  images?: string[];
  registry?: string;
  repository?: string;
  imageNames?: Record<string, string>;
  outputPath?: string;
}

export interface ProjectImage {
  image: string;
  dockerfile: string;
  repo: ImageName;
}

export interface ProjectInfo {
  name: string;
  root: string;
  /** Absolute project root: the build context. */
  absRoot: string;
}

export function projectInfo(context: ExecutorContext): ProjectInfo {
  const name = context.projectName;
  const config = name
    ? context.projectsConfigurations.projects[name]
    : undefined;
  if (!name || !config)
    fail('This executor must run on a project: nx run <project>:<target>.');
  return { name, root: config.root, absRoot: join(context.root, config.root) };
}

/** The image keys of a project: every docker/<image>/Dockerfile under its root. */
export function listDockerfiles(absProjectRoot: string): string[] {
  const dir = join(absProjectRoot, DOCKER_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter(
      (d) =>
        d.isDirectory() &&
        existsSync(join(absProjectRoot, dockerfileOf(d.name))),
    )
    .map((d) => d.name)
    .sort(byConventionalOrder);
}

// Training before inference: in an ML project the model comes out of training.
function byConventionalOrder(a: string, b: string): number {
  const order = (x: string) =>
    x === 'training' ? 0 : x === 'inference' ? 2 : 1;
  return order(a) - order(b) || a.localeCompare(b);
}

export function resolveRegistry(options: NamingOptions): string {
  const registry = (
    options.registry ??
    process.env.ML_DOCKER_REGISTRY ??
    DEFAULT_REGISTRY
  ).replace(/\/+$/, '');
  assertRegistry(registry);
  return registry;
}

export function resolveImages(
  project: ProjectInfo,
  options: NamingOptions,
): ProjectImage[] {
  const available = listDockerfiles(project.absRoot);
  const wanted = options.images?.length ? options.images : available;
  if (wanted.length === 0) {
    fail(
      `Project ${project.name} has no docker/<image>/Dockerfile. Generate them: nx g ${PLUGIN_NAME}:images --project=${project.name}`,
    );
  }
  return wanted.map((image) => {
    const dockerfile = join(project.absRoot, dockerfileOf(image));
    if (!existsSync(dockerfile)) {
      fail(
        `No Dockerfile for image "${image}" at ${join(project.root, dockerfileOf(image))}. Generate it (nx g ${PLUGIN_NAME}:images --project=${project.name}) or remove "${image}" from the images option.`,
      );
    }
    return {
      image,
      dockerfile,
      repo: imageRepository(project.name, image, options),
    };
  });
}

/** Where an image of a project lives: `<registry>/<repository>/<name>`. */
export function imageRepository(
  project: string,
  image: string,
  options: NamingOptions,
): ImageName {
  const repository = options.repository ?? DEFAULT_REPOSITORY;
  const name =
    options.imageNames?.[image] ?? `${project}-${image}`.toLowerCase();
  const path = repository ? `${repository}/${name}` : name;
  assertRepositoryPath(path, `image "${image}" of ${project}`);
  return { registry: resolveRegistry(options), path };
}

export function taskHash(context: ExecutorContext): string | undefined {
  if (process.env.NX_TASK_HASH) return process.env.NX_TASK_HASH;
  const id = `${context.projectName}:${context.targetName}${context.configurationName ? `:${context.configurationName}` : ''}`;
  return context.taskGraph?.tasks?.[id]?.hash;
}
