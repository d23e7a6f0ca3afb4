/**
 * The test service: every image of the build record, started the way it
 * runs in production. Images that expose a port are services (lib/service-check),
 * the others jobs (lib/job-run); artifact images with no command are skipped.
 */
import { ExecutorContext, logger } from '@nx/devkit';
import type { TestExecutorSchema } from '../executors/test/schema';
import { rebuildWith } from './build-service';
import { ContainerSession } from './container-session';
import { inspectImage } from './engine';
import { fail } from './errors';
import { ensureLocalImage } from './image-availability';
import { runJob } from './job-run';
import { projectInfo } from './project-images';
import { recordedImages } from './recorded-images';
import { isRootUser } from './run-args';
import { checkService } from './service-check';
import { normalizeOptions } from './test-options';

export async function testImages(
  options: TestExecutorSchema,
  context: ExecutorContext,
  session: ContainerSession,
): Promise<void> {
  const engine = session.engine;
  const project = projectInfo(context);
  const opts = normalizeOptions(options);
  const { images } = recordedImages(
    context,
    project,
    opts.buildTarget,
    opts.images,
  );
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
    if (info.exposedPorts.length > 0 || opts.service.port)
      await checkService(session, project, image, info, opts);
    else await runJob(session, project, image, info, opts, context.root);
  }
}
