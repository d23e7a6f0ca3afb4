import { ExecutorContext } from '@nx/devkit';
import { engineKindFor } from '../../engine/detection';
import { runContainerExecutor } from '../../errors/executor-boundary';
import { buildOptionsOf, train } from '../../containers/train-service';
import { TrainExecutorSchema } from './schema';

/** Trains in the training image and keeps what it writes (see containers/train-service). */
export default async function trainExecutor(
  options: TrainExecutorSchema,
  context: ExecutorContext,
) {
  return runContainerExecutor(
    'train',
    // The engine the build target builds with: the image must land where it runs.
    () => ({
      engine: engineKindFor(buildOptionsOf(options, context).engine ?? 'auto'),
    }),
    (session) => train(options, context, session),
  );
}
