import { ExecutorContext } from '@nx/devkit';
import { detectEngine } from '../../engine/detection';
import { runExecutor } from '../../errors/executor-boundary';
import { publishRelease } from '../../release/publish';
import { ReleasePublishExecutorSchema } from './schema';

/** What nx release publish runs: the released version on every recorded image, pushed (see release/publish). */
export default async function releasePublishExecutor(
  options: ReleasePublishExecutorSchema,
  context: ExecutorContext,
) {
  return runExecutor('release-publish', async () => {
    await publishRelease(
      {
        ...options,
        // nx release publish --dry-run sets this for every task it starts.
        dryRun: options.dryRun || process.env.NX_DRY_RUN === 'true',
      },
      context,
      (kind) => detectEngine(process.env, kind),
    );
  });
}
