/**
 * The folders of the project its code writes into: the images run as a
 * non-root user with /app owned by root, so each must be made writable.
 * The folder is the deepest one known: a dynamic subpath
 * (f"logs/{run}.log") leaves the known part (logs).
 */
import { posix } from 'node:path';
import { DvcStage } from './dvc';
import { normalizeRel, uniq } from './project-files';
import type {
  InspectionContext,
  ProjectInspection,
} from './project-inspection';
import { qualify, UNKNOWN } from './readers/python';
import { PythonProject } from './python-project';
import type { SyntaxNode } from '@lezer/common';

export interface WritableFindings {
  /** Folders relative to the project root, sorted, none inside another. */
  folders: string[];
  /** folder → the first file:line writing into it. */
  where: Map<string, string>;
  /** file:line of writes whose target is not known. */
  unknown: string[];
  /** file:line of writes into the project root itself. */
  rootWrites: string[];
}

/** Callee (qualified) → which argument is the written path, and whether it is a folder. */
const WRITERS: Record<string, { arg: number; kw?: string; folder?: boolean }> =
  {
    'os.makedirs': { arg: 0, kw: 'name', folder: true },
    'os.mkdir': { arg: 0, kw: 'path', folder: true },
    'joblib.dump': { arg: 1, kw: 'filename' },
    'torch.save': { arg: 1, kw: 'f' },
    'numpy.save': { arg: 0, kw: 'file' },
    'numpy.savez': { arg: 0, kw: 'file' },
    'numpy.savetxt': { arg: 0, kw: 'fname' },
    'logging.FileHandler': { arg: 0, kw: 'filename' },
    'logging.handlers.RotatingFileHandler': { arg: 0, kw: 'filename' },
    'logging.handlers.TimedRotatingFileHandler': { arg: 0, kw: 'filename' },
    'shutil.copy': { arg: 1, kw: 'dst' },
    'shutil.copy2': { arg: 1, kw: 'dst' },
    'shutil.copyfile': { arg: 1, kw: 'dst' },
    'shutil.copytree': { arg: 1, kw: 'dst', folder: true },
    'shutil.move': { arg: 1, kw: 'dst' },
    'mlflow.log_artifact': { arg: -1 },
  };
/** Methods that write to their first argument (a file, or a folder for save_pretrained). */
/** vague: the name is common (model.save(obj)); only a path-like argument makes it a file write. */
const WRITING_METHODS: Record<string, { folder?: boolean; vague?: boolean }> = {
  to_csv: {},
  to_parquet: {},
  to_json: {},
  to_pickle: {},
  to_excel: {},
  to_feather: {},
  to_hdf: {},
  savefig: {},
  save_model: { vague: true },
  save: { vague: true },
  save_pretrained: { folder: true, vague: true },
  save_weights: { vague: true },
  dump_model: { vague: true },
};
/** Path methods that write to the path they are called on. */
const SELF_WRITING = new Set(['mkdir', 'write_text', 'write_bytes', 'touch']);

