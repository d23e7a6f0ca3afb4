/**
 * Reads a Python ML project the way its own tools would (pip, setuptools,
 * uvicorn, dvc) and says what its images need: which folders to copy, how
 * to install it, which FastAPI app to serve, how training starts, and which
 * config and model files the code reads. It only reads the devkit Tree, so
 * dry runs and specs see exactly what a real run would.
 */
import { Tree } from '@nx/devkit';
import { posix } from 'node:path';
import { fail } from '../errors/errors';
import { Pyproject, readPyproject, TomlError } from '../inspection/pyproject';
import { DvcStage, readDvcStages } from '../inspection/dvc';
import { argvCommands } from '../inspection/readers/shell';
import {
  normalizeName,
  requirementName,
  requirementsLines,
  torchPinOf,
} from '../inspection/readers/requirements';
import {
  Ini,
  readSetupCfg,
  setuptoolsFiles,
  setuptoolsList,
  setuptoolsRequirements,
} from '../inspection/readers/setup-cfg';

export { torchPinOf } from '../inspection/readers/requirements';
import { AppFinding, findApp } from '../inspection/app';
import { PythonProject } from '../inspection/python-project';
import { referencedModels } from '../inspection/models';
import { findRoutes } from '../inspection/routes';
import { readSetupPy, SetupPy } from '../inspection/setup-py';
import { findWritableFolders, outermost } from '../inspection/writable-folders';

export interface InspectOptions {
  /** The Nx project's name, used in messages; defaults to the root's last folder. */
  projectName?: string;
  /** The inference image is being generated: no FastAPI app is then an error (default true). */
  needsApp?: boolean;
  /** The training image is being generated: no training entry is then an error (default true). */
  needsTraining?: boolean;
  /** The FastAPI app as module:attr; skips the search. */
  appModule?: string;
  /** The training command as an argv array; wins over what is found. */
  trainingCommand?: string[];
  /** The training module (python -m); wins over what is found. */
  trainingModule?: string;
  /** More runtime files or folders (relative to the project root) both images copy. */
  runtimeFiles?: string[];
  /** Runtime files or folders found that must not be copied. */
  excludeRuntimeFiles?: string[];
}

export type TrainingEntry =
  | {
      kind: 'dvc';
      command: string[];
      stages: string[];
      /** dvc (or a dvc remote plugin) is in the runtime dependencies. */
      dvcDeclared: boolean;
      /** The pipeline's own files the training image copies (dvc.yaml, dvc.lock, .dvc/config…). */
      files: string[];
      /** The module the train stage runs, when its cmd is `python -m …` or `python x.py`. */
      module?: string;
    }
  | { kind: 'module'; module: string; command: string[] }
  | { kind: 'console-script'; name: string; command: string[] }
  | { kind: 'command'; command: string[] }
  | { kind: 'none' };

