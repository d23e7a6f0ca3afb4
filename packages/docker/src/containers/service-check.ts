/**
 * An inference image under docker-test: started with its port published on
 * 127.0.0.1, it must become healthy, then ready, its own HEALTHCHECK must
 * pass, and it must answer the requests it is asked.
 */
import { logger } from '@nx/devkit';
import { ImageRecord } from '../record/build-record';
import { containerName, ContainerSession } from './container-session';
import { runFlags } from '../engine/commands';
import { docker, firstLine } from '../engine/engine';
import { ImageInfo } from '../engine/image-inspection';
import {
  documentedExamples,
  exerciseExample,
  fetchOpenApi,
  getRoutes,
  OpenApiDocument,
  readinessPath,
  routeKey,
  servesGet,
} from './api-prober';
import { fail, UserFacingError } from '../errors/errors';
import {
  Answer,
  describeAnswer,
  waitForHealthy,
  WaitOutcome,
} from './health-waiter';
import {
  HEALTH_PATH_LABEL,
  READY_PATH_LABEL,
  WRITABLE_LABEL,
} from '../names/names';
import { ProjectInfo } from '../record/project-images';
import { healthcheckExecArgs, readOnlyArgs, serviceRunArgs } from './run-args';
import { smokeRequest } from './smoke-request';
import type { TestedService } from '../record/test-record';
import { DEFAULT_HEALTH_PATH, NormalizedTestOptions } from './test-options';

/**
 * Prints the container's last log lines and returns the error to throw,
 * with what `hint` reads in them (why a write failed) when it reads something.
 */
export async function withLogs(
  session: ContainerSession,
  name: string,
  what: string,
  hint?: (logs: string) => string | undefined,
): Promise<UserFacingError> {
  const logs = await session.lastLogLines(name);
  if (logs) logger.info(`--- last log lines of ${name} ---\n${logs}\n---`);
  const more = logs ? hint?.(logs) : undefined;
  return new UserFacingError(more ? `${what} ${more}` : what);
}

/**
 * The liveness wait's early verdict. A 404 from a server whose OpenAPI
 * document lists no GET route for the path is conclusive: uvicorn accepts
 * connections only once the app's startup is over, so its routes are all
 * there, and waiting for Docker's unhealthy mark (a minute and a half) only
 * delays the same failure. A 404 on a documented route, or with no document
 * to read, may still be a server loading: it is waited for.
 */
export function livenessVerdict(
  path: string,
  answer: Answer,
  doc: OpenApiDocument | undefined,
): string | undefined {
  if (answer.status !== 404 || !doc || servesGet(doc, path)) return undefined;
  return `GET ${path} answered ${describeAnswer(answer)}, and the app's OpenAPI document lists no GET route for it, so it never will`;
}

/**
 * Why the liveness path never answered 2xx: the reason, what the path last
 * answered, and, when the app still runs to ask, the GET routes it serves
 * (doc: its OpenAPI document; openapiPath false: not asked).
 */
export function livenessFailure(
  image: string,
  path: string,
  outcome: Extract<WaitOutcome, { ok: false }>,
  doc: OpenApiDocument | undefined,
  openapiPath: string | false,
): string {
  const parts = [`${image} did not become healthy: ${outcome.reason}.`];
  const last = outcome.last;
  if (!last) return parts[0];
  const said = describeAnswer(last);
  if (!outcome.reason.includes(said))
    parts.push(`${path} last answered ${said}.`);
  if (doc)
    parts.push(
      `GET routes the app serves: ${getRoutes(doc).join(', ') || 'none'}.`,
    );
  else if (openapiPath !== false)
    parts.push(
      `Its GET routes could not be listed: it serves no OpenAPI document at ${openapiPath}.`,
    );
  // Not found or not allowed: the probe is on the wrong path, not the app unwell.
  if (last.status === 404 || last.status === 405)
    parts.push(
      `Probe a GET route the app answers with 2xx once it is up: regenerate the image with --healthPath=<path>, or set service.healthPath.`,
    );
  return parts.join(' ');
}

