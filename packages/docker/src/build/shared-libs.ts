/**
 * Workspace libraries an image copies in from their artifact image (the
 * library's docker/lib/Dockerfile: FROM scratch, its packages under /python/).
 * Each is named exactly as the library's own build names it, so the ARG
 * default also carries the graph edge.
 */
import {
  logger,
  readNxJson,
  readProjectConfiguration,
  TargetConfiguration,
  Tree,
} from '@nx/devkit';
import { fail } from '../errors/errors';
import { DEFAULT_REGISTRY, fullName } from '../registry/image-ref';
import { configuredTargetNames, dockerfileOf, EXECUTORS } from '../names/names';
import { imageRepository, NamingOptions } from '../record/project-images';

export interface SharedLib {
  project: string;
  /** Build stage the images COPY --from. */
  stage: string;
  /** Global ARG holding the library image's reference. */
  arg: string;
  ref: string;
}

const LIB_IMAGE = 'lib';

/** Options of a targetDefaults entry; the filtered (array) form is left to the user, with a warning. */
export function targetDefaultOptions(
  entry:
    Partial<TargetConfiguration> | Partial<TargetConfiguration>[] | undefined,
  key: string,
  what: string,
): Record<string, unknown> {
  if (!entry) return {};
  if (Array.isArray(entry)) {
    logger.warn(
      `nx.json has filtered targetDefaults for ${key}: ${what} does not read them; set the options on the project's target if they matter.`,
    );
    return {};
  }
  return (entry.options ?? {}) as Record<string, unknown>;
}

export function resolveSharedLibs(tree: Tree, libs: string[]): SharedLib[] {
  const nxJson = readNxJson(tree);
  const buildTarget = configuredTargetNames(nxJson).build;
  const defaults = nxJson?.targetDefaults ?? {};
  return libs.map((lib) => {
    let root: string;
    let targets: Record<string, TargetConfiguration> | undefined;
    try {
      ({ root, targets } = readProjectConfiguration(tree, lib));
    } catch {
      fail(
        `--sharedLibs names "${lib}", which is not a project of this workspace. Check the name with: nx show projects`,
      );
    }
    if (!tree.exists(`${root}/${dockerfileOf(LIB_IMAGE)}`)) {
      fail(
        `--sharedLibs names "${lib}", which has no ${dockerfileOf(LIB_IMAGE)}. A shared library ships as an artifact image (FROM scratch, its packages under /python/) that images COPY --from.`,
      );
    }
    const stage = lib.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    // The registry never comes from the environment here: generated files
    // must not depend on who ran nx g.
    const options = {
      ...targetDefaultOptions(
        defaults[buildTarget],
        buildTarget,
        '--sharedLibs',
      ),
      ...targetDefaultOptions(
        defaults[EXECUTORS.build],
        EXECUTORS.build,
        '--sharedLibs',
      ),
      ...targets?.[buildTarget]?.options,
    } as NamingOptions;
    const repo = imageRepository(lib, LIB_IMAGE, {
      ...options,
      registry: options.registry ?? DEFAULT_REGISTRY,
    });
    return {
      project: lib,
      stage,
      arg: `${stage.toUpperCase().replace(/-/g, '_')}_IMAGE`,
      ref: `${fullName(repo)}:latest`,
    };
  });
}
