/**
 * A cache hit restores the build record but not the image: before testing or
 * pushing, make sure the engine has the image the record names. Local first,
 * then the content tag from the registry (built by another machine with the
 * same inputs), then, when the caller offers a rebuild, a build now. Says which.
 */
import { logger } from '@nx/devkit';
import { ImageRecord } from './build-record';
import { registryFlags } from '../engine/commands';
import { docker, Engine } from '../engine/engine';
import { inspectImage } from '../engine/image-inspection';
import { fail } from '../errors/errors';

export type Rebuild = (record: ImageRecord) => Promise<ImageRecord>;

export async function ensureLocalImage(
  engine: Engine,
  record: ImageRecord,
  where: { project: string; buildTarget: string },
  rebuild?: Rebuild,
): Promise<ImageRecord> {
  if (await inspectImage(engine, record.imageId)) return record;
  const byTag = record.contentTag
    ? `${record.name}:${record.contentTag}`
    : undefined;
  if (byTag) {
    logger.info(
      `@ml/docker: ${record.image} is not in this engine; pulling ${byTag}`,
    );
    const pulled = await docker(
      engine,
      ['pull', ...registryFlags(engine, byTag), byTag],
      {
        timeoutMs: 30 * 60_000,
      },
    );
    const info =
      pulled.exitCode === 0 ? await inspectImage(engine, byTag) : undefined;
    if (info?.id === record.imageId) {
      // Restore the other tags so later steps can address the image by any of them.
      for (const tag of record.tags)
        await docker(engine, ['tag', byTag, `${record.name}:${tag}`]);
      logger.info(`@ml/docker: pulled ${byTag} from the registry`);
      return record;
    }
  }
  if (rebuild) {
    logger.info(
      `@ml/docker: ${record.image} is neither in this engine nor in the registry; building it now`,
    );
    return rebuild(record);
  }
  fail(
    `Image ${record.name} (${record.imageId.slice(0, 19)}) from the build record is neither in this engine nor in the registry. Build it now: nx run ${where.project}:${where.buildTarget} --skip-nx-cache`,
  );
}
