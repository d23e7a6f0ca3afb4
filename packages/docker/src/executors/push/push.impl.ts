import { ExecutorContext } from '@nx/devkit';
import { detectEngine } from '../../lib/engine';
import { runExecutor } from '../../lib/executor-boundary';
import { pushImages } from '../../lib/push-service';
import { engineOfRecord } from '../../lib/test-service';
import { PushExecutorSchema } from './schema';

/** Pushes every tag of the build record (see lib/push-service). */
export default async function pushExecutor(
  options: PushExecutorSchema,
  context: ExecutorContext,
) {
  return runExecutor('push', async () => {
    await pushImages(
      options,
      context,
      await detectEngine(process.env, engineOfRecord(options, context)),
    );
  });
}
