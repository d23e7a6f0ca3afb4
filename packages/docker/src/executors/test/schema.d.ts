export interface SmokeRequest {
  method?: string;
  path: string;
  /** JSON body. */
  body?: unknown;
  /** File (relative to the project root) whose content is sent as the JSON body. */
  bodyFile?: string;
  expectStatus?: number;
  /** Top-level keys the JSON response must have. */
  expectKeys?: string[];
}

export interface ServiceTestOptions {
  /** Container port; default: the image's first EXPOSE, else 8000. */
  port?: number;
  healthPath?: string;
  /** Readiness path polled after the health path answers (e.g. /ready: 503 until the model is loaded). */
  readyPath?: string;
  /** Seconds to wait for a healthy answer. */
  timeout?: number;
  /** Milliseconds between polls. */
  pollInterval?: number;
  /** Also run the image's own HEALTHCHECK command once the app answers. */
  checkHealthcheck?: boolean;
  /**
   * Run the service with a read-only root filesystem, as Kubernetes
   * readOnlyRootFilesystem does: only /tmp and the folders the image's
   * ml-docker.writable label names are writable (a tmpfs each). Default true.
   */
  readOnlyRootFilesystem?: boolean;
  env?: Record<string, string>;
  smoke?: SmokeRequest[];
  /** Where the app serves its OpenAPI document (FastAPI: /openapi.json); false skips the API checks. */
  openapiPath?: string | false;
  /** Per documented route ("POST /predict"): skip it, or expect another status for its example. */
  routes?: Record<string, RouteOptions>;
}

export interface RouteOptions {
  skip?: boolean;
  expectStatus?: number;
}

export interface JobTestOptions {
  /** Command and args replacing the image's CMD. */
  command?: string[];
  env?: Record<string, string>;
  /** Folders (models/) or files (models/model.joblib), relative to the image's working directory, the run must produce. Default: the folders the image's ml-docker.outputs label names. */
  artifacts?: string[];
  /** Seconds the run may take. */
  timeout?: number;
  /** Copy the artifacts here (relative to the workspace root) after a passing run. */
  artifactsOutputPath?: string;
}

export interface TestExecutorSchema {
  buildTarget?: string;
  images?: string[];
  /** Images that expose a port are tested as services, the others as jobs. */
  service?: ServiceTestOptions;
  job?: JobTestOptions;
  allowRoot?: boolean;
  /** A CUDA image (label ml-docker.accelerator=cuda…) must be run on a GPU: fail when the engine has none, instead of skipping it. */
  requireGpu?: boolean;
}
