import { formatFiles, logger, Tree } from '@nx/devkit';
import { join } from 'node:path';
import { resolveCudaVariant } from '../../accelerator/accelerator';
import { fail } from '../../errors/errors';
import {
  inspectProject,
  ProjectInspection,
  summarize,
} from '../../inspection/inspect-project';
import { resolveSharedLibs, SharedLib } from '../../build/shared-libs';
import { registerPlugin } from '../init/init';
import { validateOptions, ValidatedOptions } from './options';
import { renderFolder } from './render';
import {
  refuseConflicts,
  RenderedFile,
  writeFiles,
} from '../../generated-files/generated-files';
import { ImageKind, ImagesGeneratorSchema } from './schema';

const PIPELINE_FILES = ['params.yaml', 'dvc.yaml', 'dvc.lock', '.dvc/config'];
const SYSTEM_PACKAGE_FILES = ['apt.txt', 'packages.txt'];
const DEBIAN_PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;

/** One image the generator writes: its folder under docker/ and the variant it is. */
interface ImageToWrite {
  key: string;
  kind: ImageKind;
  accelerator: AcceleratorData;
}

type AcceleratorData =
  | { kind: 'cpu'; label: 'cpu' }
  | {
      kind: 'cuda';
      label: string;
      cuda: string;
      framework: 'torch';
      torch: string;
      indexUrl: string;
      baseImage: string;
    };

const CPU: AcceleratorData = { kind: 'cpu', label: 'cpu' };

function imagesToWrite(
  o: ValidatedOptions,
  inspection: ProjectInspection,
): ImageToWrite[] {
  const cpu = o.images.map((kind) => ({ kind, key: kind, accelerator: CPU }));
  if (o.accelerator.kind === 'cpu') return cpu;
  if (!inspection.frameworks.includes('torch'))
    fail(
      `--accelerator=${o.accelerator.cuda ? `cuda${o.accelerator.cuda}` : 'cuda'} needs a GPU framework in the project's runtime dependencies, and none was found (looked for torch). Add torch to the dependencies, or leave --accelerator at cpu.`,
    );
  const v = resolveCudaVariant({
    cuda: o.accelerator.cuda,
    python: o.pythonVersion,
    torch: inspection.torchPin,
    torchFrom: "the version the project's dependencies pin",
  });
  const accelerator: AcceleratorData = {
    kind: 'cuda',
    label: `cuda${v.cuda}`,
    cuda: v.cuda,
    framework: 'torch',
    torch: v.torch,
    indexUrl: v.indexUrl,
    baseImage: v.baseImage,
  };
  // CPU and CUDA side by side: the CPU variant can be tested on any runner.
  return [
    ...cpu,
    ...o.images.map((kind) => ({
      kind,
      key: `${kind}${v.imageSuffix}`,
      accelerator,
    })),
  ];
}

/** Debian packages the runtime stages install: the option, plus apt.txt / packages.txt (repo2docker's and Streamlit's conventions). */
function systemPackages(
  tree: Tree,
  o: ValidatedOptions,
): { packages: string[]; from?: string } {
  const fromFiles: string[] = [];
  let from: string | undefined;
  for (const name of SYSTEM_PACKAGE_FILES) {
    const text = tree.read(join(o.projectRoot, name), 'utf-8');
    if (text === null) continue;
    from = name;
    for (const pkg of text
      .split(/\r?\n/)
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean)) {
      if (!DEBIAN_PACKAGE.test(pkg))
        fail(
          `${join(o.projectRoot, name)} lists "${pkg}", which is not a Debian package name (lowercase letters, digits and + . -, one per line). Fix that line, then rerun.`,
        );
      fromFiles.push(pkg);
    }
  }
  return { packages: [...new Set([...o.systemPackages, ...fromFiles])], from };
}

const FOLDER = /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._@+\-/]+$/;

/** The folders an image's code writes, as the Dockerfile names them (relative, no trailing /). */
function writableDirs(
  folders: string[] | undefined,
  image: ImageKind,
): string[] {
  const dirs = (folders ?? []).map((f) =>
    f.replace(/^(\.\/)+/, '').replace(/\/+$/, ''),
  );
  for (const d of dirs)
    if (!FOLDER.test(d))
      fail(
        `The ${image} code writes to the folder "${d}", which the generated Dockerfile cannot make writable: it must be a path inside the project of letters, digits and . _ @ + - /. Rename the folder in the code, then rerun.`,
      );
  return [...new Set(dirs)];
}

