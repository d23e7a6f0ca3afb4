import { ExecutorContext, logger } from '@nx/devkit';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { ImageRecord } from '../../lib/build-record';
import {
  containerName,
  containerState,
  lastLogLines,
  OWNER_LABEL,
  publishedPort,
  removeContainer,
  track,
} from '../../lib/container';
import { docker, firstLine, ImageInfo, inspectImage } from '../../lib/engine';
import { fail, UserFacingError } from '../../lib/errors';
import { runExecutor } from '../../lib/executor-boundary';
import { waitForHealthy } from '../../lib/health-waiter';
import { ensureLocalImage } from '../../lib/image-availability';
import { rebuildRecordedImage } from '../build/build.impl';
import { ProjectInfo, projectInfo } from '../../lib/project-images';
import { recordedImages } from '../../lib/recorded-images';
import {
  JobTestOptions,
  ServiceTestOptions,
  SmokeRequest,
  TestExecutorSchema,
} from './schema';

export interface NormalizedTestOptions {
  buildTarget: string;
  images?: string[];
  allowRoot: boolean;
  service: Required<Omit<ServiceTestOptions, 'port' | 'readyPath'>> &
    Pick<ServiceTestOptions, 'port' | 'readyPath'>;
  job: Required<Omit<JobTestOptions, 'command' | 'artifactsOutputPath'>> &
    Pick<JobTestOptions, 'command' | 'artifactsOutputPath'>;
}

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
    buildTarget: o.buildTarget ?? 'docker-build',
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
      artifacts: o.job?.artifacts ?? [
        'models/model.joblib',
        'metrics/metrics.json',
      ],
      timeout: o.job?.timeout ?? 600,
      artifactsOutputPath: o.job?.artifactsOutputPath,
    },
  };
}

export function isRootUser(user: string): boolean {
  const u = user.split(':')[0].trim();
  return u === '' || u === '0' || u === 'root';
}

function envArgs(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
}

export function serviceRunArgs(
  name: string,
  imageId: string,
  port: number,
  env: Record<string, string>,
): string[] {
  return [
    'run',
    '--detach',
    '--name',
    name,
    '--label',
    `${OWNER_LABEL}=test`,
    '--publish',
    `127.0.0.1::${port}`,
    ...envArgs(env),
    imageId,
  ];
}

export function jobRunArgs(
  name: string,
  imageId: string,
  mounts: Array<[string, string]>,
  env: Record<string, string>,
  command?: string[],
): string[] {
  return [
    'run',
    '--name',
    name,
    '--label',
    `${OWNER_LABEL}=test`,
    ...mounts.flatMap(([host, ctr]) => ['--volume', `${host}:${ctr}`]),
    ...envArgs(env),
    imageId,
    ...(command ?? []),
  ];
}

/** `docker exec` arguments that run an image's HEALTHCHECK test as Docker would. */
export function healthcheckExecArgs(
  name: string,
  test: string[],
): string[] | undefined {
  const [kind, ...rest] = test;
  if (kind === 'CMD') return ['exec', name, ...rest];
  if (kind === 'CMD-SHELL')
    return ['exec', name, '/bin/sh', '-c', rest.join(' ')];
  return undefined;
}

export async function testImages(
  options: TestExecutorSchema,
  context: ExecutorContext,
): Promise<void> {
  const project = projectInfo(context);
  const opts = normalizeOptions(options);
  const { images } = recordedImages(
    context,
    project,
    opts.buildTarget,
    opts.images,
  );
  for (const recorded of images) {
    const image = await ensureLocalImage(project.name, recorded, (r) =>
      rebuildRecordedImage(r, context, opts.buildTarget),
    );
    const info = (await inspectImage(image.imageId))!;
    if (info.cmd.length === 0 && info.entrypoint.length === 0) {
      // A FROM scratch image that only carries files for others to COPY --from.
      logger.info(
        `@ml/docker: ${image.image} has no command: an artifact image, nothing to run`,
      );
      continue;
    }
    if (!opts.allowRoot && isRootUser(info.user)) {
      fail(
        `${image.image} runs as root (USER is "${info.user || 'unset'}"). Set USER to a numeric non-root UID in the Dockerfile (e.g. USER 10001:10001), or set allowRoot.`,
      );
    }
    if (info.exposedPorts.length > 0 || opts.service.port)
      await testService(project, image, info, opts);
    else await testJob(project, image, info, opts, context.root);
  }
}