export interface ProjectInspection {
  projectName: string;
  projectRoot: string;
  layout: 'src-package' | 'top-level-packages' | 'installable';
  /**
   * Where Python finds the project's modules, relative to the project root:
   * '.' or 'src'. With 'src' and a layout other than 'installable', the
   * images need PYTHONPATH to include the copied src/.
   */
  importRoot: '.' | 'src';
  /** Paths (relative to the project root, folders with trailing /) the images copy as source, in COPY order. */
  sources: string[];
  install: {
    /** Requirements files to pip install -r, in order (runtime only). */
    requirements: string[];
    /**
     * Every file the `pip install -r` step needs copied first, in COPY order:
     * the requirements, the files they include (-r, -c), and local paths
     * they install from.
     */
    requirementFiles: string[];
    /** The project itself is a package to `pip install .` (after the requirements). */
    installable: boolean;
    /**
     * What `pip install .` needs copied first, in COPY order (empty unless
     * installable): pyproject.toml / setup.cfg / setup.py / MANIFEST.in, the
     * files they name (readme, license, version, dynamic dependency files),
     * then the package folders (src/ for a src layout).
     */
    installFiles: string[];
    /** Dev-only dependency sources left out (requirements-dev.txt, pyproject.toml [project.optional-dependencies] dev …). */
    excluded: string[];
    /** Other declared dependency sources, not dev-only, that are not installed (e.g. an extra named gpu). */
    optional: string[];
  };
  /** Runtime dependency names (PEP 503 normalized), from every source installed. */
  dependencies: string[];
  /** Tools and frameworks among the runtime dependencies: dvc, mlflow, torch, tensorflow, … */
  frameworks: string[];
  /**
   * The torch version the runtime dependencies pin (torch==2.5.1 → 2.5.1,
   * torch==2.5.* or torch~=2.5.0 → 2.5), so a CUDA variant installs that
   * release and the requirements never swap it for another build.
   */
  torchPin?: string;
  /** The FastAPI app as module:attr, when exactly one was found or given. */
  app?: string;
  /** app names a factory function: uvicorn needs --factory. */
  appFactory: boolean;
  /** Every module-level FastAPI app found (apps mounted into another are left out). */
  apps: string[];
  /** Functions that build and return a FastAPI app (module:function). */
  factories: string[];
  /** A GET route of the app that looks like liveness (/health, /healthz, /livez, /ping …). */
  healthPath?: string;
  /** How healthPath was found: a liveness route, or (none found) the app's OpenAPI document or another GET route without parameters. */
  healthFrom?: 'route' | 'openapi' | 'get-route';
  /**
   * Folders (relative to the project root, top level, sorted) the code
   * writes into, per image: they must be writable by the image's user.
   * training: code the training entry reaches, dvc stage outs; inference:
   * code the app module reaches (at import or in handlers).
   */
  writableFolders: {
    training: string[];
    inference: string[];
    /** folder → the file:line that writes into it first. */
    where: Record<string, string>;
  };
  /** A GET route of the app that looks like readiness (/ready, /readyz, /health/ready …). */
  readyPath?: string;
  training: TrainingEntry;
  /** Runtime files both images copy: config folders and files the code reads, plus options.runtimeFiles, minus options.excludeRuntimeFiles. */
  runtimeFiles: string[];
  /** Model files or folders the inference image bakes in: committed, or where training writes them. */
  modelPaths: string[];
  /** Model paths found only because the serving code names a file in them → that file:line (a setting's default, .env.example). */
  modelSources?: Record<string, string>;
  /** Some model path holds model files in the project now (not only .dvc pointers or a placeholder). */
  modelsCommitted: boolean;
  /** Things that will likely break the build or the run, each saying what to do; summarize() leaves them to the caller. */
  warnings: string[];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MODULE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const APP_MODULE =
  /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_FILES = 50000;

/** Never walked: tooling, environments, caches, build output, run logs. */
const PRUNED = new Set([
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
const DATA_DIRS = new Set(['data', 'datasets', 'dataset']);
/** Not part of what runs: never searched for apps or training, never copied as source. */
const NON_SOURCE = new Set([
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
const NON_SOURCE_FILE =
  /(^|\/)(test_[^/]*|[^/]*_test|conftest|setup|noxfile|toxfile|fabfile|tasks|dodo)\.py$/;
const TRAIN_STEM =
  /^(?:train|training|fit)(?:_[A-Za-z0-9_]+)?$|^[A-Za-z0-9_]+_(?:train|training|fit)$/;
const CONFIG_DIRS = new Set([
  'configs',
  'config',
  'conf',
  'cfg',
  'settings',
  'params',
  'hydra',
  'feature_repo',
]);
const CONFIG_FILE =
  /^(params|config|configs|settings|feature_store|logging|hydra)\.(ya?ml|json|toml|ini|cfg|conf)$/;
const CONFIG_EXT = /\.(ya?ml|json|toml|ini|cfg|conf|txt|jinja2?|j2)$/;
const MODEL_DIRS = new Set([
  'models',
  'model',
  'artifacts',
  'artifact',
  'checkpoints',
  'weights',
  'saved_models',
  'saved_model',
  'model_store',
]);
/** Folders training writes that hold no model. */
const NOT_MODEL_OUTPUTS = new Set([
  'metrics',
  'plots',
  'reports',
  'logs',
  'runs',
  'figures',
  'tmp',
  'cache',
]);
const MODEL_EXT =
  /\.(joblib|pkl|pickle|pt|pth|ckpt|onnx|h5|hdf5|keras|safetensors|pb|tflite|cbm|ubj|xgb|lgb|sav|bst|gguf|mar)$/;
const SECRET =
  /(^|\/)(\.env(\..*)?|\.secrets?\.[^/]*|secrets?\.[^/]*|[^/]*credentials[^/]*|[^/]*\.pem|[^/]*\.key|service-account[^/]*\.json|[^/]*\.local(\.[^/]*)?)$/;
const DEV_WORD =
  /^(dev|devel|develop|development|test|tests|testing|lint|linting|docs?|documentation|typing|types|style|format|fmt|qa|ci|check|checks|local|debug|notebooks?|jupyter|bench|benchmarks?)$/;
const FRAMEWORKS: Array<[string, RegExp]> = [
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

/** The lines the generator prints before writing anything (warnings are printed apart, from inspection.warnings). */
export function summarize(inspection: ProjectInspection): string[] {
  const i = inspection;
  const lines: string[] = [];
  const layout = {
    'src-package': 'src/ package, imported as src.…',
    'top-level-packages':
      i.importRoot === 'src'
        ? 'modules under src/, imported without the src. prefix'
        : 'top-level packages and modules',
    installable: `installable package${i.importRoot === 'src' ? ' (src layout)' : ''}, pip install .`,
  }[i.layout];
  lines.push(`Layout: ${layout}`);
  lines.push(
    `Sources: ${i.sources.length ? i.sources.join(', ') : 'none beyond the installed package'}`,
  );
  const steps = [
    ...i.install.requirements.map((r) => `pip install -r ${r}`),
    ...(i.install.installable ? ['pip install .'] : []),
  ];
  lines.push(`Install: ${steps.length ? steps.join(', then ') : 'nothing'}`);
  if (i.install.excluded.length)
    lines.push(`Left out (dev only): ${i.install.excluded.join(', ')}`);
  if (i.install.optional.length)
    lines.push(`Not installed (optional): ${i.install.optional.join(', ')}`);
  if (i.frameworks.length) lines.push(`Frameworks: ${i.frameworks.join(', ')}`);
  if (i.app) {
    const routes = [
      i.healthPath &&
        (i.healthFrom === 'openapi' || i.healthFrom === 'get-route'
          ? `health: ${i.healthPath} (no liveness route found; ${i.healthFrom === 'openapi' ? "the app's OpenAPI document" : 'a GET route without parameters'} is probed; add a GET /health or pass --healthPath=<path>)`
          : `health ${i.healthPath}`),
      i.readyPath && `ready ${i.readyPath}`,
    ].filter(Boolean);
    lines.push(
      `App: ${i.app}${i.appFactory ? ' (factory: uvicorn --factory)' : ''}${routes.length ? ` (${routes.join(', ')})` : ''}`,
    );
  } else if (i.apps.length > 1) {
    lines.push(`Apps: ${i.apps.join(', ')} (none chosen)`);
  } else {
    lines.push('App: none found');
  }
  const t = i.training;
  lines.push(
    `Training: ${
      t.kind === 'dvc'
        ? `dvc repro (stages: ${t.stages.join(', ')})`
        : t.kind === 'module'
          ? `python -m ${t.module}`
          : t.kind === 'console-script'
            ? `${t.name} (console script)`
            : t.kind === 'command'
              ? t.command.join(' ')
              : 'none'
    }`,
  );
  const writable = [
    ...new Set([...i.writableFolders.training, ...i.writableFolders.inference]),
  ].sort();
  if (writable.length)
    lines.push(
      `Writable: ${writable.map((w) => `${w}/${i.writableFolders.where[w] ? ` (${i.writableFolders.where[w]})` : ''}`).join(', ')}`,
    );
  if (i.runtimeFiles.length)
    lines.push(`Runtime files: ${i.runtimeFiles.join(', ')}`);
  if (i.modelPaths.length)
    lines.push(
      `Model files: ${i.modelPaths.join(', ')}${i.modelsCommitted ? '' : ' (written by training)'}`,
    );
  return lines;
}

/** Inspects the project at projectRoot; fails with a UserFacingError the user can act on. */
export function inspectProject(
  tree: Tree,
  projectRoot: string,
  options: InspectOptions = {},
): ProjectInspection {
  return new Inspector(tree, projectRoot, options).run();
}

// ---------------------------------------------------------------------------
// Files

class ProjectFiles {
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
function normalizeRel(path: string): string | undefined {
  if (path.startsWith('/')) return undefined;
  const normalized = posix.normalize(path);
  if (normalized === '..' || normalized.startsWith('../')) return undefined;
  return normalized === '.' ? '' : normalized.replace(/\/+$/, '');
}

function topSegment(rel: string): string {
  return rel.split('/')[0];
}

function isNonSource(rel: string): boolean {
  const parts = rel.split('/');
  return (
    parts.slice(0, -1).some((p) => NON_SOURCE.has(p)) ||
    NON_SOURCE_FILE.test(rel)
  );
}

function uniq<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

// ---------------------------------------------------------------------------
// Commands

/** The Python entries one command runs: `python -m mod` or `python path.py`. */
function pythonEntries(words: string[]): {
  modules: string[];
  files: string[];
  paths: string[];
} {
  const modules: string[] = [];
  const files: string[] = [];
  const paths: string[] = [];
  const py = words.findIndex((w) => /^(.*\/)?python(\d(\.\d+)?)?$/.test(w));
  if (py >= 0) {
    for (let k = py + 1; k < words.length; k++) {
      const w = words[k];
      if (w === '-m') {
        if (words[k + 1] && MODULE.test(words[k + 1]))
          modules.push(words[k + 1]);
        break;
      }
      if (/^-m[A-Za-z_]/.test(w)) {
        modules.push(w.slice(2));
        break;
      }
      if (w === '-W' || w === '-X') {
        k++;
        continue;
      }
      if (w.startsWith('-')) continue;
      if (w.endsWith('.py')) files.push(w);
      break;
    }
  }
  for (const w of words)
    if (!w.startsWith('-') && !w.includes('${') && /[/.]/.test(w))
      paths.push(w.replace(/^--?[\w-]+=/, ''));
  for (const w of words) {
    const eq = /^--?[\w-]+=(.+)$/.exec(w);
    if (eq && !eq[1].includes('${')) paths.push(eq[1]);
  }
  return { modules, files, paths };
}

// ---------------------------------------------------------------------------
// Requirements, setup.py, setup.cfg

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

// ---------------------------------------------------------------------------

interface InstallFindings {
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

class Inspector {
  private readonly files: ProjectFiles;
  private readonly name: string;
  private readonly needsApp: boolean;
  private readonly needsTraining: boolean;
  private readonly warnings: string[] = [];
  private pythonProject?: PythonProject;
  private importRoot: '.' | 'src' = '.';

  constructor(
    tree: Tree,
    private readonly projectRoot: string,
    private readonly options: InspectOptions,
  ) {
    this.files = new ProjectFiles(tree, projectRoot);
    this.name =
      options.projectName ??
      (posix.basename(projectRoot.replace(/\/+$/, '')) || projectRoot);
    this.needsApp = options.needsApp ?? true;
    this.needsTraining = options.needsTraining ?? true;
  }

  private get where(): string {
    return this.projectRoot === '' ? '.' : this.projectRoot;
  }

  run(): ProjectInspection {
    this.validateOptions();
    const install = this.inspectInstall();
    const usesSrcPrefix = this.usesSrcPrefix();
    this.importRoot =
      install.srcLayout ||
      (!install.install.installable &&
        !usesSrcPrefix &&
        this.srcHoldsTopLevelModules())
        ? 'src'
        : '.';
    const layout: ProjectInspection['layout'] = install.install.installable
      ? 'installable'
      : this.importRoot === '.' && usesSrcPrefix
        ? 'src-package'
        : 'top-level-packages';

    const frameworks = FRAMEWORKS.filter(([, re]) =>
      install.dependencies.some((d) => re.test(d)),
    ).map(([name]) => name);

    const dvc = this.dvc();
    const appFinding = this.findApp();
    const training = this.findTraining(dvc, install, frameworks);

    // Entries the images run: everything they import must be copied.
    const entryFiles: string[] = [];
    const forcedUnits: string[] = [];
    if (appFinding.appFile) entryFiles.push(appFinding.appFile);
    entryFiles.push(...training.entryFiles);
    forcedUnits.push(...training.forcedUnits);
    const closure = this.closure(entryFiles);
    const installed = new Set(install.installedUnits);
    let sources = uniq([...closure, ...forcedUnits]).filter(
      (u) => forcedUnits.includes(u) || !installed.has(u),
    );
    if (
      !install.install.installable &&
      entryFiles.length === 0 &&
      forcedUnits.length === 0
    )
      sources = this.allSourceUnits();
    sources.sort();

    const health =
      appFinding.app && appFinding.appFile
        ? findRoutes(this.python, appFinding.app, appFinding.appFile)
        : {
            warnings: [] as string[],
            healthPath: undefined,
            readyPath: undefined,
            healthFrom: undefined,
          };
    if (this.needsApp) this.warnings.push(...health.warnings);
    if (appFinding.app && this.needsApp && !health.healthPath)
      this.warnings.push(
        `No GET route found for ${appFinding.app} and its OpenAPI document is off (openapi_url=None): the inference image's HEALTHCHECK and docker-test need a path to probe. Add a GET /health, or pass --healthPath=<path of a GET route>.`,
      );

    const depsKnown =
      install.dependencies.length > 0 || install.rawRequirements.length > 0;
    if (depsKnown && appFinding.app && this.needsApp) {
      const fastapiStandard = install.rawRequirements.some((r) =>
        /^fastapi\s*\[[^\]]*\b(standard|all)\b/i.test(r),
      );
      if (!install.dependencies.includes('uvicorn') && !fastapiStandard)
        this.warnings.push(
          `uvicorn is not in the runtime dependencies: add uvicorn to ${install.addTo} (the inference image runs python -m uvicorn).`,
        );
    }
    if (training.entry.kind === 'dvc' && !training.entry.dvcDeclared)
      this.warnings.push(
        `dvc.yaml has stages but dvc is not in the runtime dependencies: add dvc to ${install.addTo} (the training image runs dvc repro).`,
      );

    const sourceFiles = this.filesOfUnits(
      uniq([...sources, ...install.installedUnits]),
    );
    const writable = this.writableFolders(
      appFinding.appFile,
      training.entryFiles,
      dvc,
    );
    const runtime = this.runtimeFiles(
      sourceFiles,
      dvc,
      training.entry,
      sources,
      install.installedUnits,
      [...writable.training, ...writable.inference],
    );
    const appFiles = appFinding.appFile
      ? this.filesOfUnits(this.closure([appFinding.appFile]))
      : [];
    const trainingFiles = this.filesOfUnits(
      uniq([...this.closure(training.entryFiles), ...training.forcedUnits]),
    );
    const models = this.modelPaths(appFiles, trainingFiles, dvc, sources);
    if (this.files.truncated)
      this.warnings.push(
        `Stopped looking after ${MAX_FILES} files in ${this.where}: move large folders (data, outputs) out of the project or into .gitignore'd data/, then rerun if something was missed.`,
      );

    const torchPin = torchPinOf(install.rawRequirements);
    return {
      projectName: this.name,
      projectRoot: this.projectRoot,
      layout,
      importRoot: this.importRoot,
      sources,
      install: install.install,
      dependencies: install.dependencies,
      frameworks,
      ...(torchPin ? { torchPin } : {}),
      ...(appFinding.app ? { app: appFinding.app } : {}),
      appFactory: appFinding.factory,
      apps: appFinding.apps,
      factories: appFinding.factories,
      ...(health.healthPath ? { healthPath: health.healthPath } : {}),
      ...(health.readyPath ? { readyPath: health.readyPath } : {}),
      ...(health.healthFrom ? { healthFrom: health.healthFrom } : {}),
      writableFolders: writable,
      training: training.entry,
      runtimeFiles: runtime,
      modelPaths: models.paths,
      modelsCommitted: models.committed,
      ...(Object.keys(models.where).length
        ? { modelSources: models.where }
        : {}),
      warnings: uniq([...install.warnings, ...this.warnings]),
    };
  }

  private validateOptions(): void {
    const o = this.options;
    if (o.appModule !== undefined && !APP_MODULE.test(o.appModule))
      fail(
        `--appModule must look like package.module:app (got "${o.appModule}").`,
      );
    if (o.trainingModule?.endsWith('.py'))
      fail(
        `--trainingModule takes a module, not a file (got "${o.trainingModule}"): pass --trainingModule=${pythonModuleOf(o.trainingModule, '.') ?? '<package.module>'}, or --trainingCommand="python ${o.trainingModule}".`,
      );
    if (o.trainingModule !== undefined && !MODULE.test(o.trainingModule))
      fail(
        `--trainingModule must be a dotted Python module such as pipeline.train (got "${o.trainingModule}").`,
      );
    if (
      o.trainingCommand !== undefined &&
      (!Array.isArray(o.trainingCommand) ||
        o.trainingCommand.length === 0 ||
        o.trainingCommand.some((a) => typeof a !== 'string' || a === ''))
    )
      fail(
        `--trainingCommand must be a non-empty list of arguments, e.g. ["python", "-m", "pipeline.train", "--config", "configs/base.yaml"].`,
      );
    if (o.trainingCommand !== undefined && o.trainingModule !== undefined)
      fail(
        'Pass --trainingModule or --trainingCommand, not both: they both set what the training image runs.',
      );
    for (const path of o.runtimeFiles ?? []) {
      const rel = normalizeRel(path);
      if (rel === undefined || rel === '')
        fail(
          `--runtimeFiles names "${path}", which is not inside the project: name files and folders relative to ${this.where}.`,
        );
      if (!this.files.exists(rel))
        fail(
          `--runtimeFiles names "${path}", which does not exist in ${this.where}. Check the path, then rerun.`,
        );
    }
  }

  // ---- install ----------------------------------------------------------

  private inspectInstall(): InstallFindings {
    const f = this.files;
    const warnings: string[] = [];
    let pyproject: Pyproject | undefined;
    const pyprojectText = f.read('pyproject.toml');
    if (pyprojectText !== undefined) {
      try {
        pyproject = readPyproject(pyprojectText);
      } catch (e) {
        if (e instanceof TomlError)
          fail(
            `pyproject.toml in ${this.where} is not valid TOML (${e.message}). Fix it, then rerun.`,
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
            /requirements|reqs/i.test(n) &&
            /\.(txt|in)$/.test(n) &&
            f.isFile(n),
        ),
      ...(f.isDir('requirements')
        ? f
            .children('requirements')
            .filter((n) => /\.(txt|in)$/.test(n))
            .map((n) => `requirements/${n}`)
        : []),
    ].filter(
      (p) => !(p.endsWith('.in') && f.isFile(p.replace(/\.in$/, '.txt'))),
    );
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
        chosen = this.readRequirements([prod], warnings).files.includes(core)
          ? [prod]
          : [core, prod];
      else if (prod) chosen = [prod];
      else if (core) chosen = [core];
      else chosen = inDir;
    }
    const read = this.readRequirements(chosen, warnings);

    const dynamicFiles = uniq([
      ...(pyproject?.setuptools.dependencyFiles ?? []),
      ...(setupCfg
        ? (setuptoolsFiles(setupCfg['options']?.['install_requires']) ?? [])
        : []),
      ...(setupPy?.requirementFiles ?? []),
    ]);
    warnings.push(...(setupPy?.warnings ?? []));
    const dynamicRead = this.readRequirements(
      dynamicFiles.filter((d) => f.isFile(d)),
      warnings,
    );
    for (const d of dynamicFiles.filter((d) => !f.isFile(d)))
      warnings.push(
        `The package's dependencies are read from ${d}, which does not exist: pip install . will fail on it. Add the file or fix the reference in ${setupCfg && !pyproject?.setuptools.dependencyFiles.includes(d) ? 'setup.cfg' : 'pyproject.toml'}, then rerun.`,
      );

    if (!installable && chosen.length === 0)
      this.nothingToInstall(pyproject, setupCfg);

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
      const units = this.installedUnits(pyproject, setupPy, setupCfg, warnings);
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
        if (rel && f.isFile(rel) && !rel.endsWith('.py'))
          metadataFiles.push(rel);
      }
      if (pyproject?.versionFromVcs)
        warnings.push(
          'pyproject.toml takes its version from git, and the image build has no .git: set a fixed version, or pass it to the build (SETUPTOOLS_SCM_PRETEND_VERSION for setuptools-scm and hatch-vcs).',
        );
    }
    const requirementFiles = uniq([...read.files, ...read.localPaths]);
    // The requirements step already put its files in the build folder.
    const installFiles = installable
      ? uniq([
          ...metadataFiles,
          ...dynamicRead.files,
          ...installedUnits,
        ]).filter((p) => !requirementFiles.includes(p))
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

  private nothingToInstall(
    pyproject: Pyproject | undefined,
    setupCfg: Ini | undefined,
  ): never {
    const where = this.where;
    const poetry = pyproject?.poetry;
    if (poetry)
      fail(
        `Project "${this.name}" lists its dependencies only in [tool.poetry] ${poetry.packageMode ? 'without a [build-system]' : 'with package-mode = false'}, which pip cannot install. Export them (poetry export -f requirements.txt -o requirements.txt --without-hashes), then rerun.`,
      );
    if (pyproject)
      fail(
        `Project "${this.name}" has nothing to install: the pyproject.toml in ${where} has no [project] or [build-system] table, and there is no requirements.txt or setup.py. Add a requirements.txt listing the Python dependencies (or a [project] table with dependencies), then rerun.`,
      );
    if (setupCfg)
      fail(
        `Project "${this.name}" has nothing to install: setup.cfg in ${where} needs a setup.py or pyproject.toml beside it for pip install . to work. Add a requirements.txt listing the Python dependencies, or a pyproject.toml with a [build-system] table, then rerun.`,
      );
    const other = [
      'environment.yml',
      'environment.yaml',
      'conda.yaml',
      'Pipfile',
    ].find((n) => this.files.isFile(n));
    fail(
      `Project "${this.name}" has nothing to install: no requirements.txt, pyproject.toml or setup.py in ${where}. Add one listing the Python dependencies, then rerun.${other ? ` (${other} is not read: the images install with pip, so export the dependencies to requirements.txt.)` : ''}`,
    );
  }

  /** Reads requirements files and what they include; fails on includes an image must not follow. */
  private readRequirements(
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
      const text = this.files.read(file) ?? '';
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
              `${file} includes ${target} (line ${index + 1}), which is outside the project folder, so the image build cannot see it. Copy those requirements into ${this.where}, then rerun.`,
            );
          if (!this.files.isFile(rel))
            fail(
              `${file} includes ${target} (line ${index + 1}), which does not exist in ${this.where}. Fix the path, then rerun.`,
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
          else if (this.files.exists(rel))
            out.localPaths.push(this.files.isDir(rel) ? `${rel}/` : rel);
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

  private installedUnits(
    pyproject: Pyproject | undefined,
    setupPy: SetupPy | undefined,
    setupCfg: Ini | undefined,
    warnings: string[],
  ): { units: string[]; srcLayout: boolean } {
    const f = this.files;
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
    if (explicitSrc || srcHasPackage)
      return { units: ['src/'], srcLayout: true };

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

  // ---- layout -----------------------------------------------------------

  private pyFileList?: string[];
  private pyFiles(): string[] {
    this.pyFileList ??= this.files.files().filter((p) => p.endsWith('.py'));
    return this.pyFileList;
  }

  /** The code imports src.x, or a command runs python -m src.x. */
  private usesSrcPrefix(): boolean {
    if (!this.files.isDir('src')) return false;
    if (this.files.isFile('src/__init__.py')) return true;
    const o = this.options;
    if (o.appModule?.startsWith('src.') || o.trainingModule?.startsWith('src.'))
      return true;
    if ((o.trainingCommand ?? []).some((a) => /^src\./.test(a))) return true;
    const dvc = this.files.read('dvc.yaml') ?? '';
    if (/-m\s+src\./.test(dvc)) return true;
    return this.pyFiles().some((p) =>
      /^\s*(from\s+src(\.|\s)|import\s+src(\.|\s|$))/m.test(
        this.files.read(p) ?? '',
      ),
    );
  }

  /** src/ holds the code but is no package: its modules import each other top-level. */
  private srcHoldsTopLevelModules(): boolean {
    if (!this.files.isDir('src')) return false;
    const under = this.files.filesUnder('src').filter((p) => p.endsWith('.py'));
    if (!under.length) return false;
    const rootCode = this.files
      .children('')
      .some(
        (n) =>
          !NON_SOURCE.has(n) &&
          n !== 'src' &&
          !NON_SOURCE_FILE.test(n) &&
          ((n.endsWith('.py') && this.files.isFile(n)) ||
            this.files.isFile(`${n}/__init__.py`)),
      );
    return !rootCode;
  }

  private moduleOf(file: string): string | undefined {
    return (
      (this.importRoot === 'src' ? pythonModuleOf(file, 'src') : undefined) ??
      pythonModuleOf(file, '.')
    );
  }

  /** Parsed once per run; built after importRoot is known, which names the modules. */
  private get python(): PythonProject {
    this.pythonProject ??= new PythonProject({
      read: (f) => this.files.read(f),
      moduleOf: (f) => this.moduleOf(f),
      fileOfModule: (m) => this.fileOfModule(m),
    });
    return this.pythonProject;
  }

  /** The .py file a module lives in (or its package's __init__.py / __main__.py). */
  private fileOfModule(module: string, main = false): string | undefined {
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
  private searchable(): string[] {
    this.searchableList ??= this.pyFiles().filter(
      (p) => !isNonSource(p) && !NON_SOURCE.has(topSegment(p)),
    );
    return [...this.searchableList];
  }

  private unitOf(file: string): string {
    const top = topSegment(file);
    return file === top ? top : `${top}/`;
  }

  /** The top-level folders and modules the entries import, transitively. */
  private closure(entries: string[]): string[] {
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
      for (const imported of this.python.importedModules(file)) {
        const u = this.unitOfModule(imported);
        if (u) out.add(u);
      }
    hit = [...out];
    this.unitImportsCache.set(unit, hit);
    return hit;
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

  private allSourceUnits(): string[] {
    return uniq(this.searchable().map((p) => this.unitOf(p))).filter(
      (u) => u !== 'setup.py',
    );
  }

  private filesOfUnits(units: string[]): string[] {
    return units.flatMap((u) =>
      u.endsWith('/') ? this.files.filesUnder(u) : [u],
    );
  }

  // ---- the FastAPI app ----------------------------------------------------

  private findApp(): AppFinding {
    const finding = findApp(this.python, {
      projectName: this.name,
      where: this.where,
      files: this.searchable(),
      appModule: this.options.appModule,
      needsApp: this.needsApp,
      fileOfModule: (m) => this.fileOfModule(m),
      srcRoot: this.importRoot === 'src',
    });
    this.warnings.push(...finding.warnings);
    return finding;
  }

  // ---- training -----------------------------------------------------------

  private dvc(): DvcStage[] {
    const text = this.files.read('dvc.yaml');
    if (text === undefined) return [];
    const read = readDvcStages(text);
    this.warnings.push(...read.warnings);
    return read.stages;
  }

  private findTraining(
    stages: DvcStage[],
    install: InstallFindings,
    frameworks: string[],
  ): { entry: TrainingEntry; entryFiles: string[]; forcedUnits: string[] } {
    const entryFiles: string[] = [];
    const forcedUnits: string[] = [];
    const wantsTraining = this.needsTraining;
    // Every stage runs under dvc repro, so each one's code is an entry.
    const addCommand = (argv: string[], wdir = '.') => {
      const { modules, files } = pythonEntries(argv);
      for (const m of modules) {
        const file = this.fileOfModule(m, true);
        if (file) entryFiles.push(file);
      }
      for (const f of files) {
        const rel = normalizeRel(posix.join(wdir, f));
        if (rel && this.files.isFile(rel)) {
          entryFiles.push(rel);
          forcedUnits.push(this.unitOf(rel));
        }
      }
    };

    const o = this.options;
    if (o.trainingModule) {
      const file = this.fileOfModule(o.trainingModule, true);
      if (!file)
        fail(
          `The training module ${o.trainingModule} does not exist in ${this.where} (no ${o.trainingModule.split('.').join('/')}.py${this.importRoot === 'src' ? ' under src/' : ''}). Pass --trainingModule=<package.module>, or --image=inference for a serving-only project.`,
        );
      entryFiles.push(file);
      return {
        entry: {
          kind: 'module',
          module: o.trainingModule,
          command: ['python', '-m', o.trainingModule],
        },
        entryFiles,
        forcedUnits,
      };
    }
    if (o.trainingCommand) {
      for (const c of argvCommands(o.trainingCommand).commands)
        addCommand(c.argv, c.dir);
      return {
        entry: { kind: 'command', command: [...o.trainingCommand] },
        entryFiles,
        forcedUnits,
      };
    }

    if (stages.length) {
      for (const stage of stages) {
        for (const c of stage.commands) addCommand(c.argv, c.dir);
        for (const dep of stage.deps) {
          const rel = normalizeRel(posix.join(stage.wdir, dep));
          if (!rel || !this.files.exists(rel)) continue;
          if (
            rel.endsWith('.py') ||
            (this.files.isDir(rel) &&
              this.files.filesUnder(rel).some((p) => p.endsWith('.py')))
          )
            forcedUnits.push(this.unitOf(rel));
        }
      }
      const train =
        stages.find((s) => /^train/.test(s.name)) ??
        stages.find((s) => /train|fit/.test(s.name)) ??
        stages[stages.length - 1];
      let module: string | undefined;
      for (const c of train.commands) {
        const { modules, files } = pythonEntries(c.argv);
        module ??=
          modules[0] ??
          (files[0]
            ? this.moduleOf(normalizeRel(posix.join(c.dir, files[0])) ?? '')
            : undefined);
      }
      const files = [
        'dvc.yaml',
        'dvc.lock',
        '.dvc/config',
        '.dvcignore',
      ].filter((p) => this.files.isFile(p));
      return {
        entry: {
          kind: 'dvc',
          command: ['dvc', 'repro'],
          stages: stages.map((s) => s.name),
          dvcDeclared: frameworks.includes('dvc'),
          files,
          ...(module ? { module } : {}),
        },
        entryFiles,
        forcedUnits,
      };
    }

    const candidates = this.searchable()
      .filter((p) => {
        const base = posix.basename(p, '.py');
        const parent = posix.basename(posix.dirname(p));
        return (
          TRAIN_STEM.test(base) ||
          (base === '__main__' && TRAIN_STEM.test(parent))
        );
      })
      .filter(
        (p) => this.python.module(p).hasMainGuard || p.endsWith('__main__.py'),
      )
      .map((p) => ({
        file: p,
        module: this.moduleOf(p)?.replace(/\.__main__$/, ''),
      }));
    let chosen = candidates;
    if (chosen.length > 1) {
      const inScripts = (p: string) => /(^|\/)(scripts|tools|bin)\//.test(p);
      const core = chosen.filter((c) => !inScripts(c.file));
      if (core.length) chosen = core;
    }
    if (chosen.length > 1)
      if (wantsTraining)
        fail(
          `Project "${this.name}" has several training entries (${chosen.map((c) => c.file).join(', ')}). Choose one with --trainingModule=<package.module> or --trainingCommand.`,
        );
      else return { entry: { kind: 'none' }, entryFiles, forcedUnits };
    if (chosen.length === 1) {
      const { file, module } = chosen[0];
      entryFiles.push(file);
      if (module)
        return {
          entry: { kind: 'module', module, command: ['python', '-m', module] },
          entryFiles,
          forcedUnits,
        };
      forcedUnits.push(this.unitOf(file));
      return {
        entry: { kind: 'command', command: ['python', file] },
        entryFiles,
        forcedUnits,
      };
    }

    const scripts = Object.entries(install.consoleScripts).filter(([name]) =>
      /train|fit/i.test(name),
    );
    if (scripts.length > 1 && wantsTraining)
      fail(
        `Project "${this.name}" has several training console scripts (${scripts.map(([n]) => n).join(', ')}). Choose one with --trainingCommand.`,
      );
    if (scripts.length === 1) {
      const [name, target] = scripts[0];
      const file = this.fileOfModule(target.split(':')[0]);
      if (file) entryFiles.push(file);
      return {
        entry: { kind: 'console-script', name, command: [name] },
        entryFiles,
        forcedUnits,
      };
    }

    if (wantsTraining)
      fail(
        `No training entry found in project "${this.name}": no dvc.yaml stages, no train.py or fit.py with if __name__ == "__main__":, no console script named like train. Pass --trainingModule=<package.module> or --trainingCommand, or --image=inference for a serving-only project.`,
      );
    return { entry: { kind: 'none' }, entryFiles, forcedUnits };
  }

  // ---- runtime and model files -------------------------------------------

  /**
   * Paths the code names as string literals: those that exist in the
   * project, and relative file paths that do not (yet): outputs, most often.
   */
  private pathLiterals(files: string[]): {
    existing: string[];
    missing: string[];
  } {
    const existing: string[] = [];
    const missing: string[] = [];
    for (const file of files) {
      if (!file.endsWith('.py')) continue;
      const found = this.pathLiteralsOf(file);
      existing.push(...found.existing);
      missing.push(...found.missing);
    }
    return { existing: uniq(existing), missing: uniq(missing) };
  }

  // Runtime files, the app's and training's model paths ask of the same files.
  private readonly pathLiteralsCache = new Map<
    string,
    { existing: string[]; missing: string[] }
  >();
  private pathLiteralsOf(file: string): {
    existing: string[];
    missing: string[];
  } {
    const cached = this.pathLiteralsCache.get(file);
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
    this.pathLiteralsCache.set(file, found);
    return found;
  }

  private writableFolders(
    appFile: string | undefined,
    trainingEntries: string[],
    stages: DvcStage[],
  ): ProjectInspection['writableFolders'] {
    const inference = appFile
      ? findWritableFolders(this.python, this.python.reachable([appFile]))
      : undefined;
    const training = findWritableFolders(
      this.python,
      this.python.reachable(trainingEntries),
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
          this.files.isDir(rel) || !/\.\w+$/.test(rel)
            ? rel
            : posix.dirname(rel);
        if (dir === '.' || dir === '') continue;
        trainingFolders.push(dir);
        where[dir] ??= `dvc.yaml stage ${s.name} outs`;
      }
    const unknown = uniq([...(inference?.unknown ?? []), ...training.unknown]);
    if (unknown.length)
      this.warnings.push(
        `Could not tell where ${unknown.length === 1 ? 'this write lands' : 'these writes land'}: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}. The images run as a non-root user and only the folders found are writable: if they write inside the project, write under a folder named by a constant (e.g. OUTPUT_DIR = "outputs").`,
      );
    const root = uniq([
      ...(inference?.rootWrites ?? []),
      ...training.rootWrites,
    ]);
    if (root.length)
      this.warnings.push(
        `${root.slice(0, 5).join(', ')} write${root.length === 1 ? 's' : ''} a file into the project root, which the images' non-root user cannot write: write it under a folder (e.g. outputs/).`,
      );
    return {
      training: outermost(trainingFolders),
      inference: inference?.folders ?? [],
      where,
    };
  }

  private runtimeFiles(
    sourceFiles: string[],
    stages: DvcStage[],
    training: TrainingEntry,
    sources: string[],
    installedUnits: string[],
    writtenFolders: string[],
  ): string[] {
    const f = this.files;
    const found: string[] = [];
    const covered = (rel: string) =>
      [...sources, ...installedUnits].some((u) =>
        u.endsWith('/') ? rel.startsWith(u) : rel === u,
      );
    // What the code writes (metrics/metrics.json after a local run) is an
    // output, not an input: copying it would make the images depend on a
    // file only this working tree has.
    const written = (rel: string) =>
      writtenFolders.some((w) => rel === w || rel.startsWith(`${w}/`));
    const consider = (rel: string, referenced: boolean) => {
      if (!rel || covered(rel) || written(rel)) return;
      const top = topSegment(rel);
      if (SECRET.test(rel)) {
        if (referenced)
          this.warnings.push(
            `The code reads ${rel}, which looks like a secret and is not copied into the images: pass its values as environment variables or mount it at run time.`,
          );
        return;
      }
      if (
        DATA_DIRS.has(top) ||
        NON_SOURCE.has(top) ||
        MODEL_DIRS.has(top) ||
        MODEL_EXT.test(rel)
      )
        return;
      if (
        top.startsWith('.') ||
        PRUNED.has(top) ||
        /^requirements/.test(posix.basename(rel)) ||
        rel.endsWith('.py')
      )
        return;
      if (
        CONFIG_DIRS.has(top) &&
        f.isDir(top) &&
        !f.isFile(`${top}/__init__.py`)
      )
        found.push(`${top}/`);
      else if (f.isDir(rel)) {
        if (referenced && !f.filesUnder(rel).some((p) => p.endsWith('.py')))
          found.push(`${rel}/`);
      } else if (CONFIG_EXT.test(rel) && (referenced || CONFIG_FILE.test(rel)))
        found.push(rel);
    };
    for (const name of f.children('')) {
      if (
        CONFIG_DIRS.has(name) &&
        f.isDir(name) &&
        !f.isFile(`${name}/__init__.py`) &&
        f.filesUnder(name).some((p) => !p.endsWith('.py'))
      )
        consider(name, false);
      else if (CONFIG_FILE.test(name) && f.isFile(name)) consider(name, false);
    }
    for (const rel of this.pathLiterals(sourceFiles).existing)
      consider(rel, true);
    const commands =
      training.kind === 'dvc'
        ? stages.flatMap((s) => s.commands)
        : training.kind === 'none'
          ? []
          : argvCommands(training.command).commands;
    for (const { argv, dir } of commands)
      for (const p of pythonEntries(argv).paths) {
        const rel = normalizeRel(posix.join(dir, p));
        if (rel && f.exists(rel)) consider(rel, true);
      }
    if (training.kind === 'dvc') {
      const outs = new Set(
        stages.flatMap((s) =>
          s.outs.map((o) => normalizeRel(posix.join(s.wdir, o))),
        ),
      );
      for (const s of stages) {
        for (const p of s.paramsFiles) {
          const rel = normalizeRel(posix.join(s.wdir, p));
          if (rel && f.isFile(rel)) consider(rel, true);
        }
        for (const dep of s.deps) {
          const rel = normalizeRel(posix.join(s.wdir, dep));
          if (
            rel &&
            !outs.has(rel) &&
            f.isFile(rel) &&
            !f.isFile(`${rel}.dvc`) &&
            CONFIG_EXT.test(rel)
          )
            consider(rel, true);
        }
      }
    }
    const extra = (this.options.runtimeFiles ?? []).map((p) => {
      const rel = normalizeRel(p) as string;
      return f.isDir(rel) ? `${rel}/` : rel;
    });
    const exclude = new Set(
      (this.options.excludeRuntimeFiles ?? []).map((p) =>
        (normalizeRel(p) ?? p).replace(/\/$/, ''),
      ),
    );
    const all = uniq([...found, ...extra]);
    for (const e of exclude)
      if (!all.some((p) => p.replace(/\/$/, '') === e))
        this.warnings.push(
          `--excludeRuntimeFiles names ${e}, which is not among the runtime files found (${all.join(', ') || 'none'}): nothing to leave out.`,
        );
    // Drop files inside a folder that is copied whole.
    const kept = all.filter((p) => !exclude.has(p.replace(/\/$/, '')));
    return kept
      .filter(
        (p) => !kept.some((q) => q !== p && q.endsWith('/') && p.startsWith(q)),
      )
      .sort();
  }

  private modelPaths(
    appFiles: string[],
    trainingFiles: string[],
    stages: DvcStage[],
    sources: string[],
  ): { paths: string[]; committed: boolean; where: Record<string, string> } {
    const f = this.files;
    const out: string[] = [];
    let committed = false;
    const covered = (rel: string) =>
      sources.some((u) => (u.endsWith('/') ? rel.startsWith(u) : rel === u));
    const add = (rel: string, anyFolder = false) => {
      if (covered(rel)) return;
      const top = topSegment(rel);
      if (
        DATA_DIRS.has(top) ||
        NON_SOURCE.has(top) ||
        CONFIG_DIRS.has(top) ||
        top.startsWith('.')
      )
        return;
      if (MODEL_DIRS.has(top) || (anyFolder && rel !== top))
        out.push(`${top}/`);
      else if (rel === top && (MODEL_EXT.test(rel) || anyFolder)) out.push(rel);
    };
    for (const name of f.children('')) {
      if (MODEL_DIRS.has(name) && f.isDir(name)) {
        const inside = f.filesUnder(name);
        const isPackage = f.isFile(`${name}/__init__.py`);
        const real = inside.filter(
          (p) =>
            !/(^|\/)(\.git\w*|README[^/]*|[^/]*\.md|[^/]*\.dvc)$/.test(p) &&
            (!isPackage || MODEL_EXT.test(p)) &&
            !p.endsWith('.py'),
        );
        if (real.length) committed = true;
        if (
          real.length ||
          inside.some((p) => MODEL_EXT.test(p.replace(/\.dvc$/, '')))
        )
          add(name);
      } else if (MODEL_EXT.test(name) && f.isFile(name)) {
        committed = true;
        add(name);
      } else if (MODEL_EXT.test(name.replace(/\.dvc$/, '')) && f.isFile(name))
        add(name.replace(/\.dvc$/, ''));
    }
    for (const s of stages)
      for (const o of s.outs) {
        const rel = normalizeRel(posix.join(s.wdir, o));
        if (rel && (MODEL_EXT.test(rel) || MODEL_DIRS.has(topSegment(rel))))
          add(rel);
      }
    const app = this.pathLiterals(appFiles);
    const training = this.pathLiterals(trainingFiles);
    for (const rel of [...app.existing, ...training.existing])
      if (MODEL_EXT.test(rel) || MODEL_DIRS.has(topSegment(rel))) add(rel);
    // A bare missing file name is usually joined to a folder held in a variable: no clue where it lands.
    for (const rel of [...app.missing, ...training.missing])
      if (
        (rel.includes('/') && MODEL_EXT.test(rel)) ||
        MODEL_DIRS.has(topSegment(rel))
      )
        add(rel);
    // A path the app reads and training writes, neither committed: the model, whatever its folder is called.
    for (const rel of app.missing)
      if (
        training.missing.includes(rel) &&
        rel.includes('/') &&
        !NOT_MODEL_OUTPUTS.has(topSegment(rel))
      )
        add(rel, true);
    // A committed model file the serving code names (a setting's default,
    // .env.example), in a folder of any name.
    const where: Record<string, string> = {};
    for (const [rel, at] of referencedModels(this.python, appFiles, f, (p) =>
      MODEL_EXT.test(p),
    )) {
      // Inside a copied source folder it ships anyway, but it is still the committed model.
      committed = true;
      const before = out.length;
      add(rel, true);
      if (out.length > before) where[out[out.length - 1]] ??= at;
    }
    const paths = uniq(out).sort();
    return { paths, committed: committed && paths.length > 0, where };
  }
}
