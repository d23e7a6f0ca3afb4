/**
 * A TOML reader sized for pyproject.toml, and a typed view of the tables the
 * images need from it.
 *
 * Why not a dependency: pyproject.toml uses a small, stable part of TOML, the
 * plugin otherwise ships with four runtime dependencies, and this reader
 * follows TOML 1.0 closely enough to refuse what pip's own parser (tomllib)
 * refuses, so a file it accepts is one `pip install .` can read. Dates and
 * times come back as their text: nothing here needs them as dates.
 */

export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;

export interface TomlTable {
  [key: string]: TomlValue;
}

/** A syntax or redefinition error, with the 1-based line it was found on. */
export class TomlError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'TomlError';
  }
}

const BARE_KEY = /[A-Za-z0-9_-]/;
const ESCAPES: Record<string, string> = {
  b: '\b',
  t: '\t',
  n: '\n',
  f: '\f',
  r: '\r',
  e: '\x1b',
  '"': '"',
  '\\': '\\',
};
const DATE_TIME =
  /^(?:\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})?)?|\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)/;
const NUMBER =
  /^[+-]?(?:0x[0-9A-Fa-f_]+|0o[0-7_]+|0b[01_]+|(?:inf|nan)|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d[\d_]*)?)/;

/** Parses a TOML document; throws TomlError on the first problem. */
export function parseToml(text: string): TomlTable {
  return new TomlParser(text).parse();
}

class TomlParser {
  private pos = 0;
  private line = 1;
  private readonly root: TomlTable = {};
  // TOML forbids reopening a table, so each table remembers how it came to be.
  private readonly headerTables = new WeakSet<object>();
  private readonly impliedTables = new WeakSet<object>();
  private readonly dottedTables = new WeakSet<object>();
  private readonly frozen = new WeakSet<object>();
  private readonly tableArrays = new WeakSet<object>();

  constructor(private readonly text: string) {}

  parse(): TomlTable {
    let current = this.root;
    if (this.text.charCodeAt(0) === 0xfeff) this.pos = 1;
    for (;;) {
      this.skipBlankLines();
      if (this.pos >= this.text.length) return this.root;
      const c = this.text[this.pos];
      if (c === '[') {
        const isArray = this.text[this.pos + 1] === '[';
        this.pos += isArray ? 2 : 1;
        this.skipSpaces();
        const keys = this.parseKey();
        this.skipSpaces();
        if (!this.text.startsWith(isArray ? ']]' : ']', this.pos))
          this.error(
            `expected "${isArray ? ']]' : ']'}" to close the table header`,
          );
        this.pos += isArray ? 2 : 1;
        current = isArray ? this.openTableArray(keys) : this.openTable(keys);
      } else {
        this.parseKeyValue(current);
      }
      this.endOfLine();
    }
  }

  private error(reason: string): never {
    throw new TomlError(reason, this.line);
  }

  private skipSpaces(): void {
    while (this.text[this.pos] === ' ' || this.text[this.pos] === '\t')
      this.pos++;
  }

  private skipComment(): void {
    if (this.text[this.pos] !== '#') return;
    while (this.pos < this.text.length && this.text[this.pos] !== '\n') {
      const code = this.text.charCodeAt(this.pos);
      if ((code < 0x20 && code !== 0x09 && code !== 0x0d) || code === 0x7f)
        this.error('control character in a comment');
      this.pos++;
    }
  }

  /** Consumes one newline (\n or \r\n) if there is one. */
  private newline(): boolean {
    if (this.text[this.pos] === '\n') {
      this.pos++;
      this.line++;
      return true;
    }
    if (this.text[this.pos] === '\r' && this.text[this.pos + 1] === '\n') {
      this.pos += 2;
      this.line++;
      return true;
    }
    return false;
  }

  private skipBlankLines(): void {
    for (;;) {
      this.skipSpaces();
      this.skipComment();
      if (!this.newline()) return;
    }
  }

