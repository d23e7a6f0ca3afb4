import { ExecutorContext } from '@nx/devkit';
import { runContainerExecutor } from '../../errors/executor-boundary';
import { testImages } from '../../containers/test-service';
import { engineOfRecord } from '../../record/recorded-images';
import { TestExecutorSchema } from './schema';

/** Starts the built images and proves they work (see containers/test-service). */
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
