import {
  formatFiles,
  generateFiles,
  logger,
  NxJsonConfiguration,
  readNxJson,
  Tree,
  updateNxJson,
} from '@nx/devkit';
import { join } from 'node:path';
import { fail } from '../../errors/errors';
import {
  configuredTargetNames,
  EXECUTORS,
  pluginEntry,
  PLUGIN_NAME,
} from '../../names/names';
import { CiGeneratorSchema } from './schema';

export interface NormalizedCiSchema extends Required<
  Omit<
    CiGeneratorSchema,
    'pythonRepository' | 'prodRepository' | 'prodGcpProject'
  >
> {
  registry: string;
  /** Where releases promote to (`<region>-docker.pkg.dev/<project>/<repository>`), when asked. */
  prodRegistry?: string;
  /** The Artifact Registry Python index's URL, without credentials, when pythonRepository is set. */
  pythonIndex?: string;
}

/** docker-build reads the private index from this variable as its build secret pip-index-url. */
export const INDEX_SECRET = {
  'pip-index-url': { env: 'PIP_INDEX_URL' },
};

const REGION = /^[a-z]+-[a-z]+\d+$/;
const GCP_PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function normalizeOptions(
  options: CiGeneratorSchema,
): NormalizedCiSchema {
  const region = options.region ?? 'us-central1';
  if (!REGION.test(region))
    fail(
      `--region "${region}" is not a Google Cloud region such as us-central1.`,
    );
  for (const [flag, value] of [
    ['gcpProject', options.gcpProject],
    ...(options.prodGcpProject !== undefined
      ? [['prodGcpProject', options.prodGcpProject]]
      : []),
  ] as const) {
    if (!value || !GCP_PROJECT.test(value))
      fail(
        `--${flag} "${value ?? ''}" is not a Google Cloud project ID (6 to 30 lowercase letters, digits or hyphens).`,
      );
  }
  const repository = options.repository ?? 'ml-images';
  if (
    options.cache !== undefined &&
    !['registry', 'gha'].includes(options.cache)
  )
    fail(`--cache must be registry or gha (got "${options.cache}").`);
  const branch = options.branch ?? 'main';
  const workflowName = options.workflowName ?? 'docker-images';
  for (const [flag, value] of [
    ['repository', repository],
    ['branch', branch],
    ['workflowName', workflowName],
    ...(options.pythonRepository !== undefined
      ? [['pythonRepository', options.pythonRepository]]
      : []),
    ...(options.prodRepository !== undefined
      ? [['prodRepository', options.prodRepository]]
      : []),
  ]) {
    if (!NAME.test(value))
      fail(`--${flag} "${value}" may hold only letters, digits and . _ -.`);
  }
  return {
    region,
    gcpProject: options.gcpProject,
    repository,
    branch,
    workflowName,
    cache: options.cache ?? 'registry',
    skipFormat: options.skipFormat ?? false,
    registry: `${region}-docker.pkg.dev/${options.gcpProject}`,
    prodRegistry: options.prodRepository
      ? `${region}-docker.pkg.dev/${options.prodGcpProject ?? options.gcpProject}/${options.prodRepository}`
      : undefined,
    pythonIndex: options.pythonRepository
      ? `${region}-python.pkg.dev/${options.gcpProject}/${options.pythonRepository}/simple/`
      : undefined,
  };
}

export async function ciGenerator(tree: Tree, options: CiGeneratorSchema) {
  const o = normalizeOptions(options);
  const file = `.github/workflows/${o.workflowName}.yml`;
  if (tree.exists(file))
    fail(
      `${file} exists already. Choose another --workflowName or remove the file.`,
    );
  const nxJson = readNxJson(tree) ?? {};
  generateFiles(tree, join(__dirname, 'files'), '.', {
    ...o,
    pythonIndex: o.pythonIndex,
    prodRegistry: o.prodRegistry,
    targets: configuredTargetNames(nxJson),
    tmpl: '',
  });
  // The images go where the workflow pushes them: the repository is a build
  // option, set for every target of the build executor.
  const targetDefaults = (nxJson.targetDefaults ??= {});
  const current = targetDefaults[EXECUTORS.build] ?? {};
  let changed = !!o.prodRegistry;
  if (Array.isArray(current)) {
    logger.warn(
      `nx.json has filtered targetDefaults for ${EXECUTORS.build}: set options.repository to "${o.repository}", options.cache to { "type": "${o.cache}" } and options.secrets to ${JSON.stringify(INDEX_SECRET)} there yourself.`,
    );
  } else {
    targetDefaults[EXECUTORS.build] = {
      ...current,
      options: {
        ...current.options,
        repository: o.repository,
        cache: { type: o.cache },
        secrets: { ...current.options?.secrets, ...INDEX_SECRET },
      },
    };
    changed = true;
  }
  if (o.prodRegistry)
    setEnvironments(nxJson, {
      dev: { registry: `${o.registry}/${o.repository}` },
      prod: { registry: o.prodRegistry },
    });
  if (changed) updateNxJson(tree, nxJson);
  if (!o.skipFormat) await formatFiles(tree);
}

/**
 * The environments docker-promote copies between, in the plugin's options:
 * the release job names them (--from=dev --to=prod). Others are kept.
 */
function setEnvironments(
  nxJson: NxJsonConfiguration,
  environments: Record<string, { registry: string }>,
): void {
  const entry = pluginEntry(nxJson);
  const plugins = (nxJson.plugins ??= []);
  const options = {
    ...entry?.options,
    environments: { ...entry?.options.environments, ...environments },
  };
  if (entry) plugins[entry.index] = { plugin: PLUGIN_NAME, options };
  else plugins.push({ plugin: PLUGIN_NAME, options });
}

export default ciGenerator;
