/**
 * Runtime files both images copy: config folders and files the code and the
 * training commands read, never secrets, data, models or what the code
 * writes.
 */
import { posix } from 'node:path';
import { pythonEntries } from './commands';
import { DvcStage } from './dvc';
import { PathLiterals } from './path-literals';
import {
  CONFIG_DIRS,
  CONFIG_EXT,
  CONFIG_FILE,
  MODEL_DIRS,
  MODEL_EXT,
  SECRET,
} from './path-kinds';
import { InspectionContext, TrainingEntry } from './project-inspection';
import {
  DATA_DIRS,
  NON_SOURCE,
  normalizeRel,
  PRUNED,
  topSegment,
  uniq,
} from './project-files';
import { argvCommands } from './readers/shell';

/** Config files and folders the code reads, plus --runtimeFiles, minus --excludeRuntimeFiles. */
export function runtimeFiles(
  ctx: InspectionContext,
  paths: PathLiterals,
  sourceFiles: string[],
  stages: DvcStage[],
  training: TrainingEntry,
  sources: string[],
  installedUnits: string[],
  writtenFolders: string[],
): string[] {
  const f = ctx.files;
  const found: string[] = [];
  const covered = (rel: string) =>
    [...sources, ...installedUnits].some((u) =>
      u.endsWith('/') ? rel.startsWith(u) : rel === u,
    );
  // What the code writes (metrics/metrics.json after a local run) is an
  // output, not an input: copying it would make the images depend on a
  // file only this working tree has.
  const written = (rel: string) =>
    writtenFolders.some((w) => rel === w || rel.startsWith(`${w}/`));
  const consider = (rel: string, referenced: boolean) => {
    if (!rel || covered(rel) || written(rel)) return;
    const top = topSegment(rel);
    if (SECRET.test(rel)) {
      if (referenced)
        ctx.warnings.push(
          `The code reads ${rel}, which looks like a secret and is not copied into the images: pass its values as environment variables or mount it at run time.`,
        );
      return;
    }
    if (
      DATA_DIRS.has(top) ||
      NON_SOURCE.has(top) ||
      MODEL_DIRS.has(top) ||
      MODEL_EXT.test(rel)
    )
      return;
    if (
      top.startsWith('.') ||
      PRUNED.has(top) ||
      /^requirements/.test(posix.basename(rel)) ||
      rel.endsWith('.py')
    )
      return;
    if (CONFIG_DIRS.has(top) && f.isDir(top) && !f.isFile(`${top}/__init__.py`))
      found.push(`${top}/`);
    else if (f.isDir(rel)) {
      if (referenced && !f.filesUnder(rel).some((p) => p.endsWith('.py')))
        found.push(`${rel}/`);
    } else if (CONFIG_EXT.test(rel) && (referenced || CONFIG_FILE.test(rel)))
      found.push(rel);
  };
  for (const name of f.children('')) {
    if (
      CONFIG_DIRS.has(name) &&
      f.isDir(name) &&
      !f.isFile(`${name}/__init__.py`) &&
      f.filesUnder(name).some((p) => !p.endsWith('.py'))
    )
      consider(name, false);
    else if (CONFIG_FILE.test(name) && f.isFile(name)) consider(name, false);
  }
  for (const rel of paths.of(sourceFiles).existing) consider(rel, true);
  const commands =
    training.kind === 'dvc'
      ? stages.flatMap((s) => s.commands)
      : training.kind === 'none'
        ? []
        : argvCommands(training.command).commands;
  for (const { argv, dir } of commands)
    for (const p of pythonEntries(argv).paths) {
      const rel = normalizeRel(posix.join(dir, p));
      if (rel && f.exists(rel)) consider(rel, true);
    }
  if (training.kind === 'dvc') {
    const outs = new Set(
      stages.flatMap((s) =>
        s.outs.map((o) => normalizeRel(posix.join(s.wdir, o))),
      ),
    );
    for (const s of stages) {
      for (const p of s.paramsFiles) {
        const rel = normalizeRel(posix.join(s.wdir, p));
        if (rel && f.isFile(rel)) consider(rel, true);
      }
      for (const dep of s.deps) {
        const rel = normalizeRel(posix.join(s.wdir, dep));
        if (
          rel &&
          !outs.has(rel) &&
          f.isFile(rel) &&
          !f.isFile(`${rel}.dvc`) &&
          CONFIG_EXT.test(rel)
        )
          consider(rel, true);
      }
    }
  }
  const extra = (ctx.options.runtimeFiles ?? []).map((p) => {
    const rel = normalizeRel(p) as string;
    return f.isDir(rel) ? `${rel}/` : rel;
  });
  const exclude = new Set(
    (ctx.options.excludeRuntimeFiles ?? []).map((p) =>
      (normalizeRel(p) ?? p).replace(/\/$/, ''),
    ),
  );
  const all = uniq([...found, ...extra]);
  for (const e of exclude)
    if (!all.some((p) => p.replace(/\/$/, '') === e))
      ctx.warnings.push(
        `--excludeRuntimeFiles names ${e}, which is not among the runtime files found (${all.join(', ') || 'none'}): nothing to leave out.`,
      );
  // Drop files inside a folder that is copied whole.
  const kept = all.filter((p) => !exclude.has(p.replace(/\/$/, '')));
  return kept
    .filter(
      (p) => !kept.some((q) => q !== p && q.endsWith('/') && p.startsWith(q)),
    )
    .sort();
}
