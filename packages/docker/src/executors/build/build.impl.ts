import { ExecutorContext } from '@nx/devkit';
import { buildImages } from '../../build/build-service';
import { detectEngine, engineKindFor } from '../../engine/detection';
import { runExecutor } from '../../errors/executor-boundary';
import { BuildExecutorSchema } from './schema';

/** Builds the project's images and writes the build record (see build/build-service). */
export default async function buildExecutor(
  options: BuildExecutorSchema,
  context: ExecutorContext,
) {
  return runExecutor('build', async () => {
    await buildImages({
      options,
      context,
      engine: await detectEngine(
        process.env,
        engineKindFor(options.engine ?? 'auto'),
      ),
      buildTarget: context.targetName!,
    });
  });
}
