/**
 * The typed view of pyproject.toml: the tables that decide how the project
 * installs, read from the document readers/toml.ts parses.
 */
import { isTable, parseToml, TomlTable, TomlValue } from './readers/toml';

export { TomlError } from './readers/toml';

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
