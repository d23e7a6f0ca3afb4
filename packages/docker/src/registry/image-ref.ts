/**
 * Image names and tags: `<registry>/<repository>/<name>:<tag>`. The seed's
 * Artifact Registry layout is registry `us-central1-docker.pkg.dev/<gcp-project>`,
 * repository `ml-images`, name `training`.
 */
import { fail } from '../errors/errors';

export const DEFAULT_REGISTRY = '127.0.0.1:5000';
export const DEFAULT_REPOSITORY = 'ml-images';

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const REGISTRY = /^[A-Za-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)*$/;

export function assertTag(tag: string, where: string): void {
  if (!TAG.test(tag)) {
    fail(
      `Invalid tag "${tag}" in ${where}: a tag is 1 to 128 of A-Z a-z 0-9 _ . - and may not start with . or -. Fix the tag option.`,
    );
  }
}

export function assertRepositoryPath(path: string, where: string): void {
  const parts = path.split('/');
  if (!path || parts.some((p) => !PATH_COMPONENT.test(p))) {
    fail(
      `Invalid image name "${path}" in ${where}: use lowercase letters, digits and single . _ - between them, with / between path components.`,
    );
  }
}

export function assertRegistry(registry: string): void {
  if (!REGISTRY.test(registry)) {
    fail(
      `Invalid registry "${registry}": give a host with an optional port and path, e.g. 127.0.0.1:5000 or us-central1-docker.pkg.dev/my-gcp-project.`,
    );
  }
}

export interface ImageName {
  registry: string;
  /** Repository path inside the registry, e.g. `ml-images/synth-training`. */
  path: string;
}

export function fullName(repo: ImageName): string {
  return repo.registry ? `${repo.registry}/${repo.path}` : repo.path;
}

export function imageRef(repo: ImageName, tag: string): string {
  return `${fullName(repo)}:${tag}`;
}

/** Splits `host[:port][/path...]` into the HTTP host and the path prefix inside it. */
export function splitRegistry(registry: string): {
  host: string;
  prefix: string;
} {
  const [host, ...rest] = registry.split('/');
  return { host, prefix: rest.join('/') };
}

/** Nx's task hash as a tag: stable for the same inputs on any machine. */
export function contentTag(taskHash: string): string {
  const clean = taskHash.replace(/[^A-Za-z0-9_.-]/g, '');
  return `nx-${clean.slice(0, 40)}`;
}

/**
 * A repository's path in the distribution API: everything after the host, so a
 * registry like us-central1-docker.pkg.dev/my-project keeps its path prefix.
 */
export function pathInRegistry(repository: string, registry: string): string {
  return repository.slice(splitRegistry(registry).host.length + 1);
}