function folderOf(path: string): string {
  return path.includes('/') ? `${path.split('/')[0]}/` : path;
}

export function templateData(
  tree: Tree,
  o: ValidatedOptions,
  inspection: ProjectInspection,
  sharedLibs: SharedLib[],
  images: ImageToWrite[],
) {
  const system = systemPackages(tree, o);
  const training = inspection.training;
  const trainingCommand =
    training.kind === 'none' ? undefined : training.command;
  // DVC needs git at run time (dvc pull, dvc repro read the pipeline's history).
  const dvc =
    training.kind === 'dvc' ||
    inspection.frameworks.includes('dvc') ||
    tree.exists(join(o.projectRoot, 'dvc.yaml'));
  const outputs = [...new Set(inspection.modelPaths.map(folderOf))];
  // A pipeline's metrics (dvc.yaml names them) are kept with the model.
  if (
    !outputs.includes('metrics/') &&
    tree.exists(join(o.projectRoot, 'dvc.yaml'))
  ) {
    const dvcYaml = tree.read(join(o.projectRoot, 'dvc.yaml'), 'utf-8') ?? '';
    for (const [, dir] of dvcYaml.matchAll(
      /^\s+metrics:\s*\n\s+-\s+["']?([\w.-]+)\//gm,
    ))
      if (!outputs.includes(`${dir}/`)) outputs.push(`${dir}/`);
  }
  const byKey = new Map(images.map((i) => [i.key, i]));
  const outputDirs = (outputs.length ? outputs : ['models/']).map((p) =>
    p.replace(/\/$/, ''),
  );
  return {
    projectName: o.projectName,
    port: o.port,
    healthPath: images.some((i) => i.kind === 'inference')
      ? healthPathOf(o, inspection)
      : undefined,
    readyPath: o.readyPath ?? inspection.readyPath,
    appModule: inspection.app,
    appFactory: inspection.appFactory ?? false,
    user: o.user,
    uid: o.uid,
    sharedLibs,
    install: inspection.install,
    sources: inspection.sources,
    // Modules under src/ imported without the src. prefix, and not installed.
    pythonPath:
      inspection.importRoot === 'src' && !inspection.install.installable
        ? '/app/src'
        : undefined,
    runtimeFiles: inspection.runtimeFiles,
    modelPaths: inspection.modelPaths.filter(
      (p) =>
        tree.exists(join(o.projectRoot, p.replace(/\/$/, ''))) ||
        outputs.length > 0,
    ),
    // From the project's code, not from what happens to lie in the working
    // tree: a model trained locally (and git-ignored) must not change the file.
    modelFrom:
      training.kind === 'none'
        ? inspection.modelsCommitted
          ? 'the committed model files'
          : 'none in the project; mount it at run time or name it with --runtimeFiles'
        : training.kind === 'dvc'
          ? 'dvc repro (docker-train) or dvc pull puts it in the build context first'
          : 'docker-train runs the training image first and keeps what it writes',
    trainingFiles: [
      ...new Set([
        ...PIPELINE_FILES.filter(
          (f) =>
            tree.exists(join(o.projectRoot, f)) &&
            !o.excludeRuntimeFiles.includes(f),
        ),
        ...inspection.runtimeFiles,
      ]),
    ],
    trainingCommand: trainingCommand
      ? `[${trainingCommand.map((a) => JSON.stringify(a)).join(', ')}]`
      : '[]',
    trainingDescription: trainingCommand?.join(' ') ?? '',
    outputs: outputs.length ? outputs : ['models/'],
    trainingDirs: [
      ...new Set([
        'data',
        ...outputDirs,
        ...writableDirs(inspection.writableFolders?.training, 'training'),
      ]),
    ],
    inferenceDirs: writableDirs(
      inspection.writableFolders?.inference,
      'inference',
    ),
    aptPackages: system.packages,
    trainingAptPackages: [
      ...new Set([
        ...(dvc ? ['git', 'ca-certificates'] : []),
        ...system.packages,
      ]),
    ],
    systemPackagesFrom: system.from,
    baseImageFor: (key: string) => {
      const a = byKey.get(key)?.accelerator ?? CPU;
      if (a.kind === 'cuda') return a.baseImage;
      return o.baseImage ?? `python:${o.pythonVersion}-slim`;
    },
    acceleratorFor: (key: string) => byKey.get(key)?.accelerator ?? CPU,
  };
}

/**
 * The liveness path the HEALTHCHECK and the health-path label name: the
 * option, else what inspection found (a liveness route, or its fallback: the
 * OpenAPI document or a GET route). Never a guess: a HEALTHCHECK on a path
 * the app does not serve marks a working server unhealthy.
 */
function healthPathOf(
  o: ValidatedOptions,
  inspection: ProjectInspection,
): string {
  const path = o.healthPath ?? inspection.healthPath;
  if (!path)
    fail(
      `${inspection.app ?? 'The app'} serves no GET route the inference image can probe for liveness (no /health-like route, no GET route without parameters, no OpenAPI document): its HEALTHCHECK and docker-test need one. Add a route such as @app.get("/health"), or pass --healthPath=<path of a GET route the app answers with 2xx>.`,
    );
  return path;
}

export function renderImageFiles(
  tree: Tree,
  o: ValidatedOptions,
  inspection: ProjectInspection,
  sharedLibs: SharedLib[],
): RenderedFile[] {
  const images = imagesToWrite(o, inspection);
  const data = templateData(tree, o, inspection, sharedLibs, images);
  return [
    ...images.flatMap((image) =>
      renderFolder(
        join(__dirname, 'files', image.kind),
        join(o.projectRoot, 'docker', image.key),
        { ...data, imageKind: image.key },
      ),
    ),
    ...renderFolder(join(__dirname, 'files', 'common'), o.projectRoot, {
      ...data,
      imageKind: '',
    }),
  ];
}

/**
 * Inspects the project, says what it found, renders every file, refuses a
 * conflict before anything is written, then writes and registers the plugin.
 */
export async function imagesGenerator(
  tree: Tree,
  options: ImagesGeneratorSchema,
) {
  const o = validateOptions(tree, options);
  const inspection = inspectProject(tree, o.projectRoot, {
    projectName: o.projectName,
    appModule: o.appModule,
    trainingModule: o.trainingModule,
    trainingCommand: o.trainingCommand,
    runtimeFiles: o.runtimeFiles,
    excludeRuntimeFiles: o.excludeRuntimeFiles,
    needsApp: o.images.includes('inference'),
    needsTraining: o.imagesExplicit && o.images.includes('training'),
  });
  // A serving-only project (no training code) gets the inference image
  // alone; asked for a training image, it is refused. Its model is the one
  // committed, or comes at run time: say which.
  if (!o.imagesExplicit && inspection.training.kind === 'none') {
    o.images = o.images.filter((i) => i !== 'training');
    if (inspection.modelsCommitted) {
      logger.info(
        `@ml/docker: ${o.projectName} has no training code and a committed model: writing the inference image only (--image=training to insist).`,
      );
      for (const [path, at] of Object.entries(inspection.modelSources ?? {}))
        logger.info(`  Model: ${path} (named at ${at}), baked into the image`);
    } else
      logger.warn(
        `@ml/docker: ${o.projectName} has no training code and no model files in the project: writing the inference image only (--image=training to insist), with no model baked in. Mount the model when the container runs (docker run -v <model folder>:/app/<path the app reads>), or bake committed files in with --runtimeFiles=<path>.`,
      );
  }
  logger.info(`@ml/docker: ${o.projectName} (${o.projectRoot})`);
  for (const line of summarize(inspection)) logger.info(`  ${line}`);
  const system = systemPackages(tree, o);
  if (system.packages.length) {
    const from = [
      ...(o.systemPackages.length ? ['--systemPackages'] : []),
      ...(system.from ? [system.from] : []),
    ];
    logger.info(
      `  System packages: ${system.packages.join(', ')} (from ${from.join(' and ')})`,
    );
  }
  for (const w of inspection.warnings) logger.warn(`  ${w}`);
  const sharedLibs = resolveSharedLibs(tree, o.sharedLibs);
  const files = renderImageFiles(tree, o, inspection, sharedLibs);
  refuseConflicts(tree, files, o.overwrite);
  writeFiles(tree, files);
  registerPlugin(tree);
  if (!o.skipFormat) await formatFiles(tree);
}

export default imagesGenerator;
