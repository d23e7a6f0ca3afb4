import {
  formatFiles,
  generateFiles,
  joinPathFragments,
  readNxJson,
  readProjectConfiguration,
  Tree,
  updateNxJson,
  updateProjectConfiguration,
  visitNotIgnoredFiles,
} from '@nx/devkit';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../../lib/errors';
import { DEFAULT_REGISTRY, fullName } from '../../lib/image-ref';
import { imageRepository, NamingOptions } from '../../lib/project-images';
import { EXECUTORS, PLUGIN_NAME } from '../../lib/names';
import { ImageKind, ImagesGeneratorSchema } from './schema';
import { markGenerated, wasEditedByHand } from './generated-marker';

export interface NormalizedImagesSchema {
  projectName: string;
  projectRoot: string;
  images: ImageKind[];
  baseImage: string;
  port: number;
  healthPath: string;
  appModule?: string;
  trainingModule: string;
  user: string;
  uid: number;
  overwrite: boolean;
  skipFormat: boolean;
  installFrom: 'requirements' | 'pyproject';
  sourceDir: string;
  pipelineFiles: string[];
  /** Workspace libraries copied in from their artifact images (docker/lib/Dockerfile). */
  sharedLibs: Array<{
    project: string;
    stage: string;
    arg: string;
    ref: string;
  }>;
}

const DEFAULT_HEALTH_PATH = '/health';
const PIPELINE_FILES = [
  'params.yaml',
  'dvc.yaml',
  'dvc.lock',
  'configs',
  '.dvc/config',
];
const MODULE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const APP_MODULE =
  /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$/;
const HEALTH_PATH = /^\/[A-Za-z0-9._~\-/]*$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
// Characters a Docker image reference allows (with an optional @sha256 digest).
const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9._\-/:]*(@sha256:[a-f0-9]{64})?$/;

