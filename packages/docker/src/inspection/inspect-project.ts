/**
 * Reads a Python ML project the way its own tools would (pip, setuptools,
 * uvicorn, dvc) and says what its images need: which folders to copy, how
 * to install it, which FastAPI app to serve, how training starts, and which
 * config and model files the code reads. It only reads the devkit Tree, so
 * dry runs and specs see exactly what a real run would. Each question is a
 * module of this folder; this one asks them in order and assembles the
 * answer.
 */
import { Tree } from '@nx/devkit';
import { posix } from 'node:path';
import { findApp } from './app';
import { checkOptions } from './check-options';
import { frameworksOf, readInstall } from './dependencies';
import { readLayout } from './layout';
import { modelPaths } from './model-paths';
import { PathLiterals } from './path-literals';
import {
  InspectionContext,
  InspectOptions,
  ProjectInspection,
} from './project-inspection';
import { MAX_FILES, ProjectFiles, uniq } from './project-files';
import { torchPinOf } from './readers/requirements';
import { findRoutes } from './routes';
import { runtimeFiles } from './runtime-files';
import { ProjectModules } from './sources';
import { dvcStagesOf, findTraining } from './training-entry';
import { writableFoldersOf } from './writable-folders';

export type {
  InspectOptions,
  ProjectInspection,
  TrainingEntry,
} from './project-inspection';
export { summarize } from './summary';
export { pythonModuleOf } from './sources';
export { torchPinOf } from './readers/requirements';

/** Inspects the project at projectRoot; fails with a UserFacingError the user can act on. */
export function inspectProject(
  tree: Tree,
  projectRoot: string,
  options: InspectOptions = {},
): ProjectInspection {
  const ctx: InspectionContext = {
    files: new ProjectFiles(tree, projectRoot),
    options,
    name:
      options.projectName ??
      (posix.basename(projectRoot.replace(/\/+$/, '')) || projectRoot),
    where: projectRoot === '' ? '.' : projectRoot,
    warnings: [],
  };
  const needsApp = options.needsApp ?? true;
  checkOptions(ctx);
  const install = readInstall(ctx);
  const { layout, importRoot } = readLayout(ctx.files, options, {
    installable: install.install.installable,
    srcLayout: install.srcLayout,
  });
  const modules = new ProjectModules(ctx.files, importRoot);
  const python = modules.python;
  const frameworks = frameworksOf(install.dependencies);

  const dvc = dvcStagesOf(ctx);
  const appFinding = findApp(python, {
    projectName: ctx.name,
    where: ctx.where,
    files: modules.searchable(),
    appModule: options.appModule,
    needsApp,
    fileOfModule: (m) => modules.fileOfModule(m),
    srcRoot: importRoot === 'src',
  });
  ctx.warnings.push(...appFinding.warnings);
  const training = findTraining(
    ctx,
    modules,
    dvc,
    install.consoleScripts,
    frameworks,
  );

  // Entries the images run: everything they import must be copied.
  const entryFiles: string[] = [];
  const forcedUnits: string[] = [];
  if (appFinding.appFile) entryFiles.push(appFinding.appFile);
  entryFiles.push(...training.entryFiles);
  forcedUnits.push(...training.forcedUnits);
  const closure = modules.closure(entryFiles);
  const installed = new Set(install.installedUnits);
  let sources = uniq([...closure, ...forcedUnits]).filter(
    (u) => forcedUnits.includes(u) || !installed.has(u),
  );
  if (
    !install.install.installable &&
    entryFiles.length === 0 &&
    forcedUnits.length === 0
  )
    sources = modules.allSourceUnits();
  sources.sort();

  const health =
    appFinding.app && appFinding.appFile
      ? findRoutes(python, appFinding.app, appFinding.appFile)
      : {
          warnings: [] as string[],
          healthPath: undefined,
          readyPath: undefined,
          healthFrom: undefined,
        };
  if (needsApp) ctx.warnings.push(...health.warnings);
  if (appFinding.app && needsApp && !health.healthPath)
    ctx.warnings.push(
      `No GET route found for ${appFinding.app} and its OpenAPI document is off (openapi_url=None): the inference image's HEALTHCHECK and docker-test need a path to probe. Add a GET /health, or pass --healthPath=<path of a GET route>.`,
    );

  const depsKnown =
    install.dependencies.length > 0 || install.rawRequirements.length > 0;
  if (depsKnown && appFinding.app && needsApp) {
    const fastapiStandard = install.rawRequirements.some((r) =>
      /^fastapi\s*\[[^\]]*\b(standard|all)\b/i.test(r),
    );
    if (!install.dependencies.includes('uvicorn') && !fastapiStandard)
      ctx.warnings.push(
        `uvicorn is not in the runtime dependencies: add uvicorn to ${install.addTo} (the inference image runs python -m uvicorn).`,
      );
  }
  if (training.entry.kind === 'dvc' && !training.entry.dvcDeclared)
    ctx.warnings.push(
      `dvc.yaml has stages but dvc is not in the runtime dependencies: add dvc to ${install.addTo} (the training image runs dvc repro).`,
    );

  const sourceFiles = modules.filesOfUnits(
    uniq([...sources, ...install.installedUnits]),
  );
  const writable = writableFoldersOf(
    ctx,
    python,
    appFinding.appFile,
    training.entryFiles,
    dvc,
  );
  const appFiles = appFinding.appFile
    ? modules.filesOfUnits(modules.closure([appFinding.appFile]))
    : [];
  const trainingFiles = modules.filesOfUnits(
    uniq([...modules.closure(training.entryFiles), ...training.forcedUnits]),
  );
  const paths = new PathLiterals(ctx.files, modules, appFiles);
  const runtime = runtimeFiles(
    ctx,
    paths,
    sourceFiles,
    dvc,
    training.entry,
    sources,
    install.installedUnits,
    [...writable.training, ...writable.inference],
  );
  const models = modelPaths(
    ctx,
    python,
    paths,
    appFiles,
    trainingFiles,
    dvc,
    sources,
  );
  if (ctx.files.truncated)
    ctx.warnings.push(
      `Stopped looking after ${MAX_FILES} files in ${ctx.where}: move large folders (data, outputs) out of the project or into .gitignore'd data/, then rerun if something was missed.`,
    );

  const torchPin = torchPinOf(install.rawRequirements);
  return {
    projectName: ctx.name,
    projectRoot,
    layout,
    importRoot,
    sources,
    install: install.install,
    dependencies: install.dependencies,
    frameworks,
    ...(torchPin ? { torchPin } : {}),
    ...(appFinding.app ? { app: appFinding.app } : {}),
    appFactory: appFinding.factory,
    apps: appFinding.apps,
    factories: appFinding.factories,
    ...(health.healthPath ? { healthPath: health.healthPath } : {}),
    ...(health.readyPath ? { readyPath: health.readyPath } : {}),
    ...(health.healthFrom ? { healthFrom: health.healthFrom } : {}),
    writableFolders: writable,
    training: training.entry,
    runtimeFiles: runtime,
    modelPaths: models.paths,
    modelsCommitted: models.committed,
    ...(Object.keys(models.where).length ? { modelSources: models.where } : {}),
    warnings: uniq([...install.warnings, ...ctx.warnings]),
  };
}
