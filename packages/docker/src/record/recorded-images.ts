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

/**
 * What a test, push, release or promotion works on, read from the build
 * record once and passed down: the project, the record's images (all, or the
 * ones asked for) and the engine that holds them.
 */
export interface RecordedRun {
  project: ProjectInfo;
  buildTarget: string;
  recordPath: string;
  images: ImageRecord[];
  /** Test and push use the engine that built: an image Podman built is not in Docker's store. */
  engine: EngineKind | 'auto';
}

export function readRecordedRun(
  context: ExecutorContext,
  options: { buildTarget?: string; images?: string[] } = {},
): RecordedRun {
  const project = projectInfo(context);
  const buildTarget = options.buildTarget ?? DEFAULT_TARGET_NAMES.build;
  const recordPath = recordPathOfTarget(context, project, buildTarget);
  const record = readBuildRecord(recordPath, project.name, buildTarget);
  if (!record) {
    fail(
      `No build record at ${recordPath}. Build the images first: nx run ${project.name}:${buildTarget}`,
    );
  }
  const only = options.images;
  const images = !only?.length
    ? record.images
    : only.map(
        (i) =>
          record.images.find((r) => r.image === i) ??
          fail(
            `Image "${i}" is not in the build record ${recordPath}. Build it: nx run ${project.name}:${buildTarget}`,
          ),
      );
  return {
    project,
    buildTarget,
    recordPath,
    images,
    engine: record.images.find((i) => i.engine)?.engine ?? 'auto',
  };
}
