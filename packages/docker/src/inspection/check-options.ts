/** The inspection options a user passes, checked before they are used. */
import { fail } from '../errors/errors';
import { InspectionContext } from './project-inspection';
import { normalizeRel } from './project-files';
import { MODULE, pythonModuleOf } from './sources';

const APP_MODULE =
  /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$/;

/** Fails on options that cannot be right, before anything is read. */
export function checkOptions(ctx: InspectionContext): void {
  const o = ctx.options;
  if (o.appModule !== undefined && !APP_MODULE.test(o.appModule))
    fail(
      `--appModule must look like package.module:app (got "${o.appModule}").`,
    );
  if (o.trainingModule?.endsWith('.py'))
    fail(
      `--trainingModule takes a module, not a file (got "${o.trainingModule}"): pass --trainingModule=${pythonModuleOf(o.trainingModule, '.') ?? '<package.module>'}, or --trainingCommand="python ${o.trainingModule}".`,
    );
  if (o.trainingModule !== undefined && !MODULE.test(o.trainingModule))
    fail(
      `--trainingModule must be a dotted Python module such as pipeline.train (got "${o.trainingModule}").`,
    );
  if (
    o.trainingCommand !== undefined &&
    (!Array.isArray(o.trainingCommand) ||
      o.trainingCommand.length === 0 ||
      o.trainingCommand.some((a) => typeof a !== 'string' || a === ''))
  )
    fail(
      `--trainingCommand must be a non-empty list of arguments, e.g. ["python", "-m", "pipeline.train", "--config", "configs/base.yaml"].`,
    );
  if (o.trainingCommand !== undefined && o.trainingModule !== undefined)
    fail(
      'Pass --trainingModule or --trainingCommand, not both: they both set what the training image runs.',
    );
  for (const path of o.runtimeFiles ?? []) {
    const rel = normalizeRel(path);
    if (rel === undefined || rel === '')
      fail(
        `--runtimeFiles names "${path}", which is not inside the project: name files and folders relative to ${ctx.where}.`,
      );
    if (!ctx.files.exists(rel))
      fail(
        `--runtimeFiles names "${path}", which does not exist in ${ctx.where}. Check the path, then rerun.`,
      );
  }
}
