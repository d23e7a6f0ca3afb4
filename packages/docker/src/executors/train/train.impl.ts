import { ExecutorContext } from '@nx/devkit';
import { ContainerSession } from '../../lib/container-session';
import { detectEngine } from '../../lib/engine';
import { runExecutor } from '../../lib/executor-boundary';
import { train } from '../../lib/train-service';
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
      session = new ContainerSession(await detectEngine());
      await train(options, context, session);
    },
    { onInterrupt: () => session?.removeAllNow() },
  );
}
