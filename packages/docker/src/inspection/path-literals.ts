/**
 * Paths the code names (literals, constants, settings defaults): those that
 * exist in the project, and relative file paths that do not (yet), outputs
 * most often. Runtime files and model paths ask this of the same files.
 */
import { posix } from 'node:path';
import { CONFIG_DIRS, MODEL_DIRS } from './path-kinds';
import { normalizeRel, ProjectFiles, topSegment, uniq } from './project-files';
import { PythonProject } from './python-project';
import { ProjectModules } from './sources';

export interface NamedPaths {
  existing: string[];
  missing: string[];
}

export class PathLiterals {
  private readonly python: PythonProject;
  private readonly appFiles: Set<string>;

  /** appFiles: the files the app reaches (always read whole). */
  constructor(
    private readonly files: ProjectFiles,
    private readonly modules: ProjectModules,
    appFiles: string[],
  ) {
    this.python = modules.python;
    this.appFiles = new Set(appFiles);
  }

  /** What the .py files among files name, each path once. */
  of(files: string[]): NamedPaths {
    const existing: string[] = [];
    const missing: string[] = [];
    for (const file of files) {
      if (!file.endsWith('.py')) continue;
      const found = this.ofFile(file);
      existing.push(...found.existing);
      missing.push(...found.missing);
    }
    return { existing: uniq(existing), missing: uniq(missing) };
  }

  private readonly cache = new Map<string, NamedPaths>();
  private ofFile(file: string): NamedPaths {
    const cached = this.cache.get(file);
    if (cached) return cached;
    if (!this.mayMatter(file)) {
      const none = { existing: [], missing: [] };
      this.cache.set(file, none);
      return none;
    }
    const existing: string[] = [];
    const missing: string[] = [];
    const values = this.python.stringValues(file);
    const literals = values
      .filter((v) => /^[\w.\-/]+$/.test(v.value) && /[/.]/.test(v.value))
      .map((v) => v.value);
    // A bare folder name counts where it is plainly a path: Path("checkpoints"), a default.
    for (const v of values)
      if (!v.literal && (MODEL_DIRS.has(v.value) || CONFIG_DIRS.has(v.value)))
        literals.push(v.value);
    for (const literal of literals) {
      const fromRoot = normalizeRel(literal);
      const fromFile = normalizeRel(posix.join(posix.dirname(file), literal));
      const found = [fromRoot, fromFile].find(
        (rel) => rel && this.files.exists(rel),
      );
      if (found) existing.push(found);
      else if (
        fromRoot &&
        (/\/[^/]*\.\w+$|^[^/]*\.\w+$/.test(fromRoot) ||
          MODEL_DIRS.has(fromRoot))
      )
        missing.push(fromRoot);
    }
    const found = { existing, missing };
    this.cache.set(file, found);
    return found;
  }

  /**
   * Runtime files and model paths only use a path whose first folder is at
   * the project root (a root file or folder, a model or config folder name)
   * or one the serving code names too; a path relative to the file stays in
   * the file's own copied folder. A file importing nothing of the project
   * builds its strings from its own literals, so when no literal starts
   * with such a name (after a quote or a slash), none climbs (..) and none
   * starts from __file__, the file names nothing that matters: it is not
   * parsed for this (in a big project, most files are such).
   */
  private mayMatter(file: string): boolean {
    if (this.appFiles.has(file)) return true;
    const top = topSegment(file);
    if (MODEL_DIRS.has(top) || CONFIG_DIRS.has(top)) return true;
    const text = this.files.read(file) ?? '';
    if (/\.\.[/\\'"}]/.test(text) || text.includes('__file__')) return true;
    if (!this.modules.importsNothingOfProject(file)) return true;
    return this.leadingNames().test(text);
  }

  private leadingNamesPattern?: RegExp;
  private leadingNames(): RegExp {
    if (this.leadingNamesPattern) return this.leadingNamesPattern;
    const names = uniq([
      ...this.files.children(''),
      ...MODEL_DIRS,
      ...CONFIG_DIRS,
      ...this.of([...this.appFiles]).missing.map(topSegment),
    ]).filter((n) => n !== '');
    const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    // Case-blind: a case-insensitive disk finds Configs/ for "configs".
    this.leadingNamesPattern = new RegExp(`["'/](?:${escaped.join('|')})`, 'i');
    return this.leadingNamesPattern;
  }
}
