/** docker-test's options with their defaults, checked before any container starts. */
import { fail } from '../errors/errors';
import { DEFAULT_TARGET_NAMES } from '../names/names';

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

export interface TestOptions {
  buildTarget?: string;
  images?: string[];
  /** Images that expose a port are tested as services, the others as jobs. */
  service?: ServiceTestOptions;
  job?: JobTestOptions;
  allowRoot?: boolean;
  /** A CUDA image (label ml-docker.accelerator=cuda…) must be run on a GPU: fail when the engine has none, instead of skipping it. */
  requireGpu?: boolean;
}

export interface NormalizedTestOptions {
  buildTarget: string;
  images?: string[];
  allowRoot: boolean;
  /** A CUDA image must run on a GPU: no GPU on the engine is a failure, not a skip. */
  requireGpu: boolean;
  service: Required<
    Omit<ServiceTestOptions, 'port' | 'readyPath' | 'healthPath'>
  > &
    Pick<ServiceTestOptions, 'port' | 'readyPath' | 'healthPath'>;
  job: Required<Omit<JobTestOptions, 'command' | 'artifactsOutputPath'>> &
    Pick<JobTestOptions, 'command' | 'artifactsOutputPath'>;
}

export const DEFAULT_HEALTH_PATH = '/health';
export const DEFAULT_OPENAPI_PATH = '/openapi.json';

export function normalizeOptions(o: TestOptions): NormalizedTestOptions {
  const healthPath = o.service?.healthPath;
  if (healthPath !== undefined && !healthPath.startsWith('/'))
    fail(`service.healthPath "${healthPath}" must start with /.`);
  const readyPath = o.service?.readyPath;
  if (readyPath !== undefined && !readyPath.startsWith('/'))
    fail(`service.readyPath "${readyPath}" must start with /.`);
  for (const s of o.service?.smoke ?? []) {
    if (!s.path?.startsWith('/'))
      fail(`smoke request path "${s.path}" must start with /.`);
  }
  const openapiPath = o.service?.openapiPath ?? DEFAULT_OPENAPI_PATH;
  if (openapiPath !== false && !openapiPath.startsWith('/'))
    fail(
      `service.openapiPath "${openapiPath}" must start with /, or be false to skip the API checks.`,
    );
  const routes = o.service?.routes ?? {};
  for (const [key, r] of Object.entries(routes)) {
    if (!/^(POST|PUT|PATCH) \/\S*$/.test(key))
      fail(
        `service.routes key "${key}" must be a method and a path as the API documents it, e.g. "POST /predict".`,
      );
    if (
      r.expectStatus !== undefined &&
      !(r.expectStatus >= 100 && r.expectStatus <= 599)
    )
      fail(
        `service.routes["${key}"].expectStatus must be an HTTP status (got ${r.expectStatus}).`,
      );
  }
  for (const a of o.job?.artifacts ?? []) {
    const parts = a.split('/');
    if (parts.length < 2 || a.startsWith('/') || parts.includes('..')) {
      fail(
        `job.artifacts entry "${a}" must be a folder (models/) or a file inside one (models/model.joblib), relative to the image's working directory: that folder is mounted to collect it.`,
      );
    }
  }
  return {
    buildTarget: o.buildTarget ?? DEFAULT_TARGET_NAMES.build,
    images: o.images,
    allowRoot: o.allowRoot ?? false,
    requireGpu: o.requireGpu ?? false,
    service: {
      port: o.service?.port,
      healthPath,
      readyPath,
      timeout: o.service?.timeout ?? 120,
      pollInterval: o.service?.pollInterval ?? 200,
      checkHealthcheck: o.service?.checkHealthcheck ?? true,
      readOnlyRootFilesystem: o.service?.readOnlyRootFilesystem ?? true,
      env: o.service?.env ?? {},
      smoke: o.service?.smoke ?? [],
      openapiPath,
      routes,
    },
    job: {
      command: o.job?.command,
      env: o.job?.env ?? {},
      // Default: the folders the image's ml-docker.outputs label names (see job-run).
      artifacts: o.job?.artifacts ?? [],
      timeout: o.job?.timeout ?? 600,
      artifactsOutputPath: o.job?.artifactsOutputPath,
    },
  };
}
