/**
 * The train service: builds the training image with the build target's own
 * options, runs it once, and copies the folders it writes into the project,
 * where the inference image's COPY finds them. Nx caches those folders as the
 * task's outputs, so an unchanged project never trains twice.
 */
import { ExecutorContext, readTargetOptions } from '@nx/devkit';
import type { BuildOptions } from '../build/build-options';
import type { TrainOptions } from './train-options';
import { buildImages } from '../build/build-service';
import { ContainerSession } from './container-session';
import { inspectImage } from '../engine/image-inspection';
import { fail } from '../errors/errors';
import { outputsOf, runJob } from './job-run';
import { DEFAULT_TARGET_NAMES, OUTPUTS_LABEL } from '../names/names';
import { projectInfo } from '../record/project-images';
import { normalizeOptions as normalizeTestOptions } from './test-options';

/** The options the project's build target builds with; a target that cannot be read is an error. */
export function buildOptionsOf(
  options: TrainOptions,
  context: ExecutorContext,
): BuildOptions {
  const target = options.buildTarget ?? DEFAULT_TARGET_NAMES.build;
  try {
    return readTargetOptions(
      { project: context.projectName!, target },
      context,
    ) as BuildOptions;
  } catch (e) {
    fail(
      `docker-train builds the training image with the options of ${context.projectName}:${target}, and they cannot be read (${(e as Error).message}). Check that the target exists and runs @ml/docker:build, or set buildTarget to the one that does.`,
    );
  }
}

export async function train(
  options: TrainOptions,
  context: ExecutorContext,
  session: ContainerSession,
): Promise<void> {
  const project = projectInfo(context);
  const image = options.image ?? 'training';
  const buildTarget = options.buildTarget ?? DEFAULT_TARGET_NAMES.build;
  const buildOptions = buildOptionsOf(options, context);
  const record = await buildImages({
    options: { ...buildOptions, images: [image] },
    context,
    engine: session.engine,
    buildTarget,
    writeRecord: false,
  });
  const built = record.images[0];
  const info = (await inspectImage(session.engine, built.imageId))!;
  const outputs = options.outputs?.length
    ? options.outputs.map((o) => (o.endsWith('/') ? o : `${o}/`))
    : outputsOf(info.labels[OUTPUTS_LABEL]);
  if (outputs.length === 0)
    fail(
      `${image} declares no outputs: add LABEL ${OUTPUTS_LABEL}="models/" to ${built.dockerfile}, or set the outputs option of ${context.targetName}.`,
    );
  const opts = normalizeTestOptions({
    job: {
      artifacts: outputs,
      env: options.env,
      command: options.command,
      timeout: options.timeout ?? 3600,
      artifactsOutputPath: project.root,
    },
  });
  await runJob(session, project, built, info, opts, context.root);
}
