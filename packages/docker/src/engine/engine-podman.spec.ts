/**
 * The Podman and buildx-builder parts of the engine adapters: command lines,
 * registry and run flags, limits, detection, mode and builder selection,
 * image inspection and descriptions. The process layer is mocked, so every
 * command line is asserted exactly.
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  buildCommand,
  BuildSpec,
  isLoopbackRegistry,
  registryFlags,
  runFlags,
} from './commands';
import {
  describeEngine,
  detectEngine,
  engineKindFor,
  podmanClient,
  podmanUlimits,
  RequestedBuildMode,
  withBuildMode,
  withBuildxBuilder,
} from './detection';
import { Engine, EngineKind } from './engine';
import { inspectImage } from './image-inspection';
import { UserFacingError } from '../errors/errors';
import { run, RunResult } from '../process/process';

jest.mock('../process/process');

const runMock = jest.mocked(run);

function result(exitCode: number, stdout = '', stderr = ''): RunResult {
  return {
    command: '',
    exitCode,
    stdout,
    stderr,
    all: [stdout, stderr].filter(Boolean).join('\n'),
    timedOut: false,
  };
}

const LIMITS_COMMAND: [string, string[], { timeoutMs: number }] = [
  '/bin/sh',
  ['-c', 'ulimit -Hn; ulimit -Hu; cat /proc/sys/kernel/pid_max'],
  { timeoutMs: 5_000 },
];

const PODMAN_VERSION_ARGS = ['version', '--format', '{{.Client.Version}}'];

const PODMAN_MISSING =
  'engine "podman" was requested but podman is not installed (not on PATH). Install it (on Debian: apt-get install podman), set ML_DOCKER_PODMAN to its path, or set engine to "auto".';

const podmanEngine: Engine = {
  kind: 'podman',
  client: '/usr/bin/podman',
  host: 'local store',
  mode: 'podman',
  clientVersion: '5.4.2',
  serverVersion: '5.4.2',
  ulimits: ['nofile=524288:524288', 'nproc=4194304:4194304'],
};

const dockerEngine: Engine = {
  kind: 'docker',
  client: '/usr/bin/docker',
  host: 'unix:///var/run/docker.sock',
  mode: 'buildx',
  clientVersion: '28.3.2',
  serverVersion: '28.3.2',
};

const DOCKER_DOWN =
  'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?';

/** The outcome of thrown errors: the UserFacingError's message, or a rethrow. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserFacingError);
  return (error as Error).message;
}

function syncRefusal(fn: () => unknown): string {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(UserFacingError);
  return (error as Error).message;
}

describe('engine: Podman and buildx builders', () => {
  let dir: string;

  beforeEach(() => {
    runMock.mockReset();
    dir = mkdtempSync(join(tmpdir(), 'ml-docker-podman-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A file `name` (executable unless `mode` says otherwise) in `folder` under `dir`. */
  function executable(folder: string, name: string, mode = 0o755): string {
    mkdirSync(join(dir, folder), { recursive: true });
    const file = join(dir, folder, name);
    writeFileSync(file, '#!/bin/sh\nexit 0\n');
    chmodSync(file, mode);
    return file;
  }

  describe('buildCommand in podman mode', () => {
    const client = '/usr/bin/podman';
    const minimal: BuildSpec = {
      context: '/ws/apps/synth',
      dockerfile: '/ws/apps/synth/docker/training/Dockerfile',
      tags: [],
    };

    it('builds Docker-format images keeping every layer, with no environment', () => {
      expect(buildCommand({ client, mode: 'podman' }, minimal)).toEqual({
        file: client,
        args: [
          'build',
          '--layers',
          '--format',
          'docker',
          '--file',
          minimal.dockerfile,
          minimal.context,
        ],
        env: {},
      });
    });

    it('gives RUN steps the engine ulimits, before --file', () => {
      expect(
        buildCommand(
          {
            client,
            mode: 'podman',
            ulimits: ['nofile=524288:524288', 'nproc=63704:63704'],
          },
          minimal,
        ).args,
      ).toEqual([
        'build',
        '--layers',
        '--format',
        'docker',
        '--ulimit',
        'nofile=524288:524288',
        '--ulimit',
        'nproc=63704:63704',
        '--file',
        minimal.dockerfile,
        minimal.context,
      ]);
    });

    it('passes no --ulimit for empty ulimits', () => {
      expect(
        buildCommand({ client, mode: 'podman', ulimits: [] }, minimal).args,
      ).not.toContain('--ulimit');
    });

    it.each<[string, Partial<BuildSpec>, string[]]>([
      [
        'tags',
        { tags: ['r/ml-images/a:latest', 'r/ml-images/a:nx-1'] },
        ['--tag', 'r/ml-images/a:latest', '--tag', 'r/ml-images/a:nx-1'],
      ],
      [
        'buildArgs',
        { buildArgs: { BASE_IMAGE: 'python:3.12-slim', NOTE: '$(id) `x`' } },
        [
          '--build-arg',
          'BASE_IMAGE=python:3.12-slim',
          '--build-arg',
          'NOTE=$(id) `x`',
        ],
      ],
      [
        'labels',
        { labels: { 'org.opencontainers.image.revision': 'abc123' } },
        ['--label', 'org.opencontainers.image.revision=abc123'],
      ],
      ['target', { target: 'runtime' }, ['--target', 'runtime']],
      ['platform', { platform: 'linux/amd64' }, ['--platform', 'linux/amd64']],
      ['pull as --pull=always', { pull: true }, ['--pull=always']],
      ['pull: false', { pull: false }, []],
      ['noCache', { noCache: true }, ['--no-cache']],
      [
        'cacheFrom',
        { cacheFrom: ['127.0.0.1:5000/cache/a', 'r/cache/a'] },
        ['--cache-from', '127.0.0.1:5000/cache/a', '--cache-from', 'r/cache/a'],
      ],
      [
        'cacheTo',
        { cacheTo: ['127.0.0.1:5000/cache/a'] },
        ['--cache-to', '127.0.0.1:5000/cache/a'],
      ],
      [
        'insecureRegistries as --tls-verify=false',
        { insecureRegistries: true },
        ['--tls-verify=false'],
      ],
      ['insecureRegistries: false', { insecureRegistries: false }, []],
      ['iidFile', { iidFile: '/tmp/x/iid' }, ['--iidfile', '/tmp/x/iid']],
      ['an empty target', { target: '' }, []],
    ])(
      'passes %s between --file and the context',
      (_field, extra, expected) => {
        const { args, env } = buildCommand(
          { client, mode: 'podman' },
          { ...minimal, ...extra },
        );
        const afterFile = args.indexOf('--file') + 2;
        expect(args.slice(0, afterFile)).toEqual([
          'build',
          '--layers',
          '--format',
          'docker',
          '--file',
          minimal.dockerfile,
        ]);
        expect(args.slice(afterFile, -1)).toEqual(expected);
        expect(args[args.length - 1]).toBe(minimal.context);
        expect(env).toEqual({});
      },
    );

    it('orders every field of a full spec, the context last', () => {
      const command = buildCommand(
        { client, mode: 'podman', ulimits: ['nofile=1024:1024'] },
        {
          ...minimal,
          tags: ['127.0.0.1:5000/a:latest'],
          buildArgs: { A: '1' },
          labels: { L: 'v' },
          target: 'runtime',
          platform: 'linux/arm64',
          pull: true,
          noCache: true,
          cacheFrom: ['127.0.0.1:5000/cache/a'],
          cacheTo: ['127.0.0.1:5000/cache/a'],
          insecureRegistries: true,
          iidFile: '/tmp/iid',
        },
      );
      expect(command).toEqual({
        file: client,
        args: [
          'build',
          '--layers',
          '--format',
          'docker',
          '--ulimit',
          'nofile=1024:1024',
          '--file',
          minimal.dockerfile,
          '--tag',
          '127.0.0.1:5000/a:latest',
          '--build-arg',
          'A=1',
          '--label',
          'L=v',
          '--target',
          'runtime',
          '--platform',
          'linux/arm64',
          '--pull=always',
          '--no-cache',
          '--cache-from',
          '127.0.0.1:5000/cache/a',
          '--cache-to',
          '127.0.0.1:5000/cache/a',
          '--tls-verify=false',
          '--iidfile',
          '/tmp/iid',
          minimal.context,
        ],
        env: {},
      });
      expect(command.env).not.toHaveProperty('DOCKER_BUILDKIT');
      expect(command.args).not.toContain('--pull');
      expect(command.args).not.toContain('--progress=plain');
    });

    it('ignores a buildx builder', () => {
      expect(
        buildCommand({ client, mode: 'podman', builder: 'ci' }, minimal).args,
      ).not.toContain('--builder');
    });
  });

  describe('buildCommand with buildx builders and cacheTo', () => {
    const client = '/usr/bin/docker';
    const spec: BuildSpec = {
      context: '/ws/apps/synth',
      dockerfile: '/ws/apps/synth/Dockerfile',
      tags: ['r/a:latest'],
      cacheFrom: ['type=registry,ref=r/a:cache'],
      cacheTo: ['type=registry,ref=r/a:cache,mode=max'],
    };

    it('names the builder right after --load and exports the cache', () => {
      expect(
        buildCommand({ client, mode: 'buildx', builder: 'ci-builder' }, spec),
      ).toEqual({
        file: client,
        args: [
          'buildx',
          'build',
          '--load',
          '--builder',
          'ci-builder',
          '--progress=plain',
          '--file',
          spec.dockerfile,
          '--tag',
          'r/a:latest',
          '--cache-from',
          'type=registry,ref=r/a:cache',
          '--cache-to',
          'type=registry,ref=r/a:cache,mode=max',
          spec.context,
        ],
        env: {},
      });
    });

    it('passes no --builder without one', () => {
      expect(buildCommand({ client, mode: 'buildx' }, spec).args).not.toContain(
        '--builder',
      );
    });

    it.each(['buildkit', 'classic'] as const)(
      'passes no --builder in %s mode',
      (mode) => {
        expect(
          buildCommand({ client, mode, builder: 'ci-builder' }, spec).args,
        ).not.toContain('--builder');
      },
    );

    it('passes several cacheTo entries in order', () => {
      const { args } = buildCommand(
        { client, mode: 'buildx' },
        { ...spec, cacheFrom: [], cacheTo: ['a', 'b'] },
      );
      expect(args.slice(args.indexOf('--cache-to'), -1)).toEqual([
        '--cache-to',
        'a',
        '--cache-to',
        'b',
      ]);
    });
  });

  describe('isLoopbackRegistry', () => {
    it.each<[string, boolean]>([
      ['127.0.0.1:5000/x', true],
      ['127.0.0.1:5000/ml-images/a:latest', true],
      ['127.0.0.1', true],
      ['localhost:5000', true],
      ['localhost:5000/ml-images/a:nx-1', true],
      ['localhost', true],
      ['[::1]:5000', true],
      ['[::1]:5000/x:latest', true],
      ['[::1]', true],
      ['127.1.2.3', true],
      ['127.1.2.3:443/x', true],
      ['python:3.10-slim', false],
      ['python', false],
      ['docker.io/library/python', false],
      ['docker.io/library/python:3.12-slim', false],
      ['us-central1-docker.pkg.dev/p/r', false],
      ['localhostfoo.com', false],
      ['localhostfoo.com/x', false],
      ['localhost.example.com:5000/x', false],
      ['mylocalhost:5000/x', false],
      ['127.0.0.1.nip.io/x', false],
      ['128.0.0.1:5000/x', false],
      ['10.0.0.5:5000/x', false],
      ['[::2]:5000/x', false],
      ['', false],
    ])('%j is loopback: %s', (ref, loopback) => {
      expect(isLoopbackRegistry(ref)).toBe(loopback);
    });
  });

  describe('registryFlags', () => {
    it.each<[EngineKind, string, string[]]>([
      ['podman', '127.0.0.1:5000/ml-images/a:latest', ['--tls-verify=false']],
      ['podman', 'localhost:5000/a', ['--tls-verify=false']],
      ['podman', '[::1]:5000/a', ['--tls-verify=false']],
      ['podman', 'docker.io/library/python:3.12-slim', []],
      ['podman', 'us-central1-docker.pkg.dev/p/r/a:latest', []],
      ['podman', 'localhostfoo.com/a', []],
      ['docker', '127.0.0.1:5000/ml-images/a:latest', []],
      ['docker', 'localhost:5000/a', []],
      ['docker', 'docker.io/library/python', []],
    ])('%s pulling or pushing %s gets %j', (kind, ref, flags) => {
      expect(registryFlags({ kind }, ref)).toEqual(flags);
    });
  });

  describe('runFlags', () => {
    it('gives Podman containers one --ulimit per value, in order', () => {
      expect(
        runFlags({
          kind: 'podman',
          ulimits: ['nofile=524288:524288', 'nproc=63704:63704'],
        }),
      ).toEqual([
        '--ulimit',
        'nofile=524288:524288',
        '--ulimit',
        'nproc=63704:63704',
      ]);
    });

    it.each<[string, Pick<Engine, 'kind' | 'ulimits'>]>([
      ['Podman without ulimits', { kind: 'podman' }],
      ['Podman with empty ulimits', { kind: 'podman', ulimits: [] }],
      ['Docker', { kind: 'docker' }],
      [
        'Docker even with ulimits',
        { kind: 'docker', ulimits: ['nofile=1024:1024'] },
      ],
    ])('gives %s nothing', (_label, engine) => {
      expect(runFlags(engine)).toEqual([]);
    });
  });

  describe('podmanUlimits', () => {
    it.each<[string, [string, string, string], string[]]>([
      [
        'normal limits',
        ['524288', '63704', '4194304'],
        ['nofile=524288:524288', 'nproc=63704:63704'],
      ],
      [
        'values with surrounding whitespace as a shell prints them',
        ['1024\r', ' 4096', '32768 '],
        ['nofile=1024:1024', 'nproc=4096:4096'],
      ],
      [
        'unlimited open files',
        ['unlimited', '63704', '4194304'],
        ['nproc=63704:63704'],
      ],
      [
        'unlimited processes, capped at pid_max',
        ['1048576', 'unlimited', '4194304'],
        ['nofile=1048576:1048576', 'nproc=4194304:4194304'],
      ],
      [
        'processes above pid_max, capped at pid_max',
        ['1048576', '9999999', '32768'],
        ['nofile=1048576:1048576', 'nproc=32768:32768'],
      ],
      [
        'processes equal to pid_max',
        ['1048576', '32768', '32768'],
        ['nofile=1048576:1048576', 'nproc=32768:32768'],
      ],
      [
        'no pid_max',
        ['1048576', '63704', ''],
        ['nofile=1048576:1048576', 'nproc=63704:63704'],
      ],
      [
        'everything unlimited but pid_max',
        ['unlimited', 'unlimited', '32768'],
        ['nproc=32768:32768'],
      ],
      ['everything unlimited', ['unlimited', 'unlimited', ''], []],
      ['nothing reported', ['', '', ''], []],
      ['zero', ['0', '0', '0'], []],
    ])('gives %s', (_label, [nofile, nproc, pidMax], limits) => {
      expect(podmanUlimits(nofile, nproc, pidMax)).toEqual(limits);
    });
  });

  describe('podmanClient', () => {
    it('uses ML_DOCKER_PODMAN alone when set', () => {
      executable('bin', 'podman');
      expect(
        podmanClient({
          ML_DOCKER_PODMAN: '/opt/podman/bin/podman',
          PATH: join(dir, 'bin'),
        }),
      ).toBe('/opt/podman/bin/podman');
    });

    it('finds an executable podman on PATH', () => {
      const file = executable('bin', 'podman');
      expect(podmanClient({ PATH: join(dir, 'bin') })).toBe(file);
    });

    it('takes the first executable podman in PATH order', () => {
      executable('empty', 'docker');
      const b = executable('b', 'podman');
      executable('a', 'podman');
      expect(
        podmanClient({
          PATH: ['', join(dir, 'empty'), join(dir, 'b'), join(dir, 'a')].join(
            delimiter,
          ),
        }),
      ).toBe(b);
    });

    it('skips a podman file that is not executable', () => {
      executable('plain', 'podman', 0o644);
      const x = executable('x', 'podman');
      expect(
        podmanClient({
          PATH: [join(dir, 'plain'), join(dir, 'x')].join(delimiter),
        }),
      ).toBe(x);
    });

    it.each<[string, () => NodeJS.ProcessEnv]>([
      ['PATH has no podman', () => ({ PATH: dir })],
      ['PATH is empty', () => ({ PATH: '' })],
      ['there is no PATH', () => ({})],
    ])('finds none when %s', (_label, env) => {
      expect(podmanClient(env())).toBeUndefined();
    });
  });

  describe('detectEngine', () => {
    /** podman answers `version`; the shell reports limits; docker clients answer as given. */
    function fakeMachine(options: {
      podmanVersion?: RunResult;
      limits?: RunResult;
      docker?: Record<string, RunResult>;
    }): void {
      runMock.mockImplementation(async (file, args) => {
        if (file === '/bin/sh')
          return options.limits ?? result(0, '524288\n63704\n4194304\n');
        if (file.endsWith('podman')) {
          if (args[0] === 'version')
            return options.podmanVersion ?? result(0, '5.4.2\n');
          throw new Error(`unexpected podman ${args.join(' ')}`);
        }
        const answers = options.docker ?? {};
        if (args[0] === 'version')
          return answers[file] ?? result(1, '', DOCKER_DOWN);
        if (args[0] === 'buildx' && args[1] === 'version')
          return result(0, 'github.com/docker/buildx v0.25.0 faf2ea8');
        throw new Error(`unexpected command ${file} ${args.join(' ')}`);
      });
    }

    describe("with 'podman'", () => {
      it('detects Podman with the limits of the calling process', async () => {
        const podman = executable('bin', 'podman');
        fakeMachine({});
        await expect(
          detectEngine({ PATH: join(dir, 'bin') }, 'podman'),
        ).resolves.toEqual({
          kind: 'podman',
          client: podman,
          host: 'local store',
          mode: 'podman',
          clientVersion: '5.4.2',
          serverVersion: '5.4.2',
          ulimits: ['nofile=524288:524288', 'nproc=63704:63704'],
        });
        expect(runMock.mock.calls).toEqual([
          [podman, PODMAN_VERSION_ARGS, { timeoutMs: 20_000 }],
          LIMITS_COMMAND,
        ]);
      });

      it('uses ML_DOCKER_PODMAN and names CONTAINER_HOST', async () => {
        fakeMachine({ podmanVersion: result(0, '4.3.1') });
        const engine = await detectEngine(
          {
            ML_DOCKER_PODMAN: '/opt/podman/bin/podman',
            CONTAINER_HOST: 'unix:///run/user/1000/podman/podman.sock',
          },
          'podman',
        );
        expect(engine).toMatchObject({
          client: '/opt/podman/bin/podman',
          host: 'unix:///run/user/1000/podman/podman.sock',
          clientVersion: '4.3.1',
          serverVersion: '4.3.1',
        });
        expect(runMock.mock.calls[0]).toEqual([
          '/opt/podman/bin/podman',
          PODMAN_VERSION_ARGS,
          { timeoutMs: 20_000 },
        ]);
      });

      it('caps processes at pid_max and skips unlimited open files', async () => {
        fakeMachine({ limits: result(0, 'unlimited\nunlimited\n32768\n') });
        const engine = await detectEngine(
          { ML_DOCKER_PODMAN: '/usr/bin/podman' },
          'podman',
        );
        expect(engine.ulimits).toEqual(['nproc=32768:32768']);
      });

      it('gives no ulimits when the shell reports nothing', async () => {
        fakeMachine({ limits: result(127, '', 'sh: not found') });
        const engine = await detectEngine(
          { ML_DOCKER_PODMAN: '/usr/bin/podman' },
          'podman',
        );
        expect(engine.ulimits).toEqual([]);
      });

      it('never asks Docker', async () => {
        fakeMachine({
          docker: { '/opt/docker/bin/docker': result(0, '28.3.2|28.3.2') },
        });
        await detectEngine(
          {
            ML_DOCKER_PODMAN: '/usr/bin/podman',
            ML_DOCKER_CLIENT: '/opt/docker/bin/docker',
          },
          'podman',
        );
        expect(runMock.mock.calls.map(([file]) => file)).toEqual([
          '/usr/bin/podman',
          '/bin/sh',
        ]);
      });

      it('refuses with what to do when podman is not installed', async () => {
        fakeMachine({});
        expect(await refusal(detectEngine({ PATH: dir }, 'podman'))).toBe(
          PODMAN_MISSING,
        );
        expect(runMock).not.toHaveBeenCalled();
      });

      it.each<[string, RunResult, string]>([
        [
          'exits with a message',
          result(
            125,
            '',
            '\nError: cannot re-exec process: permission denied\nmore detail',
          ),
          'Error: cannot re-exec process: permission denied',
        ],
        ['exits silently', result(125), 'exit 125'],
        [
          'cannot start',
          {
            ...result(0),
            exitCode: undefined,
            spawnError: 'spawn /opt/podman/bin/podman EACCES',
          },
          'spawn /opt/podman/bin/podman EACCES',
        ],
      ])(
        'fails with its message when podman %s',
        async (_label, version, detail) => {
          fakeMachine({ podmanVersion: version });
          expect(
            await refusal(
              detectEngine(
                { ML_DOCKER_PODMAN: '/opt/podman/bin/podman' },
                'podman',
              ),
            ),
          ).toBe(
            `podman at /opt/podman/bin/podman does not answer (${detail}). Check it with: podman info`,
          );
          expect(runMock.mock.calls.map(([file]) => file)).toEqual([
            '/opt/podman/bin/podman',
          ]);
        },
      );
    });

    describe("with 'auto'", () => {
      it('falls back to Podman on PATH when no Docker engine answers', async () => {
        const podman = executable('bin', 'podman');
        fakeMachine({});
        const engine = await detectEngine(
          {
            ML_DOCKER_CLIENT: '/opt/docker/bin/docker',
            PATH: join(dir, 'bin'),
          },
          'auto',
        );
        expect(engine).toEqual({
          kind: 'podman',
          client: podman,
          host: 'local store',
          mode: 'podman',
          clientVersion: '5.4.2',
          serverVersion: '5.4.2',
          ulimits: ['nofile=524288:524288', 'nproc=63704:63704'],
        });
        expect(runMock.mock.calls).toEqual([
          [
            '/opt/docker/bin/docker',
            ['version', '--format', '{{.Client.Version}}|{{.Server.Version}}'],
            { timeoutMs: 20_000 },
          ],
          [podman, PODMAN_VERSION_ARGS, { timeoutMs: 20_000 }],
          LIMITS_COMMAND,
        ]);
      });

      it('falls back to Podman when there is no docker client on PATH', async () => {
        // /usr/bin/docker is probed too; the fake answers it as unreachable.
        const podman = executable('bin', 'podman');
        fakeMachine({});
        const engine = await detectEngine({ PATH: join(dir, 'bin') }, 'auto');
        expect(engine).toMatchObject({
          kind: 'podman',
          client: podman,
          mode: 'podman',
        });
      });

      it('falls back to ML_DOCKER_PODMAN by default (want is auto)', async () => {
        fakeMachine({});
        await expect(
          detectEngine({
            ML_DOCKER_CLIENT: '/opt/docker/bin/docker',
            ML_DOCKER_PODMAN: '/opt/podman/bin/podman',
          }),
        ).resolves.toMatchObject({
          kind: 'podman',
          client: '/opt/podman/bin/podman',
        });
      });

      it('prefers a Docker engine that answers', async () => {
        executable('bin', 'podman');
        fakeMachine({
          docker: { '/opt/docker/bin/docker': result(0, '28.3.2|28.3.2') },
        });
        const engine = await detectEngine(
          {
            ML_DOCKER_CLIENT: '/opt/docker/bin/docker',
            PATH: join(dir, 'bin'),
          },
          'auto',
        );
        expect(engine).toMatchObject({ kind: 'docker', mode: 'buildx' });
        expect(runMock.mock.calls.map(([file]) => file)).not.toContain(
          join(dir, 'bin', 'podman'),
        );
      });

      it("fails with Docker's message when podman is not installed either", async () => {
        fakeMachine({});
        expect(
          await refusal(
            detectEngine(
              { ML_DOCKER_CLIENT: '/opt/docker/bin/docker', PATH: dir },
              'auto',
            ),
          ),
        ).toBe(
          `Docker engine not reachable at unix:///var/run/docker.sock (${DOCKER_DOWN}). Start it (sudo systemctl start docker, or run dockerd) or point DOCKER_HOST at a running engine.`,
        );
      });

      it("fails with Podman's message when the fallback podman fails", async () => {
        fakeMachine({ podmanVersion: result(125, '', 'Error: boom') });
        expect(
          await refusal(
            detectEngine(
              {
                ML_DOCKER_CLIENT: '/opt/docker/bin/docker',
                ML_DOCKER_PODMAN: '/opt/podman/bin/podman',
              },
              'auto',
            ),
          ),
        ).toBe(
          'podman at /opt/podman/bin/podman does not answer (Error: boom). Check it with: podman info',
        );
      });
    });

    describe("with 'docker'", () => {
      it('does not fall back to Podman when no Docker engine answers', async () => {
        const podman = executable('bin', 'podman');
        fakeMachine({});
        expect(
          await refusal(
            detectEngine(
              {
                ML_DOCKER_CLIENT: '/opt/docker/bin/docker',
                PATH: join(dir, 'bin'),
              },
              'docker',
            ),
          ),
        ).toBe(
          `Docker engine not reachable at unix:///var/run/docker.sock (${DOCKER_DOWN}). Start it (sudo systemctl start docker, or run dockerd) or point DOCKER_HOST at a running engine.`,
        );
        const files = runMock.mock.calls.map(([file]) => file);
        expect(files).not.toContain(podman);
        expect(files).not.toContain('/bin/sh');
      });

      it('does not fall back to ML_DOCKER_PODMAN either', async () => {
        fakeMachine({});
        await expect(
          detectEngine(
            {
              ML_DOCKER_CLIENT: '/opt/docker/bin/docker',
              ML_DOCKER_PODMAN: '/opt/podman/bin/podman',
            },
            'docker',
          ),
        ).rejects.toThrow('Docker engine not reachable at ');
        expect(runMock.mock.calls.map(([file]) => file)).toEqual([
          '/opt/docker/bin/docker',
        ]);
      });
    });
  });

  describe('engineKindFor', () => {
    it.each<[RequestedBuildMode, EngineKind | 'auto']>([
      ['auto', 'auto'],
      ['podman', 'podman'],
      ['buildx', 'docker'],
      ['buildkit', 'docker'],
      ['classic', 'docker'],
    ])('asks %s of a %s engine', (requested, kind) => {
      expect(engineKindFor(requested)).toBe(kind);
    });
  });

  describe('withBuildMode', () => {
    it.each<RequestedBuildMode>(['auto', 'podman'])(
      'gives a Podman engine as it is for %s',
      (requested) => {
        expect(withBuildMode(podmanEngine, requested)).toBe(podmanEngine);
      },
    );

    it.each<RequestedBuildMode>(['buildx', 'buildkit', 'classic'])(
      'refuses %s on a Podman engine',
      (requested) => {
        expect(syncRefusal(() => withBuildMode(podmanEngine, requested))).toBe(
          `engine "${requested}" was requested but the engine found is podman 5.4.2 (/usr/bin/podman, local store). Set engine to "auto" to build with whichever engine answers.`,
        );
      },
    );

    it.each<Engine>([
      dockerEngine,
      { ...dockerEngine, mode: 'buildkit', clientVersion: '20.10.24' },
      { ...dockerEngine, mode: 'classic' },
    ])('refuses podman on a Docker engine building with $mode', (engine) => {
      expect(syncRefusal(() => withBuildMode(engine, 'podman'))).toBe(
        `engine "podman" was requested but the engine found is ${describeEngine(engine)}. Set engine to "auto" to build with whichever engine answers.`,
      );
    });

    it('spells out the Docker engine it refuses podman on', () => {
      expect(syncRefusal(() => withBuildMode(dockerEngine, 'podman'))).toBe(
        'engine "podman" was requested but the engine found is engine 28.3.2 at unix:///var/run/docker.sock, client /usr/bin/docker 28.3.2, building with buildx. Set engine to "auto" to build with whichever engine answers.',
      );
    });
  });

  describe('withBuildxBuilder', () => {
    const inspectOutput = [
      'Name:          ci-builder',
      'Driver:        docker-container',
      'Last Activity: 2025-06-01 10:00:00 +0000 UTC',
      '',
      'Nodes:',
      'Name:      ci-builder0',
      'Endpoint:  unix:///var/run/docker.sock',
      'Status:    running',
      'BuildKit:  v0.22.0',
    ].join('\n');

    it.each<Engine>([
      { ...dockerEngine, mode: 'classic' },
      { ...dockerEngine, mode: 'buildkit', clientVersion: '20.10.24' },
      podmanEngine,
    ])(
      'refuses the builder option when the engine builds with $mode',
      async (engine) => {
        expect(await refusal(withBuildxBuilder(engine, 'ci-builder'))).toBe(
          `The builder option names buildx builder "ci-builder", but ${describeEngine(engine)}. Install docker buildx, or remove the builder option.`,
        );
        expect(runMock).not.toHaveBeenCalled();
      },
    );

    it('spells out the classic engine it refuses a builder on', async () => {
      expect(
        await refusal(
          withBuildxBuilder({ ...dockerEngine, mode: 'classic' }, 'ci-builder'),
        ),
      ).toBe(
        'The builder option names buildx builder "ci-builder", but engine 28.3.2 at unix:///var/run/docker.sock, client /usr/bin/docker 28.3.2, building with the classic builder (no BuildKit available). Install docker buildx, or remove the builder option.',
      );
    });

    it.each<Engine>([{ ...dockerEngine, mode: 'classic' }, podmanEngine])(
      'gives a $mode engine as it is without a builder option',
      async (engine) => {
        await expect(withBuildxBuilder(engine)).resolves.toBe(engine);
        expect(runMock).not.toHaveBeenCalled();
      },
    );

    it('inspects the named builder and reads its driver', async () => {
      runMock.mockResolvedValue(result(0, inspectOutput));
      await expect(
        withBuildxBuilder(dockerEngine, 'ci-builder'),
      ).resolves.toEqual({
        ...dockerEngine,
        builder: 'ci-builder',
        buildxDriver: 'docker-container',
      });
      expect(runMock.mock.calls).toEqual([
        [
          '/usr/bin/docker',
          ['buildx', 'inspect', 'ci-builder'],
          { timeoutMs: 30_000 },
        ],
      ]);
    });

    it('inspects the current builder without a builder option', async () => {
      runMock.mockResolvedValue(
        result(0, 'Name:   default\nDriver: docker\n\nNodes:\nName: default\n'),
      );
      const engine = await withBuildxBuilder(dockerEngine);
      expect(engine.builder).toBeUndefined();
      expect(engine.buildxDriver).toBe('docker');
      expect(engine).toEqual({ ...dockerEngine, buildxDriver: 'docker' });
      expect(runMock.mock.calls).toEqual([
        ['/usr/bin/docker', ['buildx', 'inspect'], { timeoutMs: 30_000 }],
      ]);
    });

    it('leaves the driver unknown when inspect prints none', async () => {
      runMock.mockResolvedValue(result(0, 'Name: ci-builder\n'));
      const engine = await withBuildxBuilder(dockerEngine, 'ci-builder');
      expect(engine.builder).toBe('ci-builder');
      expect(engine.buildxDriver).toBeUndefined();
    });

    it('leaves the engine it was given as it was', async () => {
      runMock.mockResolvedValue(result(0, inspectOutput));
      const given = { ...dockerEngine };
      await withBuildxBuilder(given, 'ci-builder');
      expect(given).toEqual(dockerEngine);
    });

    it.each<[string, RunResult, string]>([
      [
        'with a message',
        result(1, '', 'ERROR: no builder "ci-builder" found\n'),
        'ERROR: no builder "ci-builder" found',
      ],
      ['silently', result(1), 'exit 1'],
    ])(
      'refuses a named builder whose inspect fails %s',
      async (_label, inspect, detail) => {
        runMock.mockResolvedValue(inspect);
        expect(
          await refusal(withBuildxBuilder(dockerEngine, 'ci-builder')),
        ).toBe(
          `buildx builder "ci-builder" is not available (${detail}). Create it (docker buildx create --name ci-builder --driver docker-container) or fix the builder option.`,
        );
      },
    );

    it('keeps the engine when inspecting the current builder fails', async () => {
      runMock.mockResolvedValue(result(1, '', 'ERROR: something'));
      await expect(withBuildxBuilder(dockerEngine)).resolves.toBe(dockerEngine);
    });
  });

  describe('inspectImage', () => {
    const base = {
      Id: 'sha256:abc',
      Size: 42,
      RepoTags: ['localhost/a:latest'],
      RepoDigests: [],
    };
    const test = [
      'CMD-SHELL',
      'curl -f http://localhost:8000/health || exit 1',
    ];

    async function inspected(raw: object) {
      runMock.mockResolvedValue(result(0, JSON.stringify([raw])));
      return inspectImage(podmanEngine, 'localhost/a:latest');
    }

    it("reads Podman's HEALTHCHECK beside Config", async () => {
      const info = await inspected({
        ...base,
        Config: { User: '10001', WorkingDir: '/app', Cmd: ['serve'] },
        Healthcheck: { Test: test, Timeout: 5e9, Interval: 30e9 },
      });
      expect(info).toEqual({
        id: 'sha256:abc',
        size: 42,
        repoTags: ['localhost/a:latest'],
        repoDigests: [],
        user: '10001',
        workingDir: '/app',
        exposedPorts: [],
        healthcheck: { test, timeoutNs: 5e9 },
        cmd: ['serve'],
        entrypoint: [],
        labels: {},
        layers: [],
      });
      expect(runMock.mock.calls).toEqual([
        ['/usr/bin/podman', ['image', 'inspect', 'localhost/a:latest'], {}],
      ]);
    });

    it("reads Docker's Config.Healthcheck", async () => {
      const info = await inspected({
        ...base,
        Config: { Healthcheck: { Test: test, Timeout: 3e9 } },
      });
      expect(info?.healthcheck).toEqual({ test, timeoutNs: 3e9 });
    });

    it('prefers Config.Healthcheck when both are there', async () => {
      const info = await inspected({
        ...base,
        Config: { Healthcheck: { Test: ['CMD', 'a'], Timeout: 1e9 } },
        Healthcheck: { Test: ['CMD', 'b'], Timeout: 2e9 },
      });
      expect(info?.healthcheck).toEqual({ test: ['CMD', 'a'], timeoutNs: 1e9 });
    });

    it('reads a Podman HEALTHCHECK without a timeout', async () => {
      const info = await inspected({
        ...base,
        Config: { Healthcheck: null },
        Healthcheck: { Test: test },
      });
      expect(info?.healthcheck).toEqual({ test, timeoutNs: undefined });
    });

    it.each<[string, object]>([
      ['no Config', { ...base }],
      ['neither healthcheck', { ...base, Config: {} }],
      ['a healthcheck without Test', { ...base, Config: {}, Healthcheck: {} }],
    ])('finds no healthcheck with %s', async (_label, raw) => {
      expect((await inspected(raw))?.healthcheck).toBeUndefined();
    });
  });

  describe('describeEngine', () => {
    it.each<[string, Engine, string]>([
      [
        'Podman on its local store',
        podmanEngine,
        'podman 5.4.2 (/usr/bin/podman, local store)',
      ],
      [
        'Podman behind CONTAINER_HOST',
        {
          ...podmanEngine,
          client: '/opt/podman/bin/podman',
          host: 'unix:///run/user/1000/podman/podman.sock',
          clientVersion: '4.3.1',
        },
        'podman 4.3.1 (/opt/podman/bin/podman, unix:///run/user/1000/podman/podman.sock)',
      ],
      [
        'buildx with a builder and its driver',
        {
          ...dockerEngine,
          builder: 'ci-builder',
          buildxDriver: 'docker-container',
        },
        'engine 28.3.2 at unix:///var/run/docker.sock, client /usr/bin/docker 28.3.2, building with buildx (builder ci-builder, driver docker-container)',
      ],
      [
        'buildx with a builder of unknown driver',
        { ...dockerEngine, builder: 'ci-builder' },
        'engine 28.3.2 at unix:///var/run/docker.sock, client /usr/bin/docker 28.3.2, building with buildx (builder ci-builder)',
      ],
      [
        "buildx with the current builder's driver",
        { ...dockerEngine, buildxDriver: 'docker' },
        'engine 28.3.2 at unix:///var/run/docker.sock, client /usr/bin/docker 28.3.2, building with buildx (driver docker)',
      ],
      [
        'buildx with neither',
        dockerEngine,
        'engine 28.3.2 at unix:///var/run/docker.sock, client /usr/bin/docker 28.3.2, building with buildx',
      ],
      [
        'a builder left over on a classic engine',
        {
          ...dockerEngine,
          mode: 'classic',
          builder: 'ci-builder',
          buildxDriver: 'docker-container',
        },
        'engine 28.3.2 at unix:///var/run/docker.sock, client /usr/bin/docker 28.3.2, building with the classic builder (no BuildKit available)',
      ],
    ])('describes %s', (_label, engine, text) => {
      expect(describeEngine(engine)).toBe(text);
    });
  });
});
