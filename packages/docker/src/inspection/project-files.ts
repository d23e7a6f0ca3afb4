/**
 * The project's files as inspection sees them, read through the devkit Tree
 * (so dry runs and specs see what a real run would): one walk, each path
 * stat'ed and each file read at most once per run.
 */
import { Tree } from '@nx/devkit';
import { posix } from 'node:path';

export const MAX_FILES = 50000;

/** Never walked: tooling, environments, caches, build output, run logs. */
export const PRUNED = new Set([
  'node_modules',
  '__pycache__',
  'site-packages',
  'venv',
  'env',
  'build',
  'dist',
  'htmlcov',
  'mlruns',
  'mlartifacts',
  'wandb',
  'lightning_logs',
  'outputs',
  'multirun',
  'docker',
]);
/** Data lives in these (dvc pull fills them); walked only when they are a Python package. */
export const DATA_DIRS = new Set(['data', 'datasets', 'dataset']);
/** Not part of what runs: never searched for apps or training, never copied as source. */
export const NON_SOURCE = new Set([
  'tests',
  'test',
  'testing',
  'notebooks',
  'notebook',
  'docs',
  'doc',
  'examples',
  'example',
  'benchmarks',
]);
export const NON_SOURCE_FILE =
  /(^|\/)(test_[^/]*|[^/]*_test|conftest|setup|noxfile|toxfile|fabfile|tasks|dodo)\.py$/;

export class ProjectFiles {
  private fileList?: string[];
  truncated = false;

  constructor(
    private readonly tree: Tree,
    readonly root: string,
  ) {}

  private abs(rel: string): string {
    const clean = rel.replace(/\/+$/, '');
    if (this.root === '' || this.root === '.') return clean || '.';
    return clean ? posix.join(this.root, clean) : this.root;
  }

  // The tree does not change while a project is inspected: each question
  // about a path is asked of it once (a disk stat each, on a real tree).
  private readonly existsCache = new Map<string, boolean>();
  private readonly fileCache = new Map<string, boolean>();
  private readonly textCache = new Map<string, string | undefined>();

  private readonly childrenCache = new Map<string, string[]>();
  /** Lower-cased names per listed folder: absence there answers exists() without a stat. */
  private readonly namesCache = new Map<string, Set<string>>();

  exists(rel: string): boolean {
    let hit = this.existsCache.get(rel);
    if (hit === undefined) {
      hit = !this.surelyAbsent(rel) && this.tree.exists(this.abs(rel));
      this.existsCache.set(rel, hit);
    }
    return hit;
  }

  /**
   * The code names many paths that do not exist (outputs, data): a folder is
   * listed once and names missing from it are absent without a stat each.
   * Names are compared lower-cased so a case-insensitive disk answers as
   * before; a present name is still asked of the tree.
   */
  private surelyAbsent(rel: string): boolean {
    if (!rel || !/^[\x21-\x7e]+$/.test(rel)) return false;
    const parts = rel.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..')) return false;
    const parent = parts.slice(0, -1).join('/');
    if (parent && !this.exists(parent)) return true;
    let names = this.namesCache.get(parent);
    if (!names) {
      names = new Set(this.children(parent).map((n) => n.toLowerCase()));
      this.namesCache.set(parent, names);
    }
    return !names.has(parts[parts.length - 1].toLowerCase());
  }

  isFile(rel: string): boolean {
    let hit = this.fileCache.get(rel);
    if (hit === undefined) {
      // A file exists: one stat answers both questions.
      hit = !this.surelyAbsent(rel) && this.tree.isFile(this.abs(rel));
      this.fileCache.set(rel, hit);
      if (hit) this.existsCache.set(rel, true);
    }
    return hit;
  }

  isDir(rel: string): boolean {
    return this.exists(rel) && !this.isFile(rel);
  }

  read(rel: string): string | undefined {
    if (this.textCache.has(rel)) return this.textCache.get(rel);
    const text = this.isFile(rel)
      ? (this.tree.read(this.abs(rel), 'utf-8') ?? undefined)
      : undefined;
    this.textCache.set(rel, text);
    return text;
  }

  children(rel: string): readonly string[] {
    let hit = this.childrenCache.get(rel);
    if (!hit) {
      hit = this.tree.children(this.abs(rel)).sort();
      this.childrenCache.set(rel, hit);
    }
    return hit;
  }

  /** Every file worth looking at, relative to the root, in a stable order. */
  files(): string[] {
    if (this.fileList) return this.fileList;
    const out: string[] = [];
    const visit = (dir: string) => {
      for (const name of this.children(dir)) {
        if (out.length >= MAX_FILES) {
          this.truncated = true;
          return;
        }
        const rel = dir ? `${dir}/${name}` : name;
        if (this.isFile(rel)) {
          out.push(rel);
          continue;
        }
        if (
          name.startsWith('.') ||
          PRUNED.has(name) ||
          name.endsWith('.egg-info') ||
          (DATA_DIRS.has(name) && !this.exists(`${rel}/__init__.py`))
        )
          continue;
        visit(rel);
      }
    };
    visit('');
    this.fileList = out;
    return out;
  }

  private pyFileList?: string[];
  /** Every .py file worth looking at. */
  pyFiles(): string[] {
    this.pyFileList ??= this.files().filter((p) => p.endsWith('.py'));
    return this.pyFileList;
  }

  private readonly underCache = new Map<string, string[]>();

  filesUnder(dir: string): readonly string[] {
    const prefix = dir.replace(/\/+$/, '') + '/';
    let hit = this.underCache.get(prefix);
    if (!hit) {
      hit = this.files().filter((f) => f.startsWith(prefix));
      this.underCache.set(prefix, hit);
    }
    return hit;
  }
}

/** Normalizes a path relative to the project root; undefined when it leaves the project. */
export function normalizeRel(path: string): string | undefined {
  if (path.startsWith('/')) return undefined;
  const normalized = posix.normalize(path);
  if (normalized === '..' || normalized.startsWith('../')) return undefined;
  return normalized === '.' ? '' : normalized.replace(/\/+$/, '');
}

export function topSegment(rel: string): string {
  return rel.split('/')[0];
}

export function isNonSource(rel: string): boolean {
  const parts = rel.split('/');
  return (
    parts.slice(0, -1).some((p) => NON_SOURCE.has(p)) ||
    NON_SOURCE_FILE.test(rel)
  );
}

export function uniq<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}
