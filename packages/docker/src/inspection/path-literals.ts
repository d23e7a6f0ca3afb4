/**
 * Paths the code names (literals, constants, settings defaults): those that
 * exist in the project, and relative file paths that do not (yet), outputs
 * most often. Runtime files and model paths ask this of the same files.
 */
import { posix } from 'node:path';
import { CONFIG_DIRS, MODEL_DIRS } from './path-kinds';
import { normalizeRel, ProjectFiles, uniq } from './project-files';
import { PythonProject } from './python-project';

export interface NamedPaths {
  existing: string[];
  missing: string[];
}

export class PathLiterals {
  constructor(
    private readonly files: ProjectFiles,
    private readonly python: PythonProject,
  ) {}

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
}
