/**
 * How the images install the project's dependencies: which requirements
 * files (and what they include), whether the project is a package for
 * pip install ., what is left out as dev-only or optional, and the runtime
 * dependency names (frameworks, the torch pin).
 */
import { posix } from 'node:path';
import { fail } from '../errors/errors';
import { Pyproject, readPyproject, TomlError } from './pyproject';
import { InspectionContext, ProjectInspection } from './project-inspection';
import { normalizeRel, uniq } from './project-files';
import { installedPackage } from './installed-package';
import {
  normalizeName,
  requirementName,
  requirementsLines,
} from './readers/requirements';
import {
  Ini,
  readSetupCfg,
  setuptoolsFiles,
  setuptoolsList,
  setuptoolsRequirements,
} from './readers/setup-cfg';
import { readSetupPy } from './setup-py';

const DEV_WORD =
  /^(dev|devel|develop|development|test|tests|testing|lint|linting|docs?|documentation|typing|types|style|format|fmt|qa|ci|check|checks|local|debug|notebooks?|jupyter|bench|benchmarks?)$/;
export const FRAMEWORKS: Array<[string, RegExp]> = [
  ['dvc', /^dvc(-(s3|gs|gdrive|azure|ssh|oss|hdfs|webdav|webhdfs))?$/],
  ['mlflow', /^mlflow(-skinny)?$/],
  ['torch', /^(torch|torchvision|torchaudio|pytorch-lightning|lightning)$/],
  ['tensorflow', /^(tensorflow(-cpu|-gpu|-macos)?|tf-nightly)$/],
  ['jax', /^(jax|jaxlib|flax)$/],
  ['scikit-learn', /^scikit-learn$/],
  ['xgboost', /^xgboost$/],
  ['lightgbm', /^lightgbm$/],
  ['catboost', /^catboost$/],
  ['transformers', /^(transformers|sentence-transformers)$/],
  ['onnxruntime', /^onnxruntime(-gpu)?$/],
  ['hydra', /^hydra-core$/],
];
/** setuptools' flat-layout auto-discovery skips these (FlatLayoutPackageFinder.DEFAULT_EXCLUDE). */

interface RequirementsRead {
  /** Files to copy, in include order. */
  files: string[];
  /** Local paths the requirements install from (folders with /). */
  localPaths: string[];
  names: string[];
  raw: string[];
  git: boolean;
}

function isDevName(path: string): boolean {
  const base = posix.basename(path).replace(/\.(txt|in)$/, '');
  return base.split(/[-_.]+/).some((w) => DEV_WORD.test(w.toLowerCase()));
}

export interface InstallFindings {
  install: ProjectInspection['install'];
  dependencies: string[];
  rawRequirements: string[];
  /** Where a missing runtime dependency should be added, for messages. */
  addTo: string;
  /** Console scripts the installed package declares. */
  consoleScripts: Record<string, string>;
  srcLayout: boolean;
  /** Units (top-level folders with /, modules) pip install . puts in site-packages. */
  installedUnits: string[];
  warnings: string[];
}

