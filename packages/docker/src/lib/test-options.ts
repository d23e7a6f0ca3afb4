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
  service: Required<Omit<ServiceTestOptions, 'port' | 'readyPath'>> &
    Pick<ServiceTestOptions, 'port' | 'readyPath'>;
  job: Required<Omit<JobTestOptions, 'command' | 'artifactsOutputPath'>> &
    Pick<JobTestOptions, 'command' | 'artifactsOutputPath'>;
}

export const DEFAULT_JOB_ARTIFACTS = [
  'models/model.joblib',
  'metrics/metrics.json',
];

export function normalizeOptions(o: TestExecutorSchema): NormalizedTestOptions {
  const healthPath = o.service?.healthPath ?? '/health';
  if (!healthPath.startsWith('/'))
    fail(`service.healthPath "${healthPath}" must start with /.`);
  const readyPath = o.service?.readyPath;
  if (readyPath !== undefined && !readyPath.startsWith('/'))
    fail(`service.readyPath "${readyPath}" must start with /.`);
  for (const s of o.service?.smoke ?? []) {
    if (!s.path?.startsWith('/'))
      fail(`smoke request path "${s.path}" must start with /.`);
  }
  for (const a of o.job?.artifacts ?? []) {
    const parts = a.split('/');
    if (parts.length < 2 || a.startsWith('/') || parts.includes('..')) {
      fail(
        `job.artifacts entry "${a}" must be a relative path inside a folder (e.g. models/model.joblib): that folder is mounted to collect it.`,
      );
    }
  }
  return {
    buildTarget: o.buildTarget ?? DEFAULT_TARGET_NAMES.build,
    images: o.images,
    allowRoot: o.allowRoot ?? false,
    service: {
      port: o.service?.port,
      healthPath,
      readyPath,
      timeout: o.service?.timeout ?? 120,
      pollInterval: o.service?.pollInterval ?? 200,
      checkHealthcheck: o.service?.checkHealthcheck ?? true,
      env: o.service?.env ?? {},
      smoke: o.service?.smoke ?? [],
    },
    job: {
      command: o.job?.command,
      env: o.job?.env ?? {},
      artifacts: o.job?.artifacts ?? DEFAULT_JOB_ARTIFACTS,
      timeout: o.job?.timeout ?? 600,
      artifactsOutputPath: o.job?.artifactsOutputPath,
    },
  };
}
