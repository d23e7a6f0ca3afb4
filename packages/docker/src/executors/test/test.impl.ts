import { ExecutorContext } from '@nx/devkit';
import { ContainerSession } from '../../lib/container-session';
import { detectEngine } from '../../lib/engine';
import { runExecutor } from '../../lib/executor-boundary';
import { engineOfRecord, testImages } from '../../lib/test-service';
import { TestExecutorSchema } from './schema';

/** Starts the built images and proves they work (see lib/test-service). */
export default async function testExecutor(
  options: TestExecutorSchema,
  context: ExecutorContext,
) {
  let session: ContainerSession | undefined;
  return runExecutor(
    'test',
    async () => {
      session = new ContainerSession(
        await detectEngine(process.env, engineOfRecord(options, context)),
      );
      await testImages(options, context, session);
    },
    // Ctrl-C or a CI cancel: no container outlives the task.
    { onInterrupt: () => session?.removeAllNow() },
  );
}