  /** Whitespace, newlines and comments, as allowed inside an array. */
  private skipArraySpace(): void {
    for (;;) {
      this.skipSpaces();
      this.skipComment();
      if (!this.newline()) return;
    }
  }

  private endOfLine(): void {
    this.skipSpaces();
    this.skipComment();
    if (this.pos < this.text.length && !this.newline())
      this.error(
        `unexpected "${this.text[this.pos]}" after a value (one key = value per line)`,
      );
  }

  private parseKey(): string[] {
    const keys: string[] = [];
    for (;;) {
      this.skipSpaces();
      const c = this.text[this.pos];
      if (c === '"') keys.push(this.basicString());
      else if (c === "'") keys.push(this.literalString());
      else {
        const start = this.pos;
        while (
          this.pos < this.text.length &&
          BARE_KEY.test(this.text[this.pos])
        )
          this.pos++;
        if (start === this.pos) this.error('expected a key');
        keys.push(this.text.slice(start, this.pos));
      }
      this.skipSpaces();
      if (this.text[this.pos] !== '.') return keys;
      this.pos++;
    }
  }

  private parseKeyValue(table: TomlTable): void {
    const keys = this.parseKey();
    if (this.text[this.pos] !== '=')
      this.error(`expected "=" after the key ${keys.join('.')}`);
    this.pos++;
    this.skipSpaces();
    const value = this.parseValue();
    let target = table;
    for (const key of keys.slice(0, -1)) {
      const existing = target[key];
      if (existing === undefined) {
        const created: TomlTable = {};
        this.dottedTables.add(created);
        target[key] = created;
        target = created;
      } else if (
        isTable(existing) &&
        !this.frozen.has(existing) &&
        !this.headerTables.has(existing)
      ) {
        target = existing;
      } else {
        this.error(`the key ${keys.join('.')} extends a value defined earlier`);
      }
    }
    const last = keys[keys.length - 1];
    if (Object.prototype.hasOwnProperty.call(target, last))
      this.error(`the key ${keys.join('.')} is defined twice`);
    target[last] = value;
  }

  /** Walks a header's parent keys, creating the implied tables. */
  private walkHeader(keys: string[]): TomlTable {
    let target = this.root;
    for (const key of keys.slice(0, -1)) {
      const existing = target[key];
      if (existing === undefined) {
        const created: TomlTable = {};
        this.impliedTables.add(created);
        target[key] = created;
        target = created;
      } else if (Array.isArray(existing) && this.tableArrays.has(existing)) {
        target = existing[existing.length - 1] as TomlTable;
      } else if (isTable(existing) && !this.frozen.has(existing)) {
        target = existing;
      } else {
        this.error(`[${keys.join('.')}] extends a value defined earlier`);
      }
    }
    return target;
  }

  private openTable(keys: string[]): TomlTable {
    const parent = this.walkHeader(keys);
    const last = keys[keys.length - 1];
    const existing = parent[last];
    if (existing === undefined) {
      const created: TomlTable = {};
      this.headerTables.add(created);
      parent[last] = created;
      return created;
    }
    if (
      isTable(existing) &&
      this.impliedTables.has(existing) &&
      !this.headerTables.has(existing)
    ) {
      this.headerTables.add(existing);
      return existing;
    }
    this.error(`the table [${keys.join('.')}] is defined twice`);
  }

  private openTableArray(keys: string[]): TomlTable {
    const parent = this.walkHeader(keys);
    const last = keys[keys.length - 1];
    const existing = parent[last];
    const created: TomlTable = {};
    if (existing === undefined) {
      const array: TomlValue[] = [created];
      this.tableArrays.add(array);
      parent[last] = array;
    } else if (Array.isArray(existing) && this.tableArrays.has(existing)) {
      existing.push(created);
    } else {
      this.error(`[[${keys.join('.')}]] reuses a key defined earlier`);
    }
    return created;
  }

