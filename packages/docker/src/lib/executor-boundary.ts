import { logger } from '@nx/devkit';
import { UserFacingError } from './errors';

/**
 * The one place executors turn a thrown error into a failed task: the user
 * sees one line saying what went wrong and what to do; stack traces only with
 * --verbose, for errors we did not anticipate.
 */
export async function runExecutor(
  name: string,
  body: () => Promise<void>,
): Promise<{ success: boolean }> {
  try {
    await body();
    return { success: true };
  } catch (e) {
    if (e instanceof UserFacingError) {
      logger.error(`@ml/docker:${name}: ${e.message}`);
    } else {
      logger.error(
        `@ml/docker:${name}: unexpected error: ${(e as Error)?.message ?? e}. Rerun with --verbose and report it.`,
      );
      if (process.env.NX_VERBOSE_LOGGING === 'true')
        logger.error((e as Error)?.stack ?? '');
    }
    return { success: false };
  }
}
