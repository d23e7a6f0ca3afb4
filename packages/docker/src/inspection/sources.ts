/**
 * Which Python the images copy as source: the project's modules by file,
 * where Python imports them from, and the top-level folders and modules
 * (units) an entry reaches through its imports.
 */
import {
  isNonSource,
  NON_SOURCE,
  ProjectFiles,
  topSegment,
  uniq,
} from './project-files';
import { PythonProject } from './python-project';

export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MODULE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * The dotted module of a .py file, relative to the folder Python imports
 * from ('.' or '' for the project root, 'src' for a src layout);
 * undefined when the file is outside it or a folder is no identifier.
 */
export function pythonModuleOf(
  relPathToPy: string,
  importRoot: string,
): string | undefined {
  const root = importRoot.replace(/^\.\/?/, '').replace(/\/+$/, '');
  let rel = relPathToPy.replace(/^\.\//, '');
  if (root) {
    if (!rel.startsWith(`${root}/`)) return undefined;
    rel = rel.slice(root.length + 1);
  }
  if (!rel.endsWith('.py')) return undefined;
  const parts = rel.slice(0, -3).split('/');
  if (parts[parts.length - 1] === '__init__') parts.pop();
  if (parts.length === 0 || !parts.every((p) => IDENTIFIER.test(p)))
    return undefined;
  return parts.join('.');
}

/** The project's Python modules once the folder Python imports from is known. */
export class ProjectModules {
  /** Each file parsed once per run. */
  readonly python: PythonProject;

  constructor(
    private readonly files: ProjectFiles,
    readonly importRoot: '.' | 'src',
  ) {
    this.python = new PythonProject({
      read: (f) => this.files.read(f),
      moduleOf: (f) => this.moduleOf(f),
      fileOfModule: (m) => this.fileOfModule(m),
    });
  }

  moduleOf(file: string): string | undefined {
    return (
      (this.importRoot === 'src' ? pythonModuleOf(file, 'src') : undefined) ??
      pythonModuleOf(file, '.')
    );
  }

  /** The .py file a module lives in (or its package's __init__.py / __main__.py). */
  fileOfModule(module: string, main = false): string | undefined {
    // Asked for every import of every file each time a question follows
    // imports: third-party modules most of all, never in the project.
    const key = main ? `${module}:main` : module;
    if (this.fileOfModuleCache.has(key)) return this.fileOfModuleCache.get(key);
    const file = this.findFileOfModule(module, main);
    this.fileOfModuleCache.set(key, file);
    return file;
  }

  private readonly fileOfModuleCache = new Map<string, string | undefined>();
  private findFileOfModule(module: string, main: boolean): string | undefined {
    const path = module.split('.').join('/');
    const roots = this.importRoot === 'src' ? ['src/', ''] : [''];
    for (const root of roots)
      for (const file of [
        `${root}${path}.py`,
        `${root}${path}/__init__.py`,
        ...(main ? [`${root}${path}/__main__.py`] : []),
      ])
        if (this.files.isFile(file)) return file;
    return undefined;
  }

  private searchableList?: string[];
  searchable(): string[] {
    this.searchableList ??= this.files
      .pyFiles()
      .filter((p) => !isNonSource(p) && !NON_SOURCE.has(topSegment(p)));
    return [...this.searchableList];
  }

  unitOf(file: string): string {
    const top = topSegment(file);
    return file === top ? top : `${top}/`;
  }

  /** The top-level folders and modules the entries import, transitively. */
  closure(entries: string[]): string[] {
    const units: string[] = [];
    const add = (unit: string | undefined) => {
      if (
        unit &&
        !units.includes(unit) &&
        !NON_SOURCE.has(unit.replace(/\/$/, '')) &&
        unit !== 'setup.py'
      )
        units.push(unit);
    };
    for (const e of entries) add(this.unitOf(e));
    for (let k = 0; k < units.length; k++)
      for (const imported of this.unitImports(units[k])) add(imported);
    return units;
  }

  // Each unit's imports are gathered once per run: closure() is asked for
  // all entries, the app and training apart.
  private readonly unitImportsCache = new Map<string, string[]>();
  private unitImports(unit: string): string[] {
    let hit = this.unitImportsCache.get(unit);
    if (hit) return hit;
    const files = unit.endsWith('/')
      ? this.files
          .filesUnder(unit)
          .filter((p) => p.endsWith('.py') && !isNonSource(p))
      : [unit];
    const out = new Set<string>();
    for (const file of files)
      if (!this.importsNothingOfProject(file))
        for (const imported of this.python.importedModules(file)) {
          const u = this.unitOfModule(imported);
          if (u) out.add(u);
        }
    hit = [...out];
    this.unitImportsCache.set(unit, hit);
    return hit;
  }

  /**
   * A file that names none of the project's top-level modules and has no
   * relative import imports nothing of the project (import statements,
   * import_module("x"), "x.mod:app" strings all spell the name out), so the
   * question of what it imports needs no parse. Most files of a big project
   * import only the standard library and third-party packages.
   */
  importsNothingOfProject(file: string): boolean {
    const text = this.files.read(file) ?? '';
    return !/\bfrom\s+\./.test(text) && !this.projectNames().test(text);
  }

  private projectNamesPattern?: RegExp;
  private projectNames(): RegExp {
    if (this.projectNamesPattern) return this.projectNamesPattern;
    const roots = this.importRoot === 'src' ? ['', 'src'] : [''];
    const names = roots
      .flatMap((r) => this.files.children(r))
      .map((n) => n.replace(/\.py$/, ''))
      .filter((n) => IDENTIFIER.test(n) && this.unitOfTopLevel(n));
    this.projectNamesPattern = names.length
      ? new RegExp(`\\b(?:${uniq(names).join('|')})\\b`)
      : /(?!)/;
    return this.projectNamesPattern;
  }

  private readonly unitOfTop = new Map<string, string | undefined>();
  private unitOfModule(module: string): string | undefined {
    const top = module.split('.')[0];
    const key = `${this.importRoot}:${top}`;
    if (this.unitOfTop.has(key)) return this.unitOfTop.get(key);
    const unit = this.unitOfTopLevel(top);
    this.unitOfTop.set(key, unit);
    return unit;
  }

  private unitOfTopLevel(top: string): string | undefined {
    if (
      this.importRoot === 'src' &&
      (this.files.isDir(`src/${top}`) || this.files.isFile(`src/${top}.py`))
    )
      return 'src/';
    if (
      this.files.isDir(top) &&
      this.files.filesUnder(top).some((p) => p.endsWith('.py'))
    )
      return `${top}/`;
    if (this.files.isFile(`${top}.py`)) return `${top}.py`;
    return undefined;
  }

  allSourceUnits(): string[] {
    return uniq(this.searchable().map((p) => this.unitOf(p))).filter(
      (u) => u !== 'setup.py',
    );
  }

  filesOfUnits(units: string[]): string[] {
    return units.flatMap((u) =>
      u.endsWith('/') ? this.files.filesUnder(u) : [u],
    );
  }
}