  private parseValue(): TomlValue {
    const rest = this.text.slice(this.pos, this.pos + 64);
    const c = rest[0];
    if (c === '"')
      return rest.startsWith('"""')
        ? this.multilineBasicString()
        : this.basicString();
    if (c === "'")
      return rest.startsWith("'''")
        ? this.multilineLiteralString()
        : this.literalString();
    if (c === '[') return this.array();
    if (c === '{') return this.inlineTable();
    if (/^true(?![A-Za-z0-9_-])/.test(rest)) {
      this.pos += 4;
      return true;
    }
    if (/^false(?![A-Za-z0-9_-])/.test(rest)) {
      this.pos += 5;
      return false;
    }
    const dateTime = DATE_TIME.exec(rest);
    if (dateTime && /^\d{4}-|^\d{2}:/.test(rest)) {
      this.pos += dateTime[0].length;
      return dateTime[0];
    }
    const number = NUMBER.exec(rest);
    if (number) {
      this.pos += number[0].length;
      return this.toNumber(number[0]);
    }
    this.error(
      c === undefined || c === '\n' || c === '\r'
        ? 'expected a value after "="'
        : `unexpected "${c}" where a value should be (strings need quotes)`,
    );
  }

  private toNumber(raw: string): number {
    if (/(^|[^0-9A-Fa-f])_|_($|[^0-9A-Fa-f])|__/.test(raw))
      this.error(`"${raw}" has an underscore that is not between digits`);
    const clean = raw.replace(/_/g, '');
    const unsigned = clean.replace(/^[+-]/, '');
    const sign = clean.startsWith('-') ? -1 : 1;
    if (unsigned === 'inf') return sign * Infinity;
    if (unsigned === 'nan') return NaN;
    if (/^0[xob]/.test(unsigned)) {
      if (clean !== unsigned)
        this.error(`"${raw}": hexadecimal, octal and binary take no sign`);
      const base = { x: 16, o: 8, b: 2 }[unsigned[1] as 'x' | 'o' | 'b'];
      return parseInt(unsigned.slice(2), base);
    }
    if (/^0\d/.test(unsigned)) this.error(`"${raw}" has a leading zero`);
    return Number(clean);
  }

