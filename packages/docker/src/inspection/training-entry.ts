/**
 * How the training image starts training, and the files that entry runs
 * (their imports are copied as source).
 */
import { posix } from 'node:path';
import { fail } from '../errors/errors';
import { pythonEntries } from './commands';
import { DvcStage, readDvcStages } from './dvc';
import { InspectionContext, TrainingEntry } from './project-inspection';
import { normalizeRel } from './project-files';
import { argvCommands } from './readers/shell';
import { ProjectModules } from './sources';

const TRAIN_STEM =
  /^(?:train|training|fit)(?:_[A-Za-z0-9_]+)?$|^[A-Za-z0-9_]+_(?:train|training|fit)$/;

/** The stages of dvc.yaml (none without one); their warnings join the run's. */
export function dvcStagesOf(ctx: InspectionContext): DvcStage[] {
  const text = ctx.files.read('dvc.yaml');
  if (text === undefined) return [];
  const read = readDvcStages(text);
  ctx.warnings.push(...read.warnings);
  return read.stages;
}

/** How the training image starts training: options first, then dvc.yaml, a train.py with a main guard, a console script. */
export function findTraining(
  ctx: InspectionContext,
  modules: ProjectModules,
  stages: DvcStage[],
  consoleScripts: Record<string, string>,
  frameworks: string[],
): { entry: TrainingEntry; entryFiles: string[]; forcedUnits: string[] } {
  const entryFiles: string[] = [];
  const forcedUnits: string[] = [];
  const wantsTraining = ctx.options.needsTraining ?? true;
  // Every stage runs under dvc repro, so each one's code is an entry.
  const addCommand = (argv: string[], wdir = '.') => {
    const { modules: entryModules, files } = pythonEntries(argv);
    for (const m of entryModules) {
      const file = modules.fileOfModule(m, true);
      if (file) entryFiles.push(file);
    }
    for (const f of files) {
      const rel = normalizeRel(posix.join(wdir, f));
      if (rel && ctx.files.isFile(rel)) {
        entryFiles.push(rel);
        forcedUnits.push(modules.unitOf(rel));
      }
    }
  };

  const o = ctx.options;
  if (o.trainingModule) {
    const file = modules.fileOfModule(o.trainingModule, true);
    if (!file)
      fail(
        `The training module ${o.trainingModule} does not exist in ${ctx.where} (no ${o.trainingModule.split('.').join('/')}.py${modules.importRoot === 'src' ? ' under src/' : ''}). Pass --trainingModule=<package.module>, or --image=inference for a serving-only project.`,
      );
    entryFiles.push(file);
    return {
      entry: {
        kind: 'module',
        module: o.trainingModule,
        command: ['python', '-m', o.trainingModule],
      },
      entryFiles,
      forcedUnits,
    };
  }
  if (o.trainingCommand) {
    for (const c of argvCommands(o.trainingCommand).commands)
      addCommand(c.argv, c.dir);
    return {
      entry: { kind: 'command', command: [...o.trainingCommand] },
      entryFiles,
      forcedUnits,
    };
  }

  if (stages.length) {
    for (const stage of stages) {
      for (const c of stage.commands) addCommand(c.argv, c.dir);
      for (const dep of stage.deps) {
        const rel = normalizeRel(posix.join(stage.wdir, dep));
        if (!rel || !ctx.files.exists(rel)) continue;
        if (
          rel.endsWith('.py') ||
          (ctx.files.isDir(rel) &&
            ctx.files.filesUnder(rel).some((p) => p.endsWith('.py')))
        )
          forcedUnits.push(modules.unitOf(rel));
      }
    }
    const train =
      stages.find((s) => /^train/.test(s.name)) ??
      stages.find((s) => /train|fit/.test(s.name)) ??
      stages[stages.length - 1];
    let module: string | undefined;
    for (const c of train.commands) {
      const { modules: entryModules, files } = pythonEntries(c.argv);
      module ??=
        entryModules[0] ??
        (files[0]
          ? modules.moduleOf(normalizeRel(posix.join(c.dir, files[0])) ?? '')
          : undefined);
    }
    const files = ['dvc.yaml', 'dvc.lock', '.dvc/config', '.dvcignore'].filter(
      (p) => ctx.files.isFile(p),
    );
    return {
      entry: {
        kind: 'dvc',
        command: ['dvc', 'repro'],
        stages: stages.map((s) => s.name),
        dvcDeclared: frameworks.includes('dvc'),
        files,
        ...(module ? { module } : {}),
      },
      entryFiles,
      forcedUnits,
    };
  }

  const candidates = modules
    .searchable()
    .filter((p) => {
      const base = posix.basename(p, '.py');
      const parent = posix.basename(posix.dirname(p));
      return (
        TRAIN_STEM.test(base) ||
        (base === '__main__' && TRAIN_STEM.test(parent))
      );
    })
    .filter(
      (p) => modules.python.module(p).hasMainGuard || p.endsWith('__main__.py'),
    )
    .map((p) => ({
      file: p,
      module: modules.moduleOf(p)?.replace(/\.__main__$/, ''),
    }));
  let chosen = candidates;
  if (chosen.length > 1) {
    const inScripts = (p: string) => /(^|\/)(scripts|tools|bin)\//.test(p);
    const core = chosen.filter((c) => !inScripts(c.file));
    if (core.length) chosen = core;
  }
  if (chosen.length > 1)
    if (wantsTraining)
      fail(
        `Project "${ctx.name}" has several training entries (${chosen.map((c) => c.file).join(', ')}). Choose one with --trainingModule=<package.module> or --trainingCommand.`,
      );
    else return { entry: { kind: 'none' }, entryFiles, forcedUnits };
  if (chosen.length === 1) {
    const { file, module } = chosen[0];
    entryFiles.push(file);
    if (module)
      return {
        entry: { kind: 'module', module, command: ['python', '-m', module] },
        entryFiles,
        forcedUnits,
      };
    forcedUnits.push(modules.unitOf(file));
    return {
      entry: { kind: 'command', command: ['python', file] },
      entryFiles,
      forcedUnits,
    };
  }

  const scripts = Object.entries(consoleScripts).filter(([name]) =>
    /train|fit/i.test(name),
  );
  if (scripts.length > 1 && wantsTraining)
    fail(
      `Project "${ctx.name}" has several training console scripts (${scripts.map(([n]) => n).join(', ')}). Choose one with --trainingCommand.`,
    );
  if (scripts.length === 1) {
    const [name, target] = scripts[0];
    const file = modules.fileOfModule(target.split(':')[0]);
    if (file) entryFiles.push(file);
    return {
      entry: { kind: 'console-script', name, command: [name] },
      entryFiles,
      forcedUnits,
    };
  }

  if (wantsTraining)
    fail(
      `No training entry found in project "${ctx.name}": no dvc.yaml stages, no train.py or fit.py with if __name__ == "__main__":, no console script named like train. Pass --trainingModule=<package.module> or --trainingCommand, or --image=inference for a serving-only project.`,
    );
  return { entry: { kind: 'none' }, entryFiles, forcedUnits };
}
