import { ExecutorContext } from '@nx/devkit';
import {
  ImageRecord,
  readBuildRecord,
  recordPathOfTarget,
} from './build-record';
import { EngineKind } from '../engine/engine';
import { fail } from '../errors/errors';
import { DEFAULT_TARGET_NAMES } from '../names/names';
import { ProjectInfo, projectInfo } from './project-images';

/** The images of the build record that a test or push run is about. */
export function recordedImages(
  context: ExecutorContext,
  project: ProjectInfo,
  buildTarget: string,
  only?: string[],
): { recordPath: string; images: ImageRecord[] } {
  const recordPath = recordPathOfTarget(context, project, buildTarget);
  const record = readBuildRecord(recordPath, project.name, buildTarget);
  if (!record) {
    fail(
      `No build record at ${recordPath}. Build the images first: nx run ${project.name}:${buildTarget}`,
    );
  }
  if (!only?.length) return { recordPath, images: record.images };
  return {
    recordPath,
    images: only.map(
      (i) =>
        record.images.find((r) => r.image === i) ??
        fail(
          `Image "${i}" is not in the build record ${recordPath}. Build it: nx run ${project.name}:${buildTarget}`,
        ),
    ),
  };
}

/**
 * The engine that holds a build record's images: test and push use the
 * same one (an image Podman built is not in Docker's store). A missing
 * record is reported by the caller.
 */
export function recordedEngine(
  context: ExecutorContext,
  project: ProjectInfo,
  buildTarget: string,
): EngineKind | 'auto' {
  const record = readBuildRecord(
    recordPathOfTarget(context, project, buildTarget),
    project.name,
    buildTarget,
  );
  return record?.images.find((i) => i.engine)?.engine ?? 'auto';
}

/** The engine the build record's images live in. */
export function engineOfRecord(
  options: { buildTarget?: string },
  context: ExecutorContext,
): EngineKind | 'auto' {
  return recordedEngine(
    context,
    projectInfo(context),
    options.buildTarget ?? DEFAULT_TARGET_NAMES.build,
  );
}
