import { ExecutorContext } from '@nx/devkit';
import { ContainerSession } from '../../lib/container-session';
import { detectEngine, engineKindFor } from '../../lib/engine';
import { runExecutor } from '../../lib/executor-boundary';
import { buildOptionsOf, train } from '../../lib/train-service';
import { TrainExecutorSchema } from './schema';

/** Trains in the training image and keeps what it writes (see lib/train-service). */
export default async function trainExecutor(
  options: TrainExecutorSchema,
  context: ExecutorContext,
) {
  let session: ContainerSession | undefined;
  return runExecutor(
    'train',
    async () => {
      // The engine the build target builds with: the image must land where it runs.
      const engine = engineKindFor(
        buildOptionsOf(options, context).engine ?? 'auto',
      );
      session = new ContainerSession(await detectEngine(process.env, engine));
      await train(options, context, session);
    },
    { onInterrupt: () => session?.removeAllNow() },
  );
}
