import { ExecutorContext } from '@nx/devkit';
import { runContainerExecutor } from '../../errors/executor-boundary';
import { testImages } from '../../containers/test-service';
import { normalizeOptions } from '../../containers/test-options';
import { readRecordedRun } from '../../record/recorded-images';
import { TestExecutorSchema } from './schema';

/** Starts the built images and proves they work (see containers/test-service). */
export default async function testExecutor(
  options: TestExecutorSchema,
  context: ExecutorContext,
) {
  return runContainerExecutor(
    'test',
    () => readRecordedRun(context, normalizeOptions(options)),
    (session, run) => testImages(run, options, context, session),
  );
}