  private basicString(): string {
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined || c === '\n' || c === '\r')
        this.error('a string is not closed on its line');
      this.pos++;
      if (c === '"') return out;
      if (c === '\\') out += this.escape();
      else out += c;
    }
  }

  private escape(): string {
    const c = this.text[this.pos++];
    if (c in ESCAPES) return ESCAPES[c];
    if (c === 'u' || c === 'U') {
      const length = c === 'u' ? 4 : 8;
      const hex = this.text.slice(this.pos, this.pos + length);
      if (!new RegExp(`^[0-9A-Fa-f]{${length}}$`).test(hex))
        this.error(`"\\${c}" needs ${length} hexadecimal digits`);
      this.pos += length;
      const code = parseInt(hex, 16);
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
        this.error(`"\\${c}${hex}" is not a Unicode scalar value`);
      return String.fromCodePoint(code);
    }
    this.error(`unknown escape "\\${c ?? ''}" in a string`);
  }

  private literalString(): string {
    const start = ++this.pos;
    while (this.text[this.pos] !== "'") {
      const c = this.text[this.pos];
      if (c === undefined || c === '\n' || c === '\r')
        this.error('a string is not closed on its line');
      this.pos++;
    }
    return this.text.slice(start, this.pos++);
  }

  /** Up to two quotes may sit right before the closing three. */
  private closesMultiline(quote: string): number {
    let run = 0;
    while (this.text[this.pos + run] === quote) run++;
    if (run < 3) return 0;
    if (run > 5) this.error('too many quotes closing a multi-line string');
    return run;
  }

  private multilineBasicString(): string {
    this.pos += 3;
    this.newline();
    let out = '';
    for (;;) {
      if (this.pos >= this.text.length)
        this.error('a multi-line string (""") is never closed');
      const run = this.closesMultiline('"');
      if (run) {
        this.pos += run;
        return out + '"'.repeat(run - 3);
      }
      if (this.newline()) {
        out += '\n';
        continue;
      }
      const c = this.text[this.pos++];
      if (c !== '\\') {
        out += c;
        continue;
      }
      // A backslash ending a line swallows the newline and the indentation after it.
      const afterSpaces = /^[ \t]*\r?\n/.exec(this.text.slice(this.pos));
      if (afterSpaces) {
        this.pos += afterSpaces[0].length;
        this.line++;
        for (;;) {
          this.skipSpaces();
          if (!this.newline()) break;
        }
        continue;
      }
      out += this.escape();
    }
  }

  private multilineLiteralString(): string {
    this.pos += 3;
    this.newline();
    let out = '';
    for (;;) {
      if (this.pos >= this.text.length)
        this.error("a multi-line string (''') is never closed");
      const run = this.closesMultiline("'");
      if (run) {
        this.pos += run;
        return out + "'".repeat(run - 3);
      }
      if (this.newline()) out += '\n';
      else out += this.text[this.pos++];
    }
  }

  private array(): TomlValue[] {
    this.pos++;
    const items: TomlValue[] = [];
    for (;;) {
      this.skipArraySpace();
      if (this.text[this.pos] === ']') break;
      items.push(this.parseValue());
      this.skipArraySpace();
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      if (this.text[this.pos] !== ']')
        this.error('expected "," or "]" in an array');
      break;
    }
    this.pos++;
    this.frozen.add(items);
    return items;
  }

  private inlineTable(): TomlTable {
    this.pos++;
    const table: TomlTable = {};
    // Newlines and a trailing comma are TOML 1.1; accepted, they harm nothing here.
    this.skipArraySpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      this.frozen.add(table);
      return table;
    }
    for (;;) {
      this.skipArraySpace();
      if (this.text[this.pos] === '}') break;
      this.parseKeyValue(table);
      this.skipArraySpace();
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      if (this.text[this.pos] !== '}')
        this.error('expected "," or "}" in an inline table');
      break;
    }
    this.pos++;
    this.freezeDeep(table);
    return table;
  }

  private freezeDeep(table: TomlTable): void {
    this.frozen.add(table);
    for (const value of Object.values(table))
      if (isTable(value)) this.freezeDeep(value);
  }
}

export function isTable(value: TomlValue | undefined): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The pyproject.toml tables that decide how the project installs. */
export interface Pyproject {
  /** [project] (PEP 621), when present. */
  project?: {
    name?: string;
    dependencies: string[];
    optionalDependencies: Record<string, string[]>;
    /** [project.scripts]: console script name → "module:function". */
    scripts: Record<string, string>;
    /** The readme file, when `readme` names one (a string or {file = ...}). */
    readme?: string;
    /** Files named by license = {file = ...} and non-glob license-files. */
    licenseFiles: string[];
    dynamic: string[];
  };
  /** [build-system], when present. */
  buildSystem?: { requires: string[]; backend?: string };
  /** [dependency-groups] (PEP 735): never installed by `pip install .`. */
  dependencyGroups: Record<string, string[]>;
  /** [tool.poetry], when present. */
  poetry?: {
    name?: string;
    /** false with package-mode = false: poetry manages dependencies only. */
    packageMode: boolean;
    /** Names from [tool.poetry.dependencies], without python. */
    dependencies: string[];
    /** [tool.poetry.group.<name>.dependencies] and the older [tool.poetry.dev-dependencies] (as "dev"). */
    groups: Record<string, string[]>;
    extras: Record<string, string[]>;
    scripts: Record<string, string>;
    packages: Array<{ include: string; from?: string }>;
    readme: string[];
  };
  /** Other tools' dev dependency lists ([tool.uv] dev-dependencies, [tool.pdm.dev-dependencies]), labelled by table. */
  toolDevDependencies: Record<string, string[]>;
  setuptools: {
    /** [tool.setuptools] packages = [...] */
    packages?: string[];
    /** [tool.setuptools.packages.find] where / include. */
    findWhere?: string[];
    findInclude?: string[];
    /** [tool.setuptools] package-dir. */
    packageDir?: Record<string, string>;
    pyModules?: string[];
    /** Files named by [tool.setuptools.dynamic] … = {file = ...}. */
    dynamicFiles: string[];
    /** [tool.setuptools.dynamic] dependencies = {file = ...}. */
    dependencyFiles: string[];
  };
  /** [tool.hatch.build.targets.wheel] packages. */
  hatchPackages?: string[];
  /** [tool.flit.module] name. */
  flitModule?: string;
  /** The version comes from git (setuptools-scm, hatch-vcs, poetry-dynamic-versioning…). */
  versionFromVcs: boolean;
}

