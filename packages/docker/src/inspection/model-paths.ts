/**
 * Which model files the inference image bakes in: committed ones in model
 * folders or at the root, dvc outs, and the paths the serving and training
 * code name.
 */
import { posix } from 'node:path';
import { DvcStage } from './dvc';
import { referencedModels } from './models';
import { PathLiterals } from './path-literals';
import {
  CONFIG_DIRS,
  MODEL_DIRS,
  MODEL_EXT,
  NOT_MODEL_OUTPUTS,
} from './path-kinds';
import { InspectionContext } from './project-inspection';
import {
  DATA_DIRS,
  NON_SOURCE,
  normalizeRel,
  topSegment,
  uniq,
} from './project-files';
import { PythonProject } from './python-project';

/** Model files or folders the inference image bakes in, whether any is committed, and where a referenced one is named. */
export function modelPaths(
  ctx: InspectionContext,
  python: PythonProject,
  named: PathLiterals,
  appFiles: string[],
  trainingFiles: string[],
  stages: DvcStage[],
  sources: string[],
): { paths: string[]; committed: boolean; where: Record<string, string> } {
  const f = ctx.files;
  const out: string[] = [];
  let committed = false;
  const covered = (rel: string) =>
    sources.some((u) => (u.endsWith('/') ? rel.startsWith(u) : rel === u));
  const add = (rel: string, anyFolder = false) => {
    if (covered(rel)) return;
    const top = topSegment(rel);
    if (
      DATA_DIRS.has(top) ||
      NON_SOURCE.has(top) ||
      CONFIG_DIRS.has(top) ||
      top.startsWith('.')
    )
      return;
    if (MODEL_DIRS.has(top) || (anyFolder && rel !== top)) out.push(`${top}/`);
    else if (rel === top && (MODEL_EXT.test(rel) || anyFolder)) out.push(rel);
  };
  for (const name of f.children('')) {
    if (MODEL_DIRS.has(name) && f.isDir(name)) {
      const inside = f.filesUnder(name);
      const isPackage = f.isFile(`${name}/__init__.py`);
      const real = inside.filter(
        (p) =>
          !/(^|\/)(\.git\w*|README[^/]*|[^/]*\.md|[^/]*\.dvc)$/.test(p) &&
          (!isPackage || MODEL_EXT.test(p)) &&
          !p.endsWith('.py'),
      );
      if (real.length) committed = true;
      if (
        real.length ||
        inside.some((p) => MODEL_EXT.test(p.replace(/\.dvc$/, '')))
      )
        add(name);
    } else if (MODEL_EXT.test(name) && f.isFile(name)) {
      committed = true;
      add(name);
    } else if (MODEL_EXT.test(name.replace(/\.dvc$/, '')) && f.isFile(name))
      add(name.replace(/\.dvc$/, ''));
  }
  for (const s of stages)
    for (const o of s.outs) {
      const rel = normalizeRel(posix.join(s.wdir, o));
      if (rel && (MODEL_EXT.test(rel) || MODEL_DIRS.has(topSegment(rel))))
        add(rel);
    }
  const app = named.of(appFiles);
  const training = named.of(trainingFiles);
  for (const rel of [...app.existing, ...training.existing])
    if (MODEL_EXT.test(rel) || MODEL_DIRS.has(topSegment(rel))) add(rel);
  // A bare missing file name is usually joined to a folder held in a variable: no clue where it lands.
  for (const rel of [...app.missing, ...training.missing])
    if (
      (rel.includes('/') && MODEL_EXT.test(rel)) ||
      MODEL_DIRS.has(topSegment(rel))
    )
      add(rel);
  // A path the app reads and training writes, neither committed: the model, whatever its folder is called.
  for (const rel of app.missing)
    if (
      training.missing.includes(rel) &&
      rel.includes('/') &&
      !NOT_MODEL_OUTPUTS.has(topSegment(rel))
    )
      add(rel, true);
  // A committed model file the serving code names (a setting's default,
  // .env.example), in a folder of any name.
  const where: Record<string, string> = {};
  for (const [rel, at] of referencedModels(python, appFiles, f, (p) =>
    MODEL_EXT.test(p),
  )) {
    // Inside a copied source folder it ships anyway, but it is still the committed model.
    committed = true;
    const before = out.length;
    add(rel, true);
    if (out.length > before) where[out[out.length - 1]] ??= at;
  }
  const paths = uniq(out).sort();
  return { paths, committed: committed && paths.length > 0, where };
}
