import {
  containerName,
  ContainerSession,
  ownerLabelArgs,
} from './container-session';
import { run, runDetached, RunResult, runSync } from '../process/process';
import { CLIENT, fakeEngine } from '../testing/fakes';

jest.mock('../process/process');

const runMock = jest.mocked(run);
const runSyncMock = jest.mocked(runSync);
const runDetachedMock = jest.mocked(runDetached);

const ENGINE = fakeEngine();

function result(exitCode: number, stdout = '', all = stdout): RunResult {
  return {
    command: '',
    exitCode,
    stdout,
    stderr: '',
    all,
    timedOut: false,
  };
}

describe('container session', () => {
  let session: ContainerSession;

  beforeEach(() => {
    runMock.mockReset();
    runSyncMock.mockReset();
    runDetachedMock.mockReset();
    runMock.mockResolvedValue(result(0));
    session = new ContainerSession(ENGINE);
  });

  describe('containerName', () => {
    it('starts with mld-, then project and image, then 8 random hex digits', () => {
      expect(containerName('synth', 'inference')).toMatch(
        /^mld-synth-inference-[0-9a-f]{8}$/,
      );
    });

    it('gives a new name each time', () => {
      expect(containerName('synth', 'inference')).not.toBe(
        containerName('synth', 'inference'),
      );
    });

    it('keeps only what Docker accepts in a name, in lowercase', () => {
      expect(containerName('@Acme/Synth App', 'Inference')).toMatch(
        /^mld--acme-synth-app-inference-[0-9a-f]{8}$/,
      );
    });

    it('cuts a long project and image name to 40 characters', () => {
      const name = containerName('p'.repeat(60), 'inference');
      expect(name).toMatch(new RegExp(`^mld-${'p'.repeat(40)}-[0-9a-f]{8}$`));
    });
  });

  it('labels every container with its owner and purpose', () => {
    expect(ownerLabelArgs('test')).toEqual(['--label', 'ml-docker.owner=test']);
    expect(ownerLabelArgs('train')).toEqual([
      '--label',
      'ml-docker.owner=train',
    ]);
  });

  describe('track', () => {
    it('starts a detached reaper that removes the container once this process ends', () => {
      session.track('mld-synth-inference-1');
      expect(runDetachedMock).toHaveBeenCalledTimes(1);
      const [file, args] = runDetachedMock.mock.calls[0];
      expect(file).toBe('/bin/sh');
      expect(args).toEqual([
        '-c',
        expect.any(String),
        'ml-docker-reaper',
        String(process.pid),
        CLIENT,
        'mld-synth-inference-1',
      ]);
      const script = args[1];
      expect(script).toContain('kill -0 "$1"');
      expect(script).toContain('"$2" rm -f -v "$3"');
      expect(script.trim().endsWith('&')).toBe(true);
    });

    it('passes the container name as an argument, never inside the script', () => {
      session.track('mld-x-$(id)');
      const args = runDetachedMock.mock.calls[0][1];
      expect(args[1]).not.toContain('mld-x');
      expect(args[args.length - 1]).toBe('mld-x-$(id)');
    });
  });

  describe('remove and removeAllNow', () => {
    it('removes a container with its volumes', async () => {
      session.track('c1');
      await session.remove('c1');
      expect(runMock.mock.calls).toEqual([
        [CLIENT, ['rm', '-f', '-v', 'c1'], { timeoutMs: 30_000 }],
      ]);
    });

    it('removes every live container synchronously, once', () => {
      session.track('c1');
      session.track('c2');
      session.removeAllNow();
      expect(runSyncMock.mock.calls).toEqual([
        [CLIENT, ['rm', '-f', '-v', 'c1']],
        [CLIENT, ['rm', '-f', '-v', 'c2']],
      ]);
      expect(runMock).not.toHaveBeenCalled();
      session.removeAllNow();
      expect(runSyncMock).toHaveBeenCalledTimes(2);
    });

    it('leaves out a container already removed', async () => {
      session.track('c1');
      session.track('c2');
      await session.remove('c1');
      session.removeAllNow();
      expect(runSyncMock.mock.calls).toEqual([
        [CLIENT, ['rm', '-f', '-v', 'c2']],
      ]);
    });

    it('removes nothing when no container was tracked', () => {
      session.removeAllNow();
      expect(runSyncMock).not.toHaveBeenCalled();
    });

    it("keeps each session's containers to itself", () => {
      const other = new ContainerSession({
        ...ENGINE,
        client: '/other/docker',
      });
      session.track('mine');
      other.track('theirs');
      other.removeAllNow();
      expect(runSyncMock.mock.calls).toEqual([
        ['/other/docker', ['rm', '-f', '-v', 'theirs']],
      ]);
    });
  });

  describe('lastLogLines', () => {
    it('gives the last lines the container wrote, trimmed', async () => {
      runMock.mockResolvedValue(result(0, '', '\nTraceback\n  boom\n\n'));
      await expect(session.lastLogLines('c1')).resolves.toBe(
        'Traceback\n  boom',
      );
      expect(runMock).toHaveBeenCalledWith(
        CLIENT,
        ['logs', '--tail', '30', 'c1'],
        { timeoutMs: 10_000 },
      );
    });

    it('asks for as many lines as told', async () => {
      await session.lastLogLines('c1', 5);
      expect(runMock.mock.calls[0][1]).toEqual(['logs', '--tail', '5', 'c1']);
    });
  });

  describe('state', () => {
    it('reads the state of the container', async () => {
      runMock.mockResolvedValue(
        result(
          0,
          JSON.stringify({
            Status: 'exited',
            Running: false,
            ExitCode: 137,
            OOMKilled: true,
            Health: { Status: 'unhealthy' },
          }),
        ),
      );
      await expect(session.state('c1')).resolves.toEqual({
        status: 'exited',
        running: false,
        exitCode: 137,
        health: 'unhealthy',
        oomKilled: true,
      });
      expect(runMock).toHaveBeenCalledWith(
        CLIENT,
        ['container', 'inspect', '--format', '{{json .State}}', 'c1'],
        { timeoutMs: 10_000 },
      );
    });

    it('reads a running container without a healthcheck', async () => {
      runMock.mockResolvedValue(
        result(
          0,
          JSON.stringify({ Status: 'running', Running: true, ExitCode: 0 }),
        ),
      );
      await expect(session.state('c1')).resolves.toEqual({
        status: 'running',
        running: true,
        exitCode: 0,
        health: undefined,
        oomKilled: false,
      });
    });

    it('gives undefined for a container that is gone', async () => {
      runMock.mockResolvedValue(result(1, '', 'Error: No such container: c1'));
      await expect(session.state('c1')).resolves.toBeUndefined();
    });
  });

  describe('publishedPort', () => {
    it.each<[string, string, number | undefined]>([
      ['the port on 127.0.0.1', '127.0.0.1:49153', 49153],
      [
        'the 127.0.0.1 line among others',
        '[::1]:49160\n127.0.0.1:49154',
        49154,
      ],
      ['nothing for a port on all interfaces', '0.0.0.0:49153', undefined],
      ['nothing when the port is not published', '', undefined],
    ])('gives %s', async (_label, stdout, port) => {
      runMock.mockResolvedValue(result(0, stdout));
      await expect(session.publishedPort('c1', 8000)).resolves.toBe(port);
      expect(runMock).toHaveBeenCalledWith(CLIENT, ['port', 'c1', '8000/tcp'], {
        timeoutMs: 10_000,
      });
    });
  });
});
