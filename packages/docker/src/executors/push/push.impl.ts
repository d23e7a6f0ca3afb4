import { ExecutorContext } from '@nx/devkit';
import { detectEngine } from '../../engine/detection';
import { runExecutor } from '../../errors/executor-boundary';
import { pushImages } from '../../registry/push-service';
import { engineOfRecord } from '../../record/recorded-images';
import { PushExecutorSchema } from './schema';

/** Pushes every tag of the build record (see registry/push-service). */
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
