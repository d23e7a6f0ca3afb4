import { ExecutorContext } from '@nx/devkit';
import { detectEngine } from '../../engine/detection';
import { runExecutor } from '../../errors/executor-boundary';
import { pushImages } from '../../registry/push-service';
import { readRecordedRun } from '../../record/recorded-images';
import { PushExecutorSchema } from './schema';

/** Pushes every tag of the build record (see registry/push-service). */
export default async function pushExecutor(
  options: PushExecutorSchema,
  context: ExecutorContext,
) {
  return runExecutor('push', async () => {
    const run = readRecordedRun(context, options);
    await pushImages(
      run,
      options,
      context,
      await detectEngine(process.env, run.engine),
    );
  });
}