/** Reads pyproject.toml's text; throws TomlError when it is not valid TOML. */
export function readPyproject(text: string): Pyproject {
  const doc = parseToml(text);
  const tool = tableAt(doc, 'tool') ?? {};
  const result: Pyproject = {
    dependencyGroups: {},
    toolDevDependencies: {},
    setuptools: { dynamicFiles: [], dependencyFiles: [] },
    versionFromVcs: false,
  };

  const project = tableAt(doc, 'project');
  if (project) {
    const readme = project['readme'];
    const license = project['license'];
    result.project = {
      name: stringAt(project, 'name'),
      dependencies: strings(project['dependencies']),
      optionalDependencies: stringLists(
        tableAt(project, 'optional-dependencies'),
      ),
      scripts: stringMap(tableAt(project, 'scripts')),
      readme:
        typeof readme === 'string'
          ? readme
          : isTable(readme)
            ? stringAt(readme, 'file')
            : undefined,
      licenseFiles: [
        ...(isTable(license) && stringAt(license, 'file')
          ? [stringAt(license, 'file') as string]
          : []),
        ...strings(project['license-files']).filter((f) => !/[*?[]/.test(f)),
      ],
      dynamic: strings(project['dynamic']),
    };
  }

  const buildSystem = tableAt(doc, 'build-system');
  if (buildSystem)
    result.buildSystem = {
      requires: strings(buildSystem['requires']),
      backend: stringAt(buildSystem, 'build-backend'),
    };

  const groups = tableAt(doc, 'dependency-groups') ?? {};
  for (const [name, entries] of Object.entries(groups))
    result.dependencyGroups[name] = strings(entries);

  const poetry = tableAt(tool, 'poetry');
  if (poetry) {
    const groupTables = tableAt(poetry, 'group') ?? {};
    const poetryGroups: Record<string, string[]> = {};
    for (const [name, group] of Object.entries(groupTables))
      if (isTable(group))
        poetryGroups[name] = Object.keys(tableAt(group, 'dependencies') ?? {});
    const legacyDev = tableAt(poetry, 'dev-dependencies');
    if (legacyDev)
      poetryGroups['dev'] = [
        ...(poetryGroups['dev'] ?? []),
        ...Object.keys(legacyDev),
      ];
    const readme = poetry['readme'];
    result.poetry = {
      name: stringAt(poetry, 'name'),
      packageMode: poetry['package-mode'] !== false,
      dependencies: Object.keys(tableAt(poetry, 'dependencies') ?? {}).filter(
        (name) => name.toLowerCase() !== 'python',
      ),
      groups: poetryGroups,
      extras: stringLists(tableAt(poetry, 'extras')),
      scripts: stringMap(tableAt(poetry, 'scripts')),
      packages: (Array.isArray(poetry['packages']) ? poetry['packages'] : [])
        .filter(isTable)
        .filter((p) => typeof p['include'] === 'string')
        .map((p) => ({
          include: p['include'] as string,
          ...(typeof p['from'] === 'string' ? { from: p['from'] } : {}),
        })),
      readme: typeof readme === 'string' ? [readme] : strings(readme),
    };
  }

  const uv = tableAt(tool, 'uv');
  if (uv && Array.isArray(uv['dev-dependencies']))
    result.toolDevDependencies['[tool.uv] dev-dependencies'] = strings(
      uv['dev-dependencies'],
    );
  const pdmDev = tableAt(tableAt(tool, 'pdm') ?? {}, 'dev-dependencies');
  for (const [name, entries] of Object.entries(pdmDev ?? {}))
    result.toolDevDependencies[`[tool.pdm.dev-dependencies] ${name}`] =
      strings(entries);

  const setuptools = tableAt(tool, 'setuptools');
  if (setuptools) {
    const packages = setuptools['packages'];
    if (Array.isArray(packages)) result.setuptools.packages = strings(packages);
    const find = isTable(packages) ? tableAt(packages, 'find') : undefined;
    if (find) {
      result.setuptools.findWhere = strings(find['where']);
      result.setuptools.findInclude = strings(find['include']);
    }
    const packageDir = tableAt(setuptools, 'package-dir');
    if (packageDir) result.setuptools.packageDir = stringMap(packageDir);
    if (Array.isArray(setuptools['py-modules']))
      result.setuptools.pyModules = strings(setuptools['py-modules']);
    for (const [field, spec] of Object.entries(
      tableAt(setuptools, 'dynamic') ?? {},
    )) {
      const specs =
        field === 'optional-dependencies' && isTable(spec)
          ? Object.values(spec)
          : [spec];
      for (const one of specs) {
        if (!isTable(one)) continue;
        const files =
          typeof one['file'] === 'string'
            ? [one['file']]
            : strings(one['file']);
        result.setuptools.dynamicFiles.push(...files);
        if (field === 'dependencies')
          result.setuptools.dependencyFiles.push(...files);
      }
    }
  }

  const wheel = tableAt(
    tableAt(tableAt(tableAt(tool, 'hatch') ?? {}, 'build') ?? {}, 'targets') ??
      {},
    'wheel',
  );
  if (wheel && Array.isArray(wheel['packages']))
    result.hatchPackages = strings(wheel['packages']);
  const flitModule = tableAt(tableAt(tool, 'flit') ?? {}, 'module');
  if (flitModule) result.flitModule = stringAt(flitModule, 'name');

  result.versionFromVcs = versionFromVcs(result, tool);
  return result;
}

/**
 * Whether building the wheel needs git history for its version: the docker
 * build context carries no .git, so such a build needs the version some other way.
 */
function versionFromVcs(pyproject: Pyproject, tool: TomlTable): boolean {
  if (tableAt(tool, 'poetry-dynamic-versioning')?.['enable'] === true)
    return true;
  if (!(pyproject.project?.dynamic ?? []).includes('version')) return false;
  const hatchVersion = tableAt(tableAt(tool, 'hatch') ?? {}, 'version');
  const pdmVersion = tableAt(tableAt(tool, 'pdm') ?? {}, 'version');
  const setuptoolsVersion = tableAt(
    tableAt(tool, 'setuptools') ?? {},
    'dynamic',
  )?.['version'];
  if (isTable(setuptoolsVersion) || hatchVersion?.['path'] !== undefined)
    return false;
  const requires = (pyproject.buildSystem?.requires ?? []).join(' ');
  return (
    /setuptools[-_]scm|hatch-vcs|versioningit|uv-dynamic-versioning/i.test(
      requires,
    ) ||
    tool['setuptools_scm'] !== undefined ||
    hatchVersion?.['source'] === 'vcs' ||
    pdmVersion?.['source'] === 'scm'
  );
}

function tableAt(table: TomlTable, key: string): TomlTable | undefined {
  const value = table[key];
  return isTable(value) ? value : undefined;
}

function stringAt(table: TomlTable, key: string): string | undefined {
  const value = table[key];
  return typeof value === 'string' ? value : undefined;
}

function strings(value: TomlValue | undefined): string[] {
  return Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string')
    : [];
}

function stringLists(table: TomlTable | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(table ?? {}))
    out[key] = strings(value);
  return out;
}

function stringMap(table: TomlTable | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(table ?? {}))
    if (typeof value === 'string') out[key] = value;
  return out;
}