export function normalizeOptions(
  tree: Tree,
  options: ImagesGeneratorSchema,
): NormalizedImagesSchema {
  let projectRoot: string;
  try {
    projectRoot = readProjectConfiguration(tree, options.project).root;
  } catch {
    fail(
      `Project "${options.project}" does not exist in this workspace. Check the name with: nx show projects`,
    );
  }
  const image = options.image ?? 'all';
  if (!['all', 'training', 'inference'].includes(image)) {
    fail(`--image must be all, training or inference (got "${image}").`);
  }
  const images: ImageKind[] =
    image === 'all' ? ['training', 'inference'] : [image];

  const installFrom = tree.exists(join(projectRoot, 'requirements.txt'))
    ? 'requirements'
    : tree.exists(join(projectRoot, 'pyproject.toml'))
      ? 'pyproject'
      : fail(
          `Project "${options.project}" has nothing to install: no requirements.txt or pyproject.toml in ${projectRoot}. Add one listing the Python dependencies, then rerun.`,
        );

  const pythonVersion = options.pythonVersion ?? '3.10';
  if (!/^3\.\d{1,2}$/.test(pythonVersion))
    fail(`--pythonVersion must look like 3.10 (got "${pythonVersion}").`);
  const baseImage = options.baseImage ?? `python:${pythonVersion}-slim`;
  if (!IMAGE_REF.test(baseImage)) {
    fail(
      `--baseImage "${baseImage}" is not an image reference (e.g. python:3.10-slim or registry/path/image:tag).`,
    );
  }
  const port = options.port ?? 8000;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    fail(`--port must be an integer from 1 to 65535 (got ${port}).`);
  const healthPath = options.healthPath ?? DEFAULT_HEALTH_PATH;
  if (!HEALTH_PATH.test(healthPath)) {
    fail(
      `--healthPath must start with / and hold only letters, digits and . _ ~ - / (got "${healthPath}").`,
    );
  }
  const trainingModule = options.trainingModule ?? 'src.model.train';
  if (!MODULE.test(trainingModule))
    fail(
      `--trainingModule must be a dotted Python module such as src.model.train (got "${trainingModule}").`,
    );
  const user = options.user ?? 'mluser';
  if (!USER.test(user))
    fail(
      `--user must be a valid Linux user name such as mluser (got "${user}").`,
    );
  const uid = options.uid ?? 10001;
  if (!Number.isInteger(uid) || uid < 1000)
    fail(
      `--uid must be a number of at least 1000, so the user is not a system or root account (got ${uid}).`,
    );

  const sourceDir = 'src';
  if (!tree.exists(join(projectRoot, sourceDir))) {
    fail(
      `Project "${options.project}" has no ${sourceDir}/ folder in ${projectRoot}: the images copy the Python sources from there.`,
    );
  }

  let appModule = options.appModule;
  if (images.includes('inference')) {
    if (appModule && !APP_MODULE.test(appModule)) {
      fail(
        `--appModule must look like package.module:app (got "${appModule}").`,
      );
    }
    appModule ??= findFastApiApp(tree, projectRoot, options.project);
  }
  if (images.includes('training') && options.trainingModule === undefined) {
    const file = join(projectRoot, ...trainingModule.split('.')) + '.py';
    if (!tree.exists(file)) {
      fail(
        `The training module ${trainingModule} does not exist (${file}). Pass --trainingModule=<package.module>, or --image=inference for a serving-only project.`,
      );
    }
  }

  const sharedLibs = (options.sharedLibs ?? []).map((lib) => {
    let root: string;
    try {
      root = readProjectConfiguration(tree, lib).root;
    } catch {
      fail(
        `--sharedLibs names "${lib}", which is not a project of this workspace. Check the name with: nx show projects`,
      );
    }
    if (!tree.exists(join(root, 'docker', 'lib', 'Dockerfile'))) {
      fail(
        `--sharedLibs names "${lib}", which has no docker/lib/Dockerfile. A shared library ships as an artifact image (FROM scratch, its packages under /python/) that images COPY --from.`,
      );
    }
    const stage = lib.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    // Named exactly as the library's own build names it, so the ARG default
    // also carries the graph edge. The registry never comes from the
    // environment here: generated files must not depend on who ran nx g.
    const targetDefaults = readNxJson(tree)?.targetDefaults ?? {};
    const fromDefaults = [
      targetDefaults['docker-build'],
      targetDefaults[EXECUTORS.build],
    ].map((d) => (d && !Array.isArray(d) ? d.options : {}));
    const libOptions = {
      ...fromDefaults[0],
      ...fromDefaults[1],
      ...readProjectConfiguration(tree, lib).targets?.['docker-build']?.options,
    } as NamingOptions;
    const repo = imageRepository(lib, 'lib', {
      ...libOptions,
      registry: libOptions.registry ?? DEFAULT_REGISTRY,
    });
    return {
      project: lib,
      stage,
      arg: `${stage.toUpperCase().replace(/-/g, '_')}_IMAGE`,
      ref: `${fullName(repo)}:latest`,
    };
  });

  return {
    sharedLibs,
    projectName: options.project,
    projectRoot,
    images,
    baseImage,
    port,
    healthPath,
    appModule,
    trainingModule,
    user,
    uid,
    overwrite: options.overwrite ?? false,
    skipFormat: options.skipFormat ?? false,
    installFrom,
    sourceDir,
    pipelineFiles: PIPELINE_FILES.filter((f) =>
      tree.exists(join(projectRoot, f)),
    ),
  };
}