export function findWritableFolders(
  py: PythonProject,
  files: string[],
): WritableFindings {
  const where = new Map<string, string>();
  const unknown: string[] = [];
  const rootWrites: string[] = [];
  for (const file of files) {
    if (!file.endsWith('.py')) continue;
    const mod = py.module(file);
    if (
      !/open|save|dump|mkdir|to_|write|Handler|copy|move|basicConfig/.test(
        mod.source,
      )
    )
      continue;
    for (const c of mod.calls) {
      const q = c.callee ? qualify(mod, c.callee, py.resolve) : undefined;
      let target: SyntaxNode | undefined;
      let folder = false;
      if (q === 'open' || q === 'io.open' || q === 'builtins.open') {
        const mode = c.kwargs.get('mode') ?? c.args[1];
        if (
          !mode ||
          !/[wax+]/.test(mod.text(mode).replace(/^[rbuRBU]*['"]|['"]$/g, ''))
        )
          continue;
        target = c.kwargs.get('file') ?? c.args[0];
      } else if (q === 'logging.basicConfig') {
        target = c.kwargs.get('filename');
      } else if (q && WRITERS[q]) {
        const w = WRITERS[q];
        if (w.arg < 0) continue;
        target = (w.kw && c.kwargs.get(w.kw)) || c.args[w.arg];
        folder = !!w.folder;
      } else if (c.method && SELF_WRITING.has(c.method) && c.receiver) {
        target = c.receiver;
        folder = c.method === 'mkdir';
      } else if (c.method === 'open' && c.receiver) {
        const mode = c.kwargs.get('mode') ?? c.args[0];
        if (!mode || !/[wax+]/.test(mod.text(mode))) continue;
        target = c.receiver;
      } else if (
        c.method &&
        WRITING_METHODS[c.method] &&
        !(q && /^(os|sys|json|pickle|yaml)\./.test(q))
      ) {
        target =
          c.args[0] ??
          c.kwargs.get('path') ??
          c.kwargs.get('path_or_buf') ??
          c.kwargs.get('fname');
        folder = !!WRITING_METHODS[c.method].folder;
        // model.save(obj) with no path-like argument is no file write we can place.
        if (
          target &&
          WRITING_METHODS[c.method].vague &&
          !/['"/]|path|file|dir|PATH|FILE|DIR/.test(mod.text(target))
        )
          continue;
      }
      if (!target) continue;
      const at = `${file}:${c.line}`;
      const v = py.evaluate(mod, target, c.scope, { partial: true });
      if (v.value === undefined) {
        unknown.push(at);
        continue;
      }
      const known = v.value.split(UNKNOWN)[0];
      const partial = known.length < v.value.length;
      if (known.startsWith('/')) continue; // outside the project (/tmp, a mounted volume)
      let dir = partial
        ? known.endsWith('/')
          ? known
          : posix.dirname(known)
        : folder
          ? known
          : posix.dirname(known);
      dir = posix.normalize(dir || '.').replace(/(.)\/+$/, '$1');
      if (partial && !known) {
        unknown.push(at);
        continue;
      }
      if (dir === '..' || dir.startsWith('../')) continue;
      if (dir === '.' || dir === '') {
        rootWrites.push(at);
        continue;
      }
      if (!where.has(dir)) where.set(dir, at);
    }
  }
  return {
    folders: outermost([...where.keys()]),
    where,
    unknown: [...new Set(unknown)],
    rootWrites: [...new Set(rootWrites)],
  };
}

/** Sorted, without folders inside another listed one (making the outer one writable covers them). */
export function outermost(folders: string[]): string[] {
  const all = [...new Set(folders)].sort();
  return all.filter((f) => !all.some((o) => o !== f && f.startsWith(`${o}/`)));
}

/** The folders each image must make writable: what the code reaches writes, and dvc stage outs. */
export function writableFoldersOf(
  ctx: InspectionContext,
  python: PythonProject,
  appFile: string | undefined,
  trainingEntries: string[],
  stages: DvcStage[],
): ProjectInspection['writableFolders'] {
  const inference = appFile
    ? findWritableFolders(python, python.reachable([appFile]))
    : undefined;
  const training = findWritableFolders(
    python,
    python.reachable(trainingEntries),
  );
  const where: Record<string, string> = {};
  for (const found of [inference, training])
    for (const [k, v] of found?.where ?? []) where[k] ??= v;
  const trainingFolders = [...training.folders];
  for (const s of stages)
    for (const o of s.outs) {
      const rel = normalizeRel(posix.join(s.wdir, o));
      if (!rel) continue;
      // An out is a folder, or a file dvc writes into its folder.
      const dir =
        ctx.files.isDir(rel) || !/\.\w+$/.test(rel) ? rel : posix.dirname(rel);
      if (dir === '.' || dir === '') continue;
      trainingFolders.push(dir);
      where[dir] ??= `dvc.yaml stage ${s.name} outs`;
    }
  const unknown = uniq([...(inference?.unknown ?? []), ...training.unknown]);
  if (unknown.length)
    ctx.warnings.push(
      `Could not tell where ${unknown.length === 1 ? 'this write lands' : 'these writes land'}: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}. The images run as a non-root user and only the folders found are writable: if they write inside the project, write under a folder named by a constant (e.g. OUTPUT_DIR = "outputs").`,
    );
  const root = uniq([...(inference?.rootWrites ?? []), ...training.rootWrites]);
  if (root.length)
    ctx.warnings.push(
      `${root.slice(0, 5).join(', ')} write${root.length === 1 ? 's' : ''} a file into the project root, which the images' non-root user cannot write: write it under a folder (e.g. outputs/).`,
    );
  return {
    training: outermost(trainingFolders),
    inference: inference?.folders ?? [],
    where,
  };
}
