import {
  formatFiles,
  logger,
  NxJsonConfiguration,
  readNxJson,
  Tree,
  updateNxJson,
} from '@nx/devkit';
import { fail } from '../../errors/errors';
import {
  DOCKERFILE_GLOB,
  MlDockerPluginOptions,
  PLUGIN_NAME,
  pluginEntry,
  targetNames,
} from '../../names/names';
import { addReleaseGroup } from '../../release/release-config';
import { InitGeneratorSchema } from './schema';

const NX_DOCKER = '@nx/docker';
const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9:_-]*$/;

type PluginEntry = NonNullable<NxJsonConfiguration['plugins']>[number];

function requestedOptions(o: InitGeneratorSchema): MlDockerPluginOptions {
  const options: MlDockerPluginOptions = {};
  for (const key of [
    'buildTargetName',
    'testTargetName',
    'pushTargetName',
    'trainTargetName',
  ] as const) {
    const value = o[key];
    if (value === undefined) continue;
    if (!TARGET_NAME.test(value))
      fail(
        `--${key} "${value}" is not a target name: use letters, digits and : _ - (e.g. docker-build).`,
      );
    options[key] = value;
  }
  // With the defaults of the names not given: a test target called
  // docker-build would silently replace the build target.
  const names = Object.values(targetNames(options));
  if (new Set(names).size !== names.length)
    fail(`The target names must differ (got ${names.join(', ')}).`);
  return options;
}

/**
 * @nx/docker infers a project from every Dockerfile; told to skip ours, each
 * docker/<image>/Dockerfile has one owner and the graph stays valid.
 */
function excludeOurDockerfiles(entry: PluginEntry): PluginEntry {
  const object = typeof entry === 'string' ? { plugin: entry } : { ...entry };
  const exclude = object.exclude ?? [];
  if (exclude.includes(DOCKERFILE_GLOB)) return entry;
  return { ...object, exclude: [...exclude, DOCKERFILE_GLOB] };
}

/** Registers the plugin in nx.json once; what `nx add @ml/docker` runs. */
export function registerPlugin(
  tree: Tree,
  options: InitGeneratorSchema = {},
): void {
  const wanted = requestedOptions(options);
  const nxJson: NxJsonConfiguration = readNxJson(tree) ?? {};
  const plugins = [...(nxJson.plugins ?? [])];
  const existing = pluginEntry(nxJson);
  if (!existing) {
    plugins.push(
      Object.keys(wanted).length
        ? { plugin: PLUGIN_NAME, options: wanted }
        : PLUGIN_NAME,
    );
  } else if (Object.keys(wanted).length) {
    // Options given now are added; options the workspace set stay as they are.
    const merged = { ...wanted, ...existing.options };
    plugins[existing.index] = {
      ...(typeof plugins[existing.index] === 'object'
        ? (plugins[existing.index] as object)
        : {}),
      plugin: PLUGIN_NAME,
      options: merged,
    };
    for (const key of Object.keys(wanted) as Array<
      keyof MlDockerPluginOptions
    >) {
      if (
        existing.options[key] !== undefined &&
        existing.options[key] !== wanted[key]
      )
        logger.warn(
          `${PLUGIN_NAME} is registered with ${key} "${existing.options[key]}"; kept it (asked for "${wanted[key]}"). Edit nx.json to change it.`,
        );
    }
  }
  for (let i = 0; i < plugins.length; i++) {
    const p = plugins[i];
    if ((typeof p === 'string' ? p : p.plugin) === NX_DOCKER)
      plugins[i] = excludeOurDockerfiles(p);
  }
  if (JSON.stringify(plugins) === JSON.stringify(nxJson.plugins ?? [])) return;
  updateNxJson(tree, { ...nxJson, plugins });
}

export async function initGenerator(tree: Tree, options: InitGeneratorSchema) {
  registerPlugin(tree, options);
  if (options.release) addReleaseGroup(tree);
  if (!options.skipFormat) await formatFiles(tree);
}

export default initGenerator;