/** Prints the container's last log lines and returns the error to throw. */
async function withLogs(name: string, what: string): Promise<UserFacingError> {
  const logs = await lastLogLines(name);
  if (logs) logger.info(`--- last log lines of ${name} ---\n${logs}\n---`);
  return new UserFacingError(what);
}

async function testService(
  project: ProjectInfo,
  image: ImageRecord,
  info: ImageInfo,
  opts: NormalizedTestOptions,
) {
  const s = opts.service;
  const port = s.port ?? (parseInt(info.exposedPorts[0] ?? '8000', 10) || 8000);
  const name = containerName(project.name, image.image);
  await track(name);
  try {
    const started = await docker(
      serviceRunArgs(name, image.imageId, port, s.env),
      { timeoutMs: 60_000 },
    );
    if (started.exitCode !== 0) {
      fail(
        `Could not start ${image.image}: ${firstLine(started.stderr)}. Check the image and the engine.`,
      );
    }
    const hostPort = await publishedPort(name, port);
    if (!hostPort) {
      const st = await containerState(name);
      const why =
        st && !st.running
          ? `the container exited with code ${st.exitCode}`
          : `port ${port} was never published`;
      throw await withLogs(
        name,
        `${image.image} did not become healthy: ${why}.`,
      );
    }
    const url = `http://127.0.0.1:${hostPort}${s.healthPath}`;
    const watchContainer = async () => {
      const st = await containerState(name);
      if (!st) return 'the container disappeared';
      if (!st.running)
        return `the container exited with code ${st.exitCode}${st.oomKilled ? ' (out of memory)' : ''}`;
      if (st.health === 'unhealthy')
        return 'Docker marked the container unhealthy';
      return undefined;
    };
    logger.info(
      `@ml/docker: ${image.image} started as ${name}; polling ${url}`,
    );
    const outcome = await waitForHealthy({
      url,
      timeoutMs: s.timeout * 1000,
      intervalMs: s.pollInterval,
      watch: watchContainer,
    });
    if (!outcome.ok)
      throw await withLogs(
        name,
        `${image.image} did not become healthy: ${outcome.reason}.`,
      );
    logger.info(
      `@ml/docker: ${image.image} answered ${s.healthPath} with ${outcome.status} after ${outcome.elapsedMs} ms (${outcome.attempts} polls)`,
    );
    let readyMs = outcome.elapsedMs;
    if (s.readyPath) {
      // Liveness is not readiness: an ML server answers /health while its model still loads.
      const ready = await waitForHealthy({
        url: `http://127.0.0.1:${hostPort}${s.readyPath}`,
        timeoutMs: Math.max(1000, s.timeout * 1000 - outcome.elapsedMs),
        intervalMs: s.pollInterval,
        watch: watchContainer,
      });
      if (!ready.ok)
        throw await withLogs(
          name,
          `${image.image} is alive but did not become ready: ${ready.reason}.`,
        );
      readyMs += ready.elapsedMs;
      logger.info(
        `@ml/docker: ${image.image} ready (${s.readyPath} ${ready.status}) after ${readyMs} ms`,
      );
    }

    if (s.checkHealthcheck) {
      const args = info.healthcheck
        ? healthcheckExecArgs(name, info.healthcheck.test)
        : undefined;
      if (!args) {
        logger.warn(
          `@ml/docker: ${image.image} has no HEALTHCHECK; Docker will never report it unhealthy.`,
        );
      } else {
        const timeoutMs = Math.max(
          1000,
          (info.healthcheck?.timeoutNs ?? 30e9) / 1e6,
        );
        const hc = await docker(args, { timeoutMs });
        if (hc.exitCode !== 0) {
          throw await withLogs(
            name,
            `${image.image}'s HEALTHCHECK command fails while the app answers ${s.healthPath} (${hc.timedOut ? 'timed out' : `exit ${hc.exitCode}`}: ${firstLine(hc.all) || 'no output'}). Fix the HEALTHCHECK in ${image.dockerfile}.`,
          );
        }
        logger.info(`@ml/docker: ${image.image}'s own HEALTHCHECK passes`);
      }
    }

    for (const smoke of s.smoke) {
      const problem = await smokeRequest(
        `http://127.0.0.1:${hostPort}`,
        smoke,
        project.absRoot,
      );
      if (problem) throw await withLogs(name, `${image.image}: ${problem}`);
      logger.info(
        `@ml/docker: ${image.image}: ${(smoke.method ?? 'GET').toUpperCase()} ${smoke.path} → ${smoke.expectStatus ?? 200} ok`,
      );
    }
    logger.info(
      `@ml/docker: ${image.image} passed: healthy in ${outcome.elapsedMs} ms, ready in ${readyMs} ms`,
    );
  } finally {
    await removeContainer(name);
  }
}

