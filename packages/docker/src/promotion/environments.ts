/**
 * Environments: the registries a team keeps per stage (dev, prod), named in
 * the plugin options in nx.json or in the promote target's options, so a
 * command says `--from=dev --to=prod` and never spells a registry.
 */
import type { NxJsonConfiguration } from '@nx/devkit';
import { fail } from '../errors/errors';
import { assertRegistry, splitRegistry } from '../registry/image-ref';
import { pluginEntry } from '../names/names';

export interface EnvironmentConfig {
  /** Host and path every image of the stage lives under, e.g. europe-docker.pkg.dev/acme-prod/ml. */
  registry: string;
}

export interface Environment {
  name: string;
  registry: string;
  /** The HTTP host of the distribution API. */
  host: string;
  /** The path under the host that image names follow. */
  prefix: string;
}

/** The plugin options' environments, with the target's own taking precedence by name. */
export function configuredEnvironments(
  nxJson: NxJsonConfiguration | null | undefined,
  fromTarget: Record<string, EnvironmentConfig> = {},
): Record<string, EnvironmentConfig> {
  return {
    ...(pluginEntry(nxJson)?.options.environments ?? {}),
    ...fromTarget,
  };
}

/** The named environment, or one line listing those that exist. */
export function resolveEnvironment(
  environments: Record<string, EnvironmentConfig>,
  name: string | undefined,
  option: 'from' | 'to',
): Environment {
  const known = Object.keys(environments);
  const listed = known.length
    ? `Known environments: ${known.join(', ')}.`
    : 'No environment is defined.';
  if (!name)
    fail(
      `docker-promote needs --${option}=<environment>. ${listed} Define them in nx.json's @ml/docker plugin options ("environments": {"dev": {"registry": "…"}, "prod": {"registry": "…"}}).`,
    );
  const config = Object.prototype.hasOwnProperty.call(environments, name)
    ? environments[name]
    : undefined;
  if (!config?.registry)
    fail(
      `Unknown environment "${name}" (--${option}). ${listed} Define it in nx.json's @ml/docker plugin options ("environments": {"${name}": {"registry": "<host>/<path>"}}) or in the target's environments option.`,
    );
  const registry = config.registry.replace(/\/+$/, '');
  assertRegistry(registry);
  return { name, registry, ...splitRegistry(registry) };
}

/** An image's repository path inside an environment's registry: its prefix, then the image's own name. */
export function pathIn(env: Environment, imageName: string): string {
  const own = imageName.slice(imageName.lastIndexOf('/') + 1);
  return env.prefix ? `${env.prefix}/${own}` : own;
}
