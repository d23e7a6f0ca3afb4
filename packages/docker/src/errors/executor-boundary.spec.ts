import { EventEmitter } from 'node:events';
import { logger } from '@nx/devkit';
import { UserFacingError } from './errors';
import { runExecutor } from './executor-boundary';

/**
 * Delivers a signal to this process's listeners, as Node does on Ctrl-C or a
 * CI cancel. Not through process.emit: a module loaded by another spec in the
 * same worker (nx's native loader) replaces it with a wrapper bound to that
 * spec's process object, whose listeners are not ours.
 */
function deliver(signal: 'SIGINT' | 'SIGTERM'): void {
  EventEmitter.prototype.emit.call(process, signal, signal);
}

describe('runExecutor', () => {
  const savedVerbose = process.env.NX_VERBOSE_LOGGING;
  let exit: jest.SpyInstance;
  let counts: { SIGINT: number; SIGTERM: number };

  const listeners = () => ({
    SIGINT: process.listenerCount('SIGINT'),
    SIGTERM: process.listenerCount('SIGTERM'),
  });

  beforeEach(() => {
    delete process.env.NX_VERBOSE_LOGGING;
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    // The handler exits the process after cleaning up: here it must not.
    exit = jest
      .spyOn(process, 'exit')
      .mockImplementation((() => undefined) as never);
    counts = listeners();
  });

  afterEach(() => {
    if (savedVerbose === undefined) delete process.env.NX_VERBOSE_LOGGING;
    else process.env.NX_VERBOSE_LOGGING = savedVerbose;
    jest.restoreAllMocks();
  });

  describe('the task result', () => {
    it('succeeds when the body returns', async () => {
      await expect(
        runExecutor('build', async () => undefined),
      ).resolves.toEqual({ success: true });
      expect(logger.error).not.toHaveBeenCalled();
    });

    it('fails with one line naming the executor when the body throws a UserFacingError', async () => {
      await expect(
        runExecutor('push', async () => {
          throw new UserFacingError(
            'Registry r refused the push. Log in first.',
          );
        }),
      ).resolves.toEqual({ success: false });
      expect(jest.mocked(logger.error).mock.calls).toEqual([
        ['@ml/docker:push: Registry r refused the push. Log in first.'],
      ]);
    });

    it('fails with a request to report it when the body throws anything else, without the stack', async () => {
      await expect(
        runExecutor('test', async () => {
          throw new TypeError(
            "Cannot read properties of undefined (reading 'x')",
          );
        }),
      ).resolves.toEqual({ success: false });
      expect(jest.mocked(logger.error).mock.calls).toEqual([
        [
          "@ml/docker:test: unexpected error: Cannot read properties of undefined (reading 'x'). Rerun with --verbose and report it.",
        ],
      ]);
    });

    it('prints the stack of an unexpected error with --verbose', async () => {
      process.env.NX_VERBOSE_LOGGING = 'true';
      const error = new Error('boom');
      await runExecutor('build', async () => {
        throw error;
      });
      expect(jest.mocked(logger.error).mock.calls).toEqual([
        [
          '@ml/docker:build: unexpected error: boom. Rerun with --verbose and report it.',
        ],
        [error.stack],
      ]);
    });

    it('reports a thrown value that is not an Error', async () => {
      await expect(
        runExecutor('build', async () => {
          throw 'plain string';
        }),
      ).resolves.toEqual({ success: false });
      expect(logger.error).toHaveBeenCalledWith(
        '@ml/docker:build: unexpected error: plain string. Rerun with --verbose and report it.',
      );
    });
  });

  describe('signals', () => {
    it('listens to no signal when there is nothing to clean up', async () => {
      let during: ReturnType<typeof listeners> | undefined;
      await runExecutor('build', async () => {
        during = listeners();
      });
      expect(during).toEqual(counts);
    });

    it.each<['SIGINT' | 'SIGTERM', number]>([
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ])('on %s, cleans up and then exits with %i', async (signal, code) => {
      const order: string[] = [];
      const onInterrupt = jest.fn(() => order.push('cleanup'));
      exit.mockImplementation(((c: number) => {
        order.push(`exit ${c}`);
      }) as never);
      await runExecutor(
        'test',
        async () => {
          expect(listeners()[signal]).toBe(counts[signal] + 1);
          deliver(signal);
        },
        { onInterrupt },
      );
      expect(onInterrupt).toHaveBeenCalledTimes(1);
      expect(exit).toHaveBeenCalledWith(code);
      expect(order).toEqual(['cleanup', `exit ${code}`]);
    });

    it.each([
      ['the body returns', async () => undefined],
      [
        'the body throws',
        async () => {
          throw new UserFacingError('no');
        },
      ],
    ])('removes its listeners once %s', async (_label, body) => {
      const onInterrupt = jest.fn();
      let during: ReturnType<typeof listeners> | undefined;
      await runExecutor(
        'test',
        async () => {
          during = listeners();
          await body();
        },
        { onInterrupt },
      );
      expect(during).toEqual({
        SIGINT: counts.SIGINT + 1,
        SIGTERM: counts.SIGTERM + 1,
      });
      expect(listeners()).toEqual(counts);
      // A signal after the executor finished is not its business.
      deliver('SIGINT');
      expect(onInterrupt).not.toHaveBeenCalled();
      expect(exit).not.toHaveBeenCalled();
    });

    it('cleans up only the executor that is running', async () => {
      const first = jest.fn();
      const second = jest.fn();
      await runExecutor('test', async () => undefined, { onInterrupt: first });
      await runExecutor(
        'test',
        async () => {
          deliver('SIGTERM');
        },
        { onInterrupt: second },
      );
      expect(first).not.toHaveBeenCalled();
      expect(second).toHaveBeenCalledTimes(1);
    });
  });
});