/** The one FastAPI app of the project, as module:attribute. */
export function findFastApiApp(
  tree: Tree,
  projectRoot: string,
  project: string,
): string {
  const found = new Set<string>();
  visitNotIgnoredFiles(tree, projectRoot, (file) => {
    const rel =
      projectRoot === '.' || projectRoot === ''
        ? file
        : file.slice(projectRoot.length + 1);
    if (!rel.endsWith('.py') || /(^|\/)(tests?|\.venv|venv)\//.test(rel))
      return;
    const text = tree.read(file, 'utf-8') ?? '';
    // Indented too: apps are often created inside an if/else on the FastAPI version.
    for (const m of text.matchAll(
      /^[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?::[^=\n]+)?=[ \t]*(?:fastapi\.)?FastAPI\(/gm,
    )) {
      const module = rel.replace(/\.py$/, '').replace(/\/__init__$/, '');
      found.add(`${module.split('/').join('.')}:${m[1]}`);
    }
  });
  if (found.size === 1) return [...found][0];
  if (found.size === 0) {
    fail(
      `No FastAPI app found in project "${project}" (looked for "app = FastAPI(" in its .py files). Pass --appModule=package.module:app, or --image=training.`,
    );
  }
  fail(
    `Project "${project}" has several FastAPI apps (${[...found].join(', ')}). Choose one with --appModule.`,
  );
}

/**
 * Renders every file first, then refuses before anything is kept if one of
 * them was edited by hand: on refusal the tree is exactly as it was.
 */
function writeImageFiles(tree: Tree, o: NormalizedImagesSchema): void {
  const folders: Array<[string, string, Record<string, unknown>]> = [
    ...o.images.map((kind): [string, string, Record<string, unknown>] => [
      kind,
      joinPathFragments(o.projectRoot, 'docker', kind),
      { imageKind: kind },
    ]),
    ['common', o.projectRoot, { imageKind: '' }],
  ];
  const previous = new Map<string, string | undefined>();
  const rendered = new Map<string, string>();
  for (const [folder, target, extra] of folders) {
    const files = generatedFiles(join(__dirname, 'files', folder), target);
    for (const file of files)
      previous.set(
        file,
        tree.exists(file) ? tree.read(file, 'utf-8')! : undefined,
      );
    generateFiles(tree, join(__dirname, 'files', folder), target, {
      ...o,
      ...extra,
      tmpl: '',
      dot: '.',
    });
    for (const file of files)
      rendered.set(file, markGenerated(file, tree.read(file, 'utf-8')!));
  }
  const edited = [...rendered].find(([file, next]) => {
    const before = previous.get(file);
    return before !== undefined && before !== next && wasEditedByHand(before);
  });
  if (edited && !o.overwrite) {
    for (const [file, before] of previous) {
      if (before === undefined) tree.delete(file);
      else tree.write(file, before);
    }
    fail(
      `${edited[0]} was edited since it was generated; it was left as it is and nothing was written. Rerun with --overwrite to replace it (your edits are lost), or merge the changes by hand.`,
    );
  }
  for (const [file, next] of rendered) tree.write(file, next);
}

function generatedFiles(src: string, target: string): string[] {
  // Mirrors generateFiles' naming: __tmpl__ is dropped, __dot__ becomes a dot.
  return readdirSync(src).map((f) =>
    joinPathFragments(
      target,
      f.replace(/__tmpl__/g, '').replace(/__dot__/g, '.'),
    ),
  );
}

/** Registers the plugin once: it infers docker-build, docker-test and docker-push. */
export function registerPlugin(tree: Tree): void {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = nxJson.plugins ?? [];
  const registered = plugins.some(
    (p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN_NAME,
  );
  if (registered) return;
  nxJson.plugins = [...plugins, PLUGIN_NAME];
  updateNxJson(tree, nxJson);
}

/** Only what differs from the inferred defaults goes into project.json. */
function writeTargetOverrides(tree: Tree, o: NormalizedImagesSchema): void {
  const config = readProjectConfiguration(tree, o.projectName);
  const service = config.targets?.['docker-test']?.options?.service;
  if (o.healthPath === DEFAULT_HEALTH_PATH) {
    // Back to the default: drop an override an earlier run wrote.
    if (
      service?.healthPath !== undefined &&
      service.healthPath !== DEFAULT_HEALTH_PATH
    ) {
      delete service.healthPath;
      updateProjectConfiguration(tree, o.projectName, config);
    }
    return;
  }
  config.targets ??= {};
  const test = (config.targets['docker-test'] ??= {});
  test.options = {
    ...test.options,
    service: { ...test.options?.service, healthPath: o.healthPath },
  };
  updateProjectConfiguration(tree, o.projectName, config);
}

export async function imagesGenerator(
  tree: Tree,
  options: ImagesGeneratorSchema,
) {
  const normalized = normalizeOptions(tree, options);
  writeImageFiles(tree, normalized);
  registerPlugin(tree);
  writeTargetOverrides(tree, normalized);
  if (!normalized.skipFormat) await formatFiles(tree);
}

export default imagesGenerator;
