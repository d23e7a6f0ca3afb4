/** docker-test's options with their defaults, checked before any container starts. */
import type {
  JobTestOptions,
  ServiceTestOptions,
  TestExecutorSchema,
} from '../executors/test/schema';
import { fail } from './errors';
import { DEFAULT_TARGET_NAMES } from './names';

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

export function normalizeOptions(o: TestExecutorSchema): NormalizedTestOptions {
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
