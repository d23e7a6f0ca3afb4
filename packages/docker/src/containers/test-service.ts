/**
 * The test service: every image of the build record, started the way it
 * runs in production. Images that expose a port are services (service-check.ts),
 * the others jobs (job-run.ts); artifact images with no command are skipped.
 */
import { ExecutorContext, logger } from '@nx/devkit';
import type { TestOptions } from './test-options';
import { rebuildWith } from '../build/build-service';
import { ContainerSession } from './container-session';
import { isLoopbackRegistry } from '../engine/commands';
import { Engine } from '../engine/engine';
import { inspectImage } from '../engine/image-inspection';
import { fail } from '../errors/errors';
import { ensureLocalImage } from '../record/image-availability';
import { runJob } from './job-run';
import { RecordedRun } from '../record/recorded-images';
import { isRootUser } from './run-args';
import { gpuDecision } from '../accelerator/gpu-runtime';
import { engineGpuSupport, proveGpu } from '../accelerator/gpu-check';
import { ACCELERATOR_LABEL } from '../names/names';
import { checkService } from './service-check';
import { normalizeOptions } from './test-options';
import {
  readTestRecord,
  TestedImage,
  testRecordPath,
  writeTestRecord,
} from '../record/test-record';

export async function testImages(
  run: RecordedRun,
  options: TestOptions,
  context: ExecutorContext,
  session: ContainerSession,
): Promise<void> {
  const engine = session.engine;
  const { project, recordPath, images } = run;
  const opts = normalizeOptions(options);
  const keys = new Set(images.map((i) => i.image));
  let support: Awaited<ReturnType<typeof engineGpuSupport>> | undefined;
  const passed: TestedImage[] = [];
  for (const recorded of images) {
    const image = await ensureLocalImage(
      engine,
      recorded,
      { project: project.name, buildTarget: opts.buildTarget },
      rebuildWith(context, opts.buildTarget, engine),
    );
    const info = (await inspectImage(engine, image.imageId))!;
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
    let gpuFlags: string[] = [];
    const accelerator = info.labels[ACCELERATOR_LABEL] ?? 'cpu';
    if (accelerator.startsWith('cuda')) {
      support ??= await engineGpuSupport(engine);
      const decision = gpuDecision({
        isCudaImage: true,
        support,
        requireGpu: opts.requireGpu,
        hasCpuVariant: keys.has(image.image.replace(/-cuda[^/]*$/, '')),
        image: image.image,
      });
      logger.info(`@ml/docker: ${decision.message}`);
      if (decision.run !== 'gpu') continue;
      gpuFlags = await proveGpu(session, project.name, image, support);
    }
    let service: TestedImage['service'];
    if (info.exposedPorts.length > 0 || opts.service.port) {
      assertReachable(engine);
      service = await checkService(
        session,
        project,
        image,
        info,
        opts,
        gpuFlags,
      );
    } else
      await runJob(session, project, image, info, opts, context.root, gpuFlags);
    passed.push({
      image: image.image,
      name: image.name,
      imageId: image.imageId,
      passedAt: new Date().toISOString(),
      ...(service ? { service } : {}),
    });
  }
  // Written once every image passed: a failed run leaves the last record as it was.
  if (passed.length)
    recordTested(testRecordPath(recordPath), project.name, passed);
}

/**
 * Merges what this run proved into the record: images it did not test this
 * time (`images` option, a skipped GPU image) keep their earlier entry.
 */
export function recordTested(
  path: string,
  project: string,
  passed: TestedImage[],
): void {
  const previous = readTestRecord(path);
  const keys = new Set(passed.map((p) => p.image));
  writeTestRecord(path, {
    version: 1,
    project,
    images: [
      ...(previous?.project === project ? previous.images : []).filter(
        (i) => !keys.has(i.image),
      ),
      ...passed,
    ],
  });
}

/**
 * docker-test talks to a service through the port the engine publishes on
 * 127.0.0.1 of the engine's host: an engine on another machine publishes
 * where this one cannot reach.
 */
export function assertReachable(engine: Pick<Engine, 'host'>): void {
  const m = /^(?:tcp|ssh|https?):\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^/:]+)/.exec(
    engine.host,
  );
  if (m && !isLoopbackRegistry(m[1]))
    fail(
      `The engine is on another machine (${engine.host}): docker-test publishes a service's port on 127.0.0.1 of the engine's host, which this machine cannot reach. Run docker-test on that host, or reach the engine through a tunnel to 127.0.0.1 (e.g. ssh -L 2375:/var/run/docker.sock host, then DOCKER_HOST=tcp://127.0.0.1:2375).`,
    );
}
