import { ExecutorContext } from '@nx/devkit';
import { runExecutor } from '../../errors/executor-boundary';
import { promoteImages } from '../../promotion/promote-service';
import { readRecordedRun } from '../../record/recorded-images';
import { PromoteExecutorSchema } from './schema';

/** Copies the tested digests to another environment (see promotion/promote-service). */
export default async function promoteExecutor(
  options: PromoteExecutorSchema,
  context: ExecutorContext,
) {
  return runExecutor('promote', async () => {
    await promoteImages(readRecordedRun(context, options), options, context);
  });
}