export async function checkService(
  session: ContainerSession,
  project: ProjectInfo,
  image: ImageRecord,
  info: ImageInfo,
  opts: NormalizedTestOptions,
  gpuFlags: string[] = [],
): Promise<TestedService> {
  const s = opts.service;
  const healthPath =
    s.healthPath ?? info.labels[HEALTH_PATH_LABEL] ?? DEFAULT_HEALTH_PATH;
  const port = s.port ?? (parseInt(info.exposedPorts[0] ?? '8000', 10) || 8000);
  const name = containerName(project.name, image.image);
  const writable = (info.labels[WRITABLE_LABEL] ?? '')
    .split(/\s+/)
    .filter(Boolean);
  const readOnlyHint = (logs: string) =>
    s.readOnlyRootFilesystem && /Read-only file system/i.test(logs)
      ? `It wrote outside the folders it may write: docker-test runs it with a read-only root filesystem, as Kubernetes readOnlyRootFilesystem does, where only ${['/tmp', ...writable].join(', ')} ${writable.length ? 'are' : 'is'} writable. Make that folder writable (the images generator does for the folders the code creates; by hand, a folder its user owns and LABEL ${WRITABLE_LABEL}="<folder>/"), or set service.readOnlyRootFilesystem to false.`
      : undefined;
  const failWith = (what: string) =>
    withLogs(session, name, what, readOnlyHint);
  session.track(name);
  try {
    const started = await docker(
      session.engine,
      serviceRunArgs(name, image.imageId, port, s.env, [
        ...runFlags(session.engine),
        ...gpuFlags,
        ...(s.readOnlyRootFilesystem
          ? readOnlyArgs(info.workingDir, writable, info.user)
          : []),
      ]),
      { timeoutMs: 60_000 },
    );
    if (started.exitCode !== 0) {
      fail(
        `Could not start ${image.image}: ${firstLine(started.stderr)}. Check the image and the engine.`,
      );
    }
    const hostPort = await session.publishedPort(name, port);
    if (!hostPort) {
      const st = await session.state(name);
      const why =
        st && !st.running
          ? `the container exited with code ${st.exitCode}`
          : `port ${port} was never published`;
      throw await failWith(`${image.image} did not become healthy: ${why}.`);
    }
    const base = `http://127.0.0.1:${hostPort}`;
    const url = `${base}${healthPath}`;
    const watchContainer = async () => {
      const st = await session.state(name);
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
    // The document is read only when needed: a failure, or a 404 to judge.
    const readDoc = async () =>
      s.openapiPath === false
        ? undefined
        : fetchOpenApi(base, s.openapiPath, 5000).catch(() => undefined);
    const outcome = await waitForHealthy({
      url,
      timeoutMs: s.timeout * 1000,
      intervalMs: s.pollInterval,
      watch: watchContainer,
      conclusive: async (answer) =>
        answer.status === 404
          ? livenessVerdict(healthPath, answer, await readDoc())
          : undefined,
    });
    if (!outcome.ok) {
      // Its routes can be asked only while it still runs.
      const running = !!outcome.last && !!(await session.state(name))?.running;
      throw await failWith(
        livenessFailure(
          image.image,
          healthPath,
          outcome,
          running ? await readDoc() : undefined,
          running ? s.openapiPath : false,
        ),
      );
    }
    logger.info(
      `@ml/docker: ${image.image} answered ${healthPath} with ${outcome.status} after ${outcome.elapsedMs} ms (${outcome.attempts} polls)`,
    );
    // The app's own description of itself: its readiness route and the
    // examples its request schemas document.
    const doc =
      s.openapiPath === false
        ? undefined
        : await fetchOpenApi(base, s.openapiPath);
    if (s.openapiPath !== false && !doc)
      logger.warn(
        `@ml/docker: ${image.image} serves no OpenAPI document at ${s.openapiPath}: no documented route is exercised (set service.openapiPath, or add smoke requests).`,
      );
    const readyPath =
      s.readyPath ??
      info.labels[READY_PATH_LABEL] ??
      (doc ? readinessPath(doc, healthPath) : undefined);
    let readyMs = outcome.elapsedMs;
    if (readyPath) {
      // Liveness is not readiness: an ML server answers /health while its model still loads.
      const ready = await waitForHealthy({
        url: `${base}${readyPath}`,
        timeoutMs: Math.max(1000, s.timeout * 1000 - outcome.elapsedMs),
        intervalMs: s.pollInterval,
        watch: watchContainer,
      });
      if (!ready.ok)
        throw await failWith(
          `${image.image} is alive but did not become ready: ${ready.reason}.`,
        );
      readyMs += ready.elapsedMs;
      logger.info(
        `@ml/docker: ${image.image} ready (${readyPath} ${ready.status}) after ${readyMs} ms`,
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
        const hc = await docker(session.engine, args, { timeoutMs });
        if (hc.exitCode !== 0) {
          throw await failWith(
            `${image.image}'s HEALTHCHECK command fails while the app answers ${healthPath} (${hc.timedOut ? 'timed out' : `exit ${hc.exitCode}`}: ${firstLine(hc.all) || 'no output'}). Fix the HEALTHCHECK in ${image.dockerfile}.`,
          );
        }
        logger.info(`@ml/docker: ${image.image}'s own HEALTHCHECK passes`);
      }
    }

    if (doc) await exerciseDocumentedRoutes(failWith, image, base, doc, opts);

    for (const smoke of s.smoke) {
      const problem = await smokeRequest(base, smoke, project.absRoot);
      if (problem) throw await failWith(`${image.image}: ${problem}`);
      logger.info(
        `@ml/docker: ${image.image}: ${(smoke.method ?? 'GET').toUpperCase()} ${smoke.path} → ${smoke.expectStatus ?? 200} ok`,
      );
    }
    logger.info(
      `@ml/docker: ${image.image} passed: healthy in ${outcome.elapsedMs} ms, ready in ${readyMs} ms`,
    );
    return {
      port,
      livenessPath: healthPath,
      ...(readyPath ? { readinessPath: readyPath } : {}),
      user: info.user,
      writable,
      timeToHealthyMs: outcome.elapsedMs,
      timeToReadyMs: readyMs,
    };
  } finally {
    await session.remove(name);
  }
}

/**
 * Sends every documented example and checks the answer against the
 * documented response: a server whose model never loaded, or whose docs
 * show a request it refuses, fails here with the route, status and body.
 */
async function exerciseDocumentedRoutes(
  failWith: (what: string) => Promise<UserFacingError>,
  image: ImageRecord,
  base: string,
  doc: Parameters<typeof documentedExamples>[0],
  opts: NormalizedTestOptions,
): Promise<void> {
  const { examples, without } = documentedExamples(doc);
  const exercised: string[] = [];
  for (const ex of examples) {
    const key = routeKey(ex.method, ex.path);
    const route = opts.service.routes[key] ?? {};
    if (route.skip) {
      logger.info(
        `@ml/docker: ${image.image}: ${key} skipped (service.routes)`,
      );
      continue;
    }
    const problem = await exerciseExample(base, ex, {
      expectStatus: route.expectStatus,
    });
    if (problem) throw await failWith(`${image.image}: ${problem}`);
    exercised.push(key);
    logger.info(
      `@ml/docker: ${image.image}: ${key} answered its documented example (${ex.source}) as documented`,
    );
  }
  if (without.length)
    logger.warn(
      `@ml/docker: ${image.image}: no documented example, not exercised: ${without.map((w) => `${routeKey(w.method, w.path)} (${w.reason})`).join('; ')}`,
    );
  if (exercised.length === 0 && examples.length === 0)
    logger.warn(
      `@ml/docker: ${image.image} documents no request example: add one to the request model (model_config = {"json_schema_extra": {"examples": [...]}}) so docker-test can prove it predicts.`,
    );
}