/** The install plan; fails when there is nothing pip can install. */
export function readInstall(ctx: InspectionContext): InstallFindings {
  const f = ctx.files;
  const warnings: string[] = [];
  let pyproject: Pyproject | undefined;
  const pyprojectText = f.read('pyproject.toml');
  if (pyprojectText !== undefined) {
    try {
      pyproject = readPyproject(pyprojectText);
    } catch (e) {
      if (e instanceof TomlError)
        fail(
          `pyproject.toml in ${ctx.where} is not valid TOML (${e.message}). Fix it, then rerun.`,
        );
      throw e;
    }
  }
  const setupPyText = f.read('setup.py');
  const setupPy =
    setupPyText !== undefined ? readSetupPy(setupPyText) : undefined;
  const setupCfgText = f.read('setup.cfg');
  const setupCfgRead =
    setupCfgText !== undefined ? readSetupCfg(setupCfgText) : undefined;
  const setupCfg = setupCfgRead?.sections;
  warnings.push(...(setupCfgRead?.warnings ?? []));
  const setupCfgIsMetadata =
    !!setupCfg && (!!setupCfg['metadata'] || !!setupCfg['options']);

  const poetry = pyproject?.poetry;
  const installable =
    !!pyproject?.project ||
    !!setupPy ||
    (!!pyproject?.buildSystem &&
      ((!!poetry && poetry.packageMode) || setupCfgIsMetadata));

  // Requirements files.
  const candidates = [
    ...f
      .children('')
      .filter(
        (n) =>
          /requirements|reqs/i.test(n) && /\.(txt|in)$/.test(n) && f.isFile(n),
      ),
    ...(f.isDir('requirements')
      ? f
          .children('requirements')
          .filter((n) => /\.(txt|in)$/.test(n))
          .map((n) => `requirements/${n}`)
      : []),
  ].filter((p) => !(p.endsWith('.in') && f.isFile(p.replace(/\.in$/, '.txt'))));
  const dev = candidates.filter(isDevName);
  const runtime = candidates.filter((p) => !isDevName(p));
  let chosen: string[] = [];
  if (f.isFile('requirements.txt')) chosen = ['requirements.txt'];
  else if (f.isFile('requirements.in')) chosen = ['requirements.in'];
  else {
    const inDir = runtime.filter((p) => p.startsWith('requirements/'));
    const base = posix.basename;
    const prod = inDir.find((p) =>
      /^(prod|production|prd|deploy|deployment|release|runtime|main|requirements)\.(txt|in)$/.test(
        base(p),
      ),
    );
    const core = inDir.find((p) =>
      /^(base|common|core|default|install)\.(txt|in)$/.test(base(p)),
    );
    // prod.txt usually starts with -r base.txt; then it alone is installed.
    if (prod && core)
      chosen = readRequirements(ctx, [prod], warnings).files.includes(core)
        ? [prod]
        : [core, prod];
    else if (prod) chosen = [prod];
    else if (core) chosen = [core];
    else chosen = inDir;
  }
  const read = readRequirements(ctx, chosen, warnings);

  const dynamicFiles = uniq([
    ...(pyproject?.setuptools.dependencyFiles ?? []),
    ...(setupCfg
      ? (setuptoolsFiles(setupCfg['options']?.['install_requires']) ?? [])
      : []),
    ...(setupPy?.requirementFiles ?? []),
  ]);
  warnings.push(...(setupPy?.warnings ?? []));
  const dynamicRead = readRequirements(
    ctx,
    dynamicFiles.filter((d) => f.isFile(d)),
    warnings,
  );
  for (const d of dynamicFiles.filter((d) => !f.isFile(d)))
    warnings.push(
      `The package's dependencies are read from ${d}, which does not exist: pip install . will fail on it. Add the file or fix the reference in ${setupCfg && !pyproject?.setuptools.dependencyFiles.includes(d) ? 'setup.cfg' : 'pyproject.toml'}, then rerun.`,
    );

  if (!installable && chosen.length === 0)
    nothingToInstall(ctx, pyproject, setupCfg);

  // Dependency sources left out.
  const excluded: string[] = [];
  const optional: string[] = [];
  const sort = (label: string, group: string) =>
    (DEV_WORD.test(group.toLowerCase()) ||
    /^(dev|test|lint|docs?)[-_]/.test(group.toLowerCase())
      ? excluded
      : optional
    ).push(label);
  const included = new Set(read.files);
  for (const p of dev) if (!included.has(p)) excluded.push(p);
  for (const p of runtime)
    if (!included.has(p) && !dynamicFiles.includes(p)) optional.push(p);
  for (const [group] of Object.entries(
    pyproject?.project?.optionalDependencies ?? {},
  ))
    sort(`pyproject.toml [project.optional-dependencies] ${group}`, group);
  for (const [group] of Object.entries(pyproject?.dependencyGroups ?? {}))
    sort(`pyproject.toml [dependency-groups] ${group}`, group);
  for (const [group] of Object.entries(poetry?.groups ?? {}))
    sort(`pyproject.toml [tool.poetry.group.${group}]`, group);
  for (const [group] of Object.entries(poetry?.extras ?? {}))
    sort(`pyproject.toml [tool.poetry.extras] ${group}`, group);
  for (const label of Object.keys(pyproject?.toolDevDependencies ?? {}))
    excluded.push(`pyproject.toml ${label}`);
  for (const group of setupPy?.extras ?? [])
    sort(`setup.py extras_require ${group}`, group);
  for (const group of Object.keys(setupCfg?.['options.extras_require'] ?? {}))
    sort(`setup.cfg [options.extras_require] ${group}`, group);

  // Runtime dependency names.
  const names: string[] = [...read.names];
  const raw: string[] = [...read.raw];
  if (installable) {
    const declared = [
      ...(pyproject?.project?.dependencies ?? []),
      ...(setupPy?.installRequires ?? []),
      ...setuptoolsRequirements(setupCfg?.['options']?.['install_requires']),
    ];
    raw.push(...declared);
    names.push(
      ...declared
        .map((d) => requirementName(d.trim()))
        .filter((n): n is string => !!n),
    );
    names.push(...(poetry?.dependencies ?? []).map(normalizeName));
    names.push(...dynamicRead.names);
    raw.push(...dynamicRead.raw);
  }

  // What pip install . builds from.
  const consoleScripts: Record<string, string> = {
    ...Object.fromEntries(
      setuptoolsList(setupCfg?.['options.entry_points']?.['console_scripts'])
        .map((l) => /^([\w.-]+)\s*=\s*(\S+)$/.exec(l))
        .filter((m): m is RegExpExecArray => !!m)
        .map((m) => [m[1], m[2]]),
    ),
    ...(setupPy?.consoleScripts ?? {}),
    ...(poetry?.scripts ?? {}),
    ...(pyproject?.project?.scripts ?? {}),
  };
  let srcLayout = false;
  let installedUnits: string[] = [];
  const metadataFiles: string[] = [];
  if (installable) {
    const units = installedPackage(
      ctx.files,
      pyproject,
      setupPy,
      setupCfg,
      warnings,
    );
    srcLayout = units.srcLayout;
    installedUnits = units.units;
    for (const file of [
      'pyproject.toml',
      'setup.cfg',
      'setup.py',
      'MANIFEST.in',
    ])
      if (f.isFile(file)) metadataFiles.push(file);
    const named = [
      ...(pyproject?.project?.readme ? [pyproject.project.readme] : []),
      ...(poetry?.readme ?? []),
      ...(pyproject?.project?.licenseFiles ?? []),
    ];
    for (const file of named) {
      if (f.isFile(file)) metadataFiles.push(file);
      else
        warnings.push(
          `pyproject.toml names ${file}, which does not exist: pip install . will fail on it. Add the file or drop the reference, then rerun.`,
        );
    }
    for (const file of pyproject?.setuptools.dynamicFiles ?? [])
      if (f.isFile(file)) metadataFiles.push(file);
    const cfgReadme = /^file:\s*(.+)$/.exec(
      setupCfg?.['metadata']?.['long_description'] ?? '',
    );
    for (const file of cfgReadme ? setuptoolsList(cfgReadme[1]) : [])
      if (f.isFile(file)) metadataFiles.push(file);
    for (const ref of setupPy?.fileRefs ?? []) {
      const rel = normalizeRel(ref);
      if (rel && f.isFile(rel) && !rel.endsWith('.py')) metadataFiles.push(rel);
    }
    if (pyproject?.versionFromVcs)
      warnings.push(
        'pyproject.toml takes its version from git, and the image build has no .git: set a fixed version, or pass it to the build (SETUPTOOLS_SCM_PRETEND_VERSION for setuptools-scm and hatch-vcs).',
      );
  }
  const requirementFiles = uniq([...read.files, ...read.localPaths]);
  // The requirements step already put its files in the build folder.
  const installFiles = installable
    ? uniq([...metadataFiles, ...dynamicRead.files, ...installedUnits]).filter(
        (p) => !requirementFiles.includes(p),
      )
    : [];
  if (read.git)
    warnings.push(
      'The requirements install from git: the builder needs git, so build with --build-arg BUILD_PACKAGES=git (or list git in BUILD_PACKAGES).',
    );

  const addTo = chosen.length
    ? chosen[chosen.length - 1]
    : pyproject?.project
      ? 'pyproject.toml [project.dependencies]'
      : poetry
        ? 'pyproject.toml [tool.poetry.dependencies]'
        : setupPy
          ? 'setup.py install_requires'
          : 'requirements.txt';

  return {
    install: {
      requirements: chosen,
      requirementFiles,
      installable,
      installFiles,
      excluded: uniq(excluded),
      optional: uniq(optional),
    },
    dependencies: uniq(names).sort(),
    rawRequirements: raw,
    addTo,
    consoleScripts: installable ? consoleScripts : {},
    srcLayout,
    installedUnits,
    warnings,
  };
}

