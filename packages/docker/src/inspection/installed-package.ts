/**
 * What pip install . puts in site-packages: the package folders and modules
 * the build backend finds (explicit lists, find_packages, setuptools'
 * auto-discovery, a package named after the project), and whether it builds
 * from src/.
 */
import { Pyproject } from './pyproject';
import {
  NON_SOURCE,
  NON_SOURCE_FILE,
  ProjectFiles,
  uniq,
} from './project-files';
import { Ini, setuptoolsList } from './readers/setup-cfg';
import { SetupPy } from './setup-py';
import { IDENTIFIER } from './sources';

/** setuptools' flat-layout auto-discovery skips these (FlatLayoutPackageFinder.DEFAULT_EXCLUDE). */
const SETUPTOOLS_FLAT_EXCLUDE = new Set([
  'ci',
  'bin',
  'debian',
  'doc',
  'docs',
  'documentation',
  'manpages',
  'news',
  'newsfragments',
  'changelog',
  'test',
  'tests',
  'unit_test',
  'unit_tests',
  'example',
  'examples',
  'scripts',
  'tools',
  'util',
  'utils',
  'python',
  'build',
  'dist',
  'venv',
  'env',
  'requirements',
  'tasks',
  'fabfile',
  'site_scons',
  'benchmark',
  'benchmarks',
  'exercise',
  'exercises',
  'htmlcov',
]);

export function installedPackage(
  f: ProjectFiles,
  pyproject: Pyproject | undefined,
  setupPy: SetupPy | undefined,
  setupCfg: Ini | undefined,
  warnings: string[],
): { units: string[]; srcLayout: boolean } {
  const st = pyproject?.setuptools;
  const cfgOptions = setupCfg?.['options'] ?? {};
  const cfgWhere = setuptoolsList(
    setupCfg?.['options.packages.find']?.['where'],
  );
  const poetryPackages = pyproject?.poetry?.packages ?? [];
  const hatch = pyproject?.hatchPackages;
  const srcHasPackage =
    f.isDir('src') &&
    !f.isFile('src/__init__.py') &&
    f
      .children('src')
      .some(
        (n) =>
          f.isFile(`src/${n}/__init__.py`) ||
          (n.endsWith('.py') && n !== '__init__.py'),
      );
  const explicitSrc =
    (st?.findWhere ?? []).some((w) => w.replace(/\/$/, '') === 'src') ||
    st?.packageDir?.[''] === 'src' ||
    poetryPackages.some((p) => p.from === 'src') ||
    (hatch ?? []).some((p) => p.startsWith('src/')) ||
    !!setupPy?.srcLayout ||
    /(^|\n)\s*=\s*src\/?\s*(\n|$)/.test(cfgOptions['package_dir'] ?? '') ||
    cfgWhere.includes('src');
  if (explicitSrc || srcHasPackage) return { units: ['src/'], srcLayout: true };

  const unit = (name: string): string | undefined => {
    const top = name.split(/[./]/)[0];
    if (f.isDir(top)) return `${top}/`;
    if (f.isFile(`${top}.py`)) return `${top}.py`;
    return undefined;
  };
  const explicit = [
    ...(st?.packages ?? []),
    ...(st?.pyModules ?? []),
    ...poetryPackages.map((p) => p.include),
    ...(hatch ?? []),
    ...(pyproject?.flitModule ? [pyproject.flitModule] : []),
    ...(setupPy?.packages ?? []),
    ...(setupPy?.pyModules ?? []),
    ...(cfgOptions['packages'] && !/^find/.test(cfgOptions['packages'])
      ? setuptoolsList(cfgOptions['packages'])
      : []),
    ...setuptoolsList(cfgOptions['py_modules']),
  ];
  if (explicit.length)
    return {
      units: uniq(explicit.map(unit).filter((u): u is string => !!u)),
      srcLayout: false,
    };

  const topDirs = f
    .children('')
    .filter((n) => f.isDir(n) && IDENTIFIER.test(n) && !n.startsWith('_'));
  const backend =
    pyproject?.buildSystem?.backend ??
    (pyproject?.poetry ? 'poetry' : 'setuptools');
  const name = (pyproject?.project?.name ?? pyproject?.poetry?.name)
    ?.toLowerCase()
    .replace(/[-.]+/g, '_');
  if (
    setupPy?.findPackages ||
    st?.findWhere !== undefined ||
    /^find/.test(cfgOptions['packages'] ?? '')
  ) {
    const include = st?.findInclude ?? [];
    const found = topDirs.filter(
      (d) =>
        f.isFile(`${d}/__init__.py`) &&
        !NON_SOURCE.has(d) &&
        (include.length === 0 ||
          include.some((p) =>
            new RegExp(
              `^${p.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`,
            ).test(d),
          )),
    );
    return { units: found.map((d) => `${d}/`), srcLayout: false };
  }
  if (!/setuptools/.test(backend)) {
    const own = name ? unit(name) : undefined;
    if (!own)
      warnings.push(
        `pip install . will fail: the build backend (${backend}) looks for a ${name ?? 'package'}/ or src/${name ?? 'package'}/ folder named after the project and finds none. Name the package folder in pyproject.toml (e.g. [tool.hatch.build.targets.wheel] packages, [tool.poetry] packages), then rerun.`,
      );
    return { units: own ? [own] : [], srcLayout: false };
  }
  // setuptools auto-discovery: every identifier-named folder counts, even without __init__.py.
  const discovered = topDirs.filter((d) => !SETUPTOOLS_FLAT_EXCLUDE.has(d));
  if (discovered.length > 1)
    warnings.push(
      `pip install . will fail: setuptools finds several top-level folders (${discovered.join(', ')}) and refuses to guess which are packages. List them in pyproject.toml ([tool.setuptools] packages = [...]) or move the code under src/, then rerun.`,
    );
  if (discovered.length)
    return { units: discovered.map((d) => `${d}/`), srcLayout: false };
  const modules = f
    .children('')
    .filter(
      (n) =>
        n.endsWith('.py') &&
        f.isFile(n) &&
        !NON_SOURCE_FILE.test(n) &&
        !/^(manage|pavement|conanfile)\.py$/.test(n),
    );
  if (modules.length > 1)
    warnings.push(
      `pip install . will fail: setuptools finds several top-level modules (${modules.join(', ')}) and refuses to guess. List them in pyproject.toml ([tool.setuptools] py-modules = [...]), then rerun.`,
    );
  return { units: modules, srcLayout: false };
}
