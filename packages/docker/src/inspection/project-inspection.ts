/**
 * What inspecting a project answers (ProjectInspection), what the caller
 * can settle in advance (InspectOptions), and the context every question
 * module is handed for one run.
 */
import type { ProjectFiles } from './project-files';

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

/** One inspection run, shared by the question modules. */
export interface InspectionContext {
  readonly files: ProjectFiles;
  readonly options: InspectOptions;
  /** The project's name, for messages. */
  readonly name: string;
  /** The project root as messages name it ('.' for the workspace root). */
  readonly where: string;
  /** The run's warnings so far: each question adds its own. */
  readonly warnings: string[];
}
