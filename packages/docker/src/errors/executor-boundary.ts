import { logger } from '@nx/devkit';
import { ContainerSession } from '../containers/container-session';
import { detectEngine } from '../engine/detection';
import { EngineKind } from '../engine/engine';
import { UserFacingError } from './errors';

export interface ExecutorHooks {
  /**
   * Runs synchronously when nx is interrupted (Ctrl-C, or CI cancelling the
   * job with SIGTERM) while the executor works; the process then exits.
   */
  onInterrupt?: () => void;
}

/**
 * The one place executors turn a thrown error into a failed task: the user
 * sees one line saying what went wrong and what to do; stack traces only with
 * --verbose, for errors we did not anticipate. Signal handlers live here too,
 * for exactly as long as the executor runs.
 */
export async function runExecutor(
  name: string,
  body: () => Promise<void>,
  hooks: ExecutorHooks = {},
): Promise<{ success: boolean }> {
  const onSignal = (signal: NodeJS.Signals) => {
    hooks.onInterrupt?.();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  if (hooks.onInterrupt) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
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
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * An executor that starts containers: what it works on, read first (it names
 * the engine to ask for), one session for the containers, and Ctrl-C or a CI
 * cancel removing them before exit.
 */
export async function runContainerExecutor<
  T extends { engine: EngineKind | 'auto' },
>(
  name: string,
  read: () => T,
  body: (session: ContainerSession, read: T) => Promise<void>,
): Promise<{ success: boolean }> {
  let session: ContainerSession | undefined;
  return runExecutor(
    name,
    async () => {
      const value = read();
      session = new ContainerSession(
        await detectEngine(process.env, value.engine),
      );
      await body(session, value);
    },
    { onInterrupt: () => session?.removeAllNow() },
  );
}