export async function smokeRequest(
  base: string,
  smoke: SmokeRequest,
  projectRoot: string,
): Promise<string | undefined> {
  const method = (smoke.method ?? 'GET').toUpperCase();
  const label = `smoke ${method} ${smoke.path}`;
  let body: string | undefined;
  if (smoke.bodyFile) {
    const file = join(projectRoot, smoke.bodyFile);
    if (!existsSync(file))
      fail(
        `${label}: bodyFile ${smoke.bodyFile} does not exist in the project.`,
      );
    body = readFileSync(file, 'utf8');
  } else if (smoke.body !== undefined) {
    body = JSON.stringify(smoke.body);
  }
  let res: Response;
  try {
    res = await fetch(`${base}${smoke.path}`, {
      method,
      body,
      headers: body ? { 'content-type': 'application/json' } : undefined,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    return `${label} got no answer (${(e as Error).message}).`;
  }
  const text = await res.text();
  const expected = smoke.expectStatus ?? 200;
  if (res.status !== expected)
    return `${label}: expected HTTP ${expected}, got ${res.status}: ${text.slice(0, 200)}`;
  if (smoke.expectKeys?.length) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text);
    } catch {
      return `${label}: expected a JSON object with ${smoke.expectKeys.join(', ')}, got: ${text.slice(0, 200)}`;
    }
    const missing = smoke.expectKeys.filter(
      (k) => !(json && typeof json === 'object' && k in json),
    );
    if (missing.length)
      return `${label}: the response lacks ${missing.join(', ')}: ${text.slice(0, 200)}`;
  }
  return undefined;
}

async function testJob(
  project: ProjectInfo,
  image: ImageRecord,
  info: ImageInfo,
  opts: NormalizedTestOptions,
  workspaceRoot: string,
) {
  const j = opts.job;
  const name = containerName(project.name, image.image);
  const scratch = mkdtempSync(join(tmpdir(), 'ml-docker-job-'));
  // The container runs as a non-root UID: the mounted folders must be writable by it.
  chmodSync(scratch, 0o755);
  const mounts: Array<[string, string]> = [];
  for (const dir of new Set(j.artifacts.map((a) => a.split('/')[0]))) {
    const host = join(scratch, dir);
    mkdirSync(host);
    chmodSync(host, 0o777);
    mounts.push([host, posix.join(info.workingDir, dir)]);
  }
  await track(name);
  try {
    logger.info(
      `@ml/docker: running ${image.image} as ${name} (timeout ${j.timeout} s)`,
    );
    const started = Date.now();
    const r = await docker(
      jobRunArgs(name, image.imageId, mounts, j.env, j.command),
      {
        stream: true,
        timeoutMs: j.timeout * 1000,
      },
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (r.timedOut)
      throw await withLogs(
        name,
        `${image.image} did not finish within ${j.timeout} s. Raise job.timeout or make the run smaller.`,
      );
    if (r.exitCode !== 0)
      throw await withLogs(
        name,
        `${image.image} exited with code ${r.exitCode} after ${seconds} s.`,
      );
    const missing = j.artifacts.filter((a) => !existsSync(join(scratch, a)));
    if (missing.length) {
      fail(
        `${image.image} exited 0 but did not write ${missing.join(', ')} (looked under ${info.workingDir}). Check where the pipeline writes its outputs, or the job.artifacts option.`,
      );
    }
    if (j.artifactsOutputPath) {
      const dest = join(workspaceRoot, j.artifactsOutputPath);
      for (const a of j.artifacts) {
        mkdirSync(dirname(join(dest, a)), { recursive: true });
        cpSync(join(scratch, a), join(dest, a));
      }
      logger.info(
        `@ml/docker: copied ${j.artifacts.join(', ')} to ${j.artifactsOutputPath}`,
      );
    }
    logger.info(
      `@ml/docker: ${image.image} passed: exit 0 in ${seconds} s, wrote ${j.artifacts.join(', ')}`,
    );
  } finally {
    await removeContainer(name);
    rmSync(scratch, { recursive: true, force: true });
  }
}

export default async function testExecutor(
  options: TestExecutorSchema,
  context: ExecutorContext,
) {
  return runExecutor('test', () => testImages(options, context));
}
