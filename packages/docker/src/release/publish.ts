/**
 * What `nx release publish` does for a project with ML images: the version
 * nx release chose, on every image of the build record, pushed with the push
 * service (registry asked first, transient failures retried, digests added
 * to the push record). A released tag never moves to another image.
 */
import { ExecutorContext, logger } from '@nx/devkit';
import { Engine, EngineKind } from '../engine/engine';
import { fail } from '../errors/errors';
import { assertTag } from '../registry/image-ref';
import { VERSION_ACTIONS_PATH } from '../names/names';
import { readRecordedRun } from '../record/recorded-images';
import { projectInfo } from '../record/project-images';
import { PushedTag, pushImages } from '../registry/push-service';
import { readReleaseRecord } from './release-record';

/** Per project, what `nx release` versioned in this run (it passes this to every publish task). */
export type ReleaseVersionData = Record<
  string,
  { newVersion: string | null } | undefined
>;

export interface ReleasePublishOptions {
  buildTarget?: string;
  images?: string[];
  dryRun?: boolean;
  retries?: number;
  nxReleaseVersionData?: ReleaseVersionData;
}

/**
 * The image version to publish: what this `nx release` run versioned, else
 * what the last `nx release version` recorded. Null when the run left the
 * project's version as it was.
 */
export function releaseVersion(
  options: Pick<ReleasePublishOptions, 'nxReleaseVersionData'>,
  workspaceRoot: string,
  project: { name: string; root: string },
): string | null {
  const fromRun = options.nxReleaseVersionData?.[project.name];
  if (fromRun) return fromRun.newVersion;
  const record = readReleaseRecord(workspaceRoot, project.root);
  if (record) return record.imageVersion;
  fail(
    `No release version for ${project.name}: version it first with nx release version (or run nx release, which versions and publishes), then nx release publish. Its release group must use "versionActions": "${VERSION_ACTIONS_PATH}".`,
  );
}

export async function publishRelease(
  options: ReleasePublishOptions,
  context: ExecutorContext,
  engineFor: (kind: EngineKind | 'auto') => Promise<Engine>,
): Promise<PushedTag[]> {
  const project = projectInfo(context);
  const version = releaseVersion(options, context.root, project);
  if (version === null) {
    logger.info(
      `@ml/docker: nx release did not version ${project.name} in this run; nothing to publish`,
    );
    return [];
  }
  assertTag(version, `the release version of ${project.name}`);
  logger.info(
    `@ml/docker: ${options.dryRun ? '[dry run] ' : ''}publishing the images of ${project.name} as ${version}`,
  );
  // Read only now: a project this run did not version needs no build record.
  const run = readRecordedRun(context, options);
  return pushImages(
    run,
    {
      dryRun: options.dryRun,
      retries: options.retries,
      tags: [version],
    },
    context,
    await engineFor(run.engine),
  );
}