function nothingToInstall(
  ctx: InspectionContext,
  pyproject: Pyproject | undefined,
  setupCfg: Ini | undefined,
): never {
  const where = ctx.where;
  const poetry = pyproject?.poetry;
  if (poetry)
    fail(
      `Project "${ctx.name}" lists its dependencies only in [tool.poetry] ${poetry.packageMode ? 'without a [build-system]' : 'with package-mode = false'}, which pip cannot install. Export them (poetry export -f requirements.txt -o requirements.txt --without-hashes), then rerun.`,
    );
  if (pyproject)
    fail(
      `Project "${ctx.name}" has nothing to install: the pyproject.toml in ${where} has no [project] or [build-system] table, and there is no requirements.txt or setup.py. Add a requirements.txt listing the Python dependencies (or a [project] table with dependencies), then rerun.`,
    );
  if (setupCfg)
    fail(
      `Project "${ctx.name}" has nothing to install: setup.cfg in ${where} needs a setup.py or pyproject.toml beside it for pip install . to work. Add a requirements.txt listing the Python dependencies, or a pyproject.toml with a [build-system] table, then rerun.`,
    );
  const other = [
    'environment.yml',
    'environment.yaml',
    'conda.yaml',
    'Pipfile',
  ].find((n) => ctx.files.isFile(n));
  fail(
    `Project "${ctx.name}" has nothing to install: no requirements.txt, pyproject.toml or setup.py in ${where}. Add one listing the Python dependencies, then rerun.${other ? ` (${other} is not read: the images install with pip, so export the dependencies to requirements.txt.)` : ''}`,
  );
}

