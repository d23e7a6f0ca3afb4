/**
 * createNodes results kept between graph computations. Inference reads and
 * parses every project's Dockerfiles, which Nx repeats on each command: on
 * hundreds of projects that is most of what the plugin costs. An entry is
 * found by a hash of everything its result is computed from, so a changed
 * input simply misses; nothing is ever invalidated by hand.
 *
 * One file per plugin registration (its options), read at the start of a
 * createNodes call and rewritten at its end with the entries that call used,
 * so projects that went away do not accumulate.
 */
import { hashArray } from '@nx/devkit';
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

/** Bumped when the shape of a cached entry changes. */
const FORMAT = '1';

/**
 * Nx's workspace data directory (what `nx reset` clears). @nx/devkit exports
 * no public way to ask for it, so this follows Nx's own rule: the
 * NX_WORKSPACE_DATA_DIRECTORY (or older NX_PROJECT_GRAPH_CACHE_DIRECTORY)
 * variable, relative to the workspace root, else .nx/workspace-data.
 */
export function workspaceDataDir(workspaceRoot: string): string {
  const configured =
    process.env.NX_WORKSPACE_DATA_DIRECTORY ??
    process.env.NX_PROJECT_GRAPH_CACHE_DIRECTORY;
  return configured
    ? resolve(workspaceRoot, configured)
    : join(workspaceRoot, '.nx', 'workspace-data');
}

export function nodesCachePath(workspaceRoot: string, options: object): string {
  return join(
    workspaceDataDir(workspaceRoot),
    `ml-docker-nodes-${hashArray([JSON.stringify(options)])}.hash`,
  );
}

function pluginBuild(): string {
  try {
    const { version } = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'),
    );
    return `${version}@${statSync(__filename).mtimeMs}`;
  } catch {
    return 'unknown';
  }
}

export interface NodesCache<T> {
  /**
   * The key of one result: a hash of its inputs and of the plugin build
   * that computes it (an upgrade or a rebuild can infer differently from
   * the same files).
   */
  key(inputs: unknown): string;
  get(key: string): T | undefined;
  set(key: string, value: T): void;
  /** Saves the entries this call used; a no-op when nothing changed. */
  write(): void;
}

export function openNodesCache<T extends object>(file: string): NodesCache<T> {
  const previous = readEntries<T>(file);
  const used = new Map<string, T>();
  const build = pluginBuild();
  let changed = false;
  return {
    key(inputs) {
      return hashArray([FORMAT, build, JSON.stringify(inputs)]);
    },
    get(key) {
      const hit = previous.get(key);
      if (hit) used.set(key, hit);
      return hit;
    },
    set(key, value) {
      used.set(key, value);
      changed = true;
    },
    write() {
      if (!changed && used.size === previous.size) return;
      writeAtomically(file, JSON.stringify(Object.fromEntries(used)));
    },
  };
}

export function edgesCachePath(workspaceRoot: string, options: object): string {
  return join(
    workspaceDataDir(workspaceRoot),
    `ml-docker-edges-${hashArray([JSON.stringify(options)])}.hash`,
  );
}

/**
 * What createDependencies read from each Dockerfile, by the file's path and
 * the hash Nx gives it: Nx hands over every file when it recomputes the graph
 * from scratch, and a parse per Dockerfile is most of that call's cost. An
 * entry whose hash differs is simply not used.
 */
export interface FileCache<T> {
  get(path: string, hash: string): T | undefined;
  set(path: string, hash: string, value: T): void;
  /** Saves the entries of the files that still exist with the hash they had. */
  write(current: ReadonlyMap<string, string>): void;
}

export function openFileCache<T>(file: string): FileCache<T> {
  type Entry = { hash: string; build: string; value: T };
  const entries = readEntries<Entry>(file);
  const build = pluginBuild();
  let changed = false;
  return {
    get(path, hash) {
      const e = entries.get(path);
      return e && e.hash === hash && e.build === build ? e.value : undefined;
    },
    set(path, hash, value) {
      entries.set(path, { hash, build, value });
      changed = true;
    },
    write(current) {
      for (const [path, e] of entries)
        if (current.get(path) !== e.hash) {
          entries.delete(path);
          changed = true;
        }
      if (changed)
        writeAtomically(file, JSON.stringify(Object.fromEntries(entries)));
    },
  };
}

// A missing, unreadable or corrupt file is an empty cache: it only costs
// recomputing. NX_CACHE_PROJECT_GRAPH=false is Nx's switch for not trusting
// cached graph data, which Nx's own plugins honour the same way.
function readEntries<T>(file: string): Map<string, T> {
  const entries = new Map<string, T>();
  if (process.env.NX_CACHE_PROJECT_GRAPH === 'false') return entries;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return entries;
  }
  if (!isObject(parsed)) return entries;
  for (const [key, value] of Object.entries(parsed))
    if (isObject(value)) entries.set(key, value as T);
  return entries;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Another Nx process (the daemon, a second command) may read the file while
// this one writes it: it must see the old file or the new one, never half.
// A directory that cannot be written only loses the speed-up, not the graph.
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(resolve(file, '..'), { recursive: true });
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the folder it would be in is not there either
    }
  }
}
