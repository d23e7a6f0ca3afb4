import { ExecutorContext } from '@nx/devkit';
import { runContainerExecutor } from '../../lib/executor-boundary';
import { engineOfRecord, testImages } from '../../lib/test-service';
import { TestExecutorSchema } from './schema';

/** Starts the built images and proves they work (see lib/test-service). */
export default async function testExecutor(
  options: TestExecutorSchema,
  context: ExecutorContext,
) {
  return runContainerExecutor(
    'test',
    // The engine that holds the record's images.
    () => engineOfRecord(options, context),
    (session) => testImages(options, context, session),
  );
}