/** Reads requirements files and what they include; fails on includes an image must not follow. */
function readRequirements(
  ctx: InspectionContext,
  files: string[],
  warnings: string[],
): RequirementsRead {
  const out: RequirementsRead = {
    files: [],
    localPaths: [],
    names: [],
    raw: [],
    git: false,
  };
  const visit = (file: string, constraint: boolean) => {
    if (out.files.includes(file)) return;
    out.files.push(file);
    const text = ctx.files.read(file) ?? '';
    requirementsLines(text).forEach(({ line: lineNumber, text: line }) => {
      const index = lineNumber - 1;
      const include =
        /^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?=[^-\s]))(\S+)/.exec(
          line,
        );
      if (include) {
        const target = include[2];
        if (/^[a-z]+:\/\//i.test(target)) return;
        const rel = normalizeRel(posix.join(posix.dirname(file), target));
        if (rel === undefined)
          fail(
            `${file} includes ${target} (line ${index + 1}), which is outside the project folder, so the image build cannot see it. Copy those requirements into ${ctx.where}, then rerun.`,
          );
        if (!ctx.files.isFile(rel))
          fail(
            `${file} includes ${target} (line ${index + 1}), which does not exist in ${ctx.where}. Fix the path, then rerun.`,
          );
        const isConstraint =
          include[1] === '-c' || include[1] === '--constraint';
        if (!isConstraint && isDevName(rel))
          fail(
            `${file} includes ${rel} (line ${index + 1}), a dev-only requirements file, so the images would install dev tools. Remove that line (${rel} can include ${file} instead), then rerun.`,
          );
        visit(rel, constraint || isConstraint);
        return;
      }
      const editable = /^(-e|--editable)\s*=?\s*(\S+)/.exec(line);
      const target = editable ? editable[2] : line.split(/\s+/)[0];
      if (
        /^(\.|\.\/|\.\[.*\]|file:\.?\/?|file:\.\[.*\])$/.test(
          target.replace(/\[.*\]$/, ''),
        ) ||
        target === '.' ||
        /^\.\[/.test(target)
      )
        fail(
          `${file} installs the project itself ("${line}" on line ${index + 1}), which the images already do with pip install . after the requirements. Move that line to requirements-dev.txt, then rerun.`,
        );
      if (/(^|\s|@\s*)git\+/.test(line)) out.git = true;
      if (/^(\.\.?\/|file:)/.test(target)) {
        const rel = normalizeRel(
          posix.join(posix.dirname(file), target.replace(/^file:/, '')),
        );
        if (rel === undefined)
          warnings.push(
            `${file} installs ${target} (line ${index + 1}), which is outside the project folder: the image build cannot see it. Publish it to an index, or use --sharedLibs for a workspace library.`,
          );
        else if (ctx.files.exists(rel))
          out.localPaths.push(ctx.files.isDir(rel) ? `${rel}/` : rel);
        return;
      }
      // -e git+…#egg=name installs name.
      const editableName = editable && requirementName(editable[2]);
      if (editableName && !constraint) out.names.push(editableName);
      if (line.startsWith('-') || constraint) return;
      out.raw.push(line);
      const name = requirementName(line);
      if (name) out.names.push(name);
    });
  };
  for (const file of files) visit(file, false);
  return out;
}

/** The frameworks and tools among the runtime dependencies. */
export function frameworksOf(dependencies: string[]): string[] {
  return FRAMEWORKS.filter(([, re]) =>
    dependencies.some((d) => re.test(d)),
  ).map(([name]) => name);
}
