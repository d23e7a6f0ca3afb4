import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { buildCommand, BuildSpec, needsBuildKit } from './commands';
import {
  candidateClients,
  describeEngine,
  detectEngine,
  RequestedBuildMode,
  withBuildMode,
} from './detection';
import { BuildMode, docker, Engine, firstLine } from './engine';
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

/** A fake docker client: what `version` and `buildx version` answer. */
interface FakeClient {
  version: RunResult;
  buildx: RunResult;
}

function fakeClients(clients: Record<string, FakeClient>): void {
  runMock.mockImplementation(async (file, args) => {
    const client = clients[file];
    if (!client)
      return result(
        1,
        '',
        'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
      );
    if (args[0] === 'version') return client.version;
    if (args[0] === 'buildx' && args[1] === 'version') return client.buildx;
    throw new Error(`unexpected command ${file} ${args.join(' ')}`);
  });
}

const reachable = (clientVersion: string, buildx: boolean): FakeClient => ({
  version: result(0, `${clientVersion}|28.3.2`),
  buildx: buildx
    ? result(0, 'github.com/docker/buildx v0.25.0 faf2ea8')
    : result(1, '', "docker: 'buildx' is not a docker command."),
});

describe('engine', () => {
  describe('buildCommand', () => {
    const minimal: BuildSpec = {
      context: '/ws/apps/synth',
      dockerfile: '/ws/apps/synth/docker/training/Dockerfile',
      tags: [],
    };
    const client = '/usr/bin/docker';

    it.each<[BuildMode, string[], Record<string, string>]>([
      ['buildx', ['buildx', 'build', '--load', '--progress=plain'], {}],
      ['buildkit', ['build', '--progress=plain'], { DOCKER_BUILDKIT: '1' }],
      ['classic', ['build'], { DOCKER_BUILDKIT: '0' }],
    ])('builds with %s using %j and env %j', (mode, prefix, env) => {
      expect(buildCommand({ client, mode }, minimal)).toEqual({
        file: client,
        args: [...prefix, '--file', minimal.dockerfile, minimal.context],
        env,
      });
    });

    it.each<[string, Partial<BuildSpec>, string[]]>([
      [
        'tags',
        { tags: ['r/ml-images/a:latest', 'r/ml-images/a:nx-1'] },
        ['--tag', 'r/ml-images/a:latest', '--tag', 'r/ml-images/a:nx-1'],
      ],
      [
        'buildArgs',
        { buildArgs: { BASE_IMAGE: 'python:3.12-slim', PIP_NO_INDEX: '1' } },
        [
          '--build-arg',
          'BASE_IMAGE=python:3.12-slim',
          '--build-arg',
          'PIP_NO_INDEX=1',
        ],
      ],
      [
        'labels',
        { labels: { 'org.opencontainers.image.revision': 'abc123' } },
        ['--label', 'org.opencontainers.image.revision=abc123'],
      ],
      ['target', { target: 'runtime' }, ['--target', 'runtime']],
      ['platform', { platform: 'linux/amd64' }, ['--platform', 'linux/amd64']],
      ['pull', { pull: true }, ['--pull']],
      ['pull: false', { pull: false }, []],
      ['noCache', { noCache: true }, ['--no-cache']],
      ['noCache: false', { noCache: false }, []],
      [
        'cacheFrom',
        { cacheFrom: ['r/a:latest', 'r/a:main'] },
        ['--cache-from', 'r/a:latest', '--cache-from', 'r/a:main'],
      ],
      ['iidFile', { iidFile: '/tmp/x/iid' }, ['--iidfile', '/tmp/x/iid']],
      ['an empty target', { target: '' }, []],
      [
        'secrets, by variable name or file path (never the value)',
        {
          secrets: [
            { id: 'pip-index-url', env: 'PIP_INDEX_URL' },
            { id: 'netrc', src: '/home/me/.netrc' },
          ],
        },
        [
          '--secret',
          'id=pip-index-url,env=PIP_INDEX_URL',
          '--secret',
          'id=netrc,src=/home/me/.netrc',
        ],
      ],
      ['network host', { network: 'host' }, ['--network', 'host']],
      ['network none', { network: 'none' }, ['--network', 'none']],
      ['the default network', { network: 'default' }, []],
    ])(
      'passes %s between --file and the context, in every mode',
      (_field, extra, expected) => {
        for (const mode of ['buildx', 'buildkit', 'classic'] as const) {
          const { args } = buildCommand(
            { client, mode },
            { ...minimal, ...extra },
          );
          const afterFile = args.indexOf('--file') + 2;
          expect(args.slice(afterFile, -1)).toEqual(expected);
          expect(args[args.length - 1]).toBe(minimal.context);
        }
      },
    );

    it('orders every field of a full spec', () => {
      const { args } = buildCommand(
        { client, mode: 'buildkit' },
        {
          ...minimal,
          tags: ['r/a:latest'],
          buildArgs: { A: '1' },
          labels: { L: 'v' },
          target: 'runtime',
          platform: 'linux/arm64',
          pull: true,
          noCache: true,
          cacheFrom: ['r/a:cache'],
          iidFile: '/tmp/iid',
        },
      );
      expect(args).toEqual([
        'build',
        '--progress=plain',
        '--file',
        minimal.dockerfile,
        '--tag',
        'r/a:latest',
        '--build-arg',
        'A=1',
        '--label',
        'L=v',
        '--target',
        'runtime',
        '--platform',
        'linux/arm64',
        '--pull',
        '--no-cache',
        '--cache-from',
        'r/a:cache',
        '--iidfile',
        '/tmp/iid',
        minimal.context,
      ]);
    });

    it.each([
      ['spaces', 'two words here'],
      ['quotes', `it's "quoted"`],
      ['command substitution', '$(rm -rf /)'],
      ['backticks', '`id`'],
      ['newlines', 'line1\nline2'],
      ['a semicolon', 'a; rm -rf /'],
    ])(
      'passes build args and labels holding %s literally as one element each',
      (_label, value) => {
        const { args } = buildCommand(
          { client, mode: 'buildx' },
          { ...minimal, buildArgs: { NOTE: value }, labels: { note: value } },
        );
        expect(args).toContain(`NOTE=${value}`);
        expect(args).toContain(`note=${value}`);
        expect(args[args.indexOf(`NOTE=${value}`) - 1]).toBe('--build-arg');
        expect(args[args.indexOf(`note=${value}`) - 1]).toBe('--label');
      },
    );

    it('passes a context and Dockerfile path with spaces as single elements', () => {
      const { args } = buildCommand(
        { client, mode: 'classic' },
        {
          context: '/my ws/app',
          dockerfile: '/my ws/app/docker/x/Dockerfile',
          tags: [],
        },
      );
      expect(args).toEqual([
        'build',
        '--file',
        '/my ws/app/docker/x/Dockerfile',
        '/my ws/app',
      ]);
    });
  });

  describe('needsBuildKit', () => {
    it.each([
      [
        'a syntax directive',
        '# syntax=docker/dockerfile:1\nFROM python:3.10-slim\n',
        'a "# syntax=" directive',
      ],
      [
        'a syntax directive with spaces',
        '#  syntax = docker/dockerfile:1.7\nFROM x\n',
        'a "# syntax=" directive',
      ],
      [
        'RUN --mount=type=cache',
        'FROM x\nRUN --mount=type=cache,target=/root/.cache pip install -r r.txt\n',
        'RUN --mount',
      ],
      [
        'RUN --mount after another flag',
        'FROM x\nRUN --network=none --mount=type=secret,id=t cat /run/secrets/t\n',
        'RUN --mount',
      ],
      [
        'lowercase run --mount',
        'FROM x\nrun --mount=type=cache,target=/c true\n',
        'RUN --mount',
      ],
      ['COPY --link', 'FROM x\nCOPY --link src/ ./src/\n', 'COPY --link'],
      ['ADD --link', 'FROM x\nADD --link a.tar /\n', 'COPY --link'],
      [
        'COPY --chown with --link',
        'FROM x\nCOPY --chown=1:1 --link src/ ./src/\n',
        'COPY --link',
      ],
      ['a RUN heredoc', 'FROM x\nRUN <<EOF\necho hi\nEOF\n', 'a heredoc'],
      [
        'a quoted COPY heredoc',
        "FROM x\nCOPY <<-'CONF' /etc/app.conf\nkey=1\nCONF\n",
        'a heredoc',
      ],
      [
        'CRLF line endings',
        '# syntax=docker/dockerfile:1\r\nFROM x\r\n',
        'a "# syntax=" directive',
      ],
    ])('detects %s', (_label, text, feature) => {
      expect(needsBuildKit(text)).toBe(feature);
    });

    it.each([
      [
        'a plain file',
        'FROM python:3.10-slim\nRUN pip install -r requirements.txt\nCOPY src/ ./src/\nCMD ["python"]\n',
      ],
      [
        'a syntax comment below the first line',
        'FROM x\n# syntax=docker/dockerfile:1\n',
      ],
      ['--mount in an ENV value', 'FROM x\nENV FLAGS=--mount\n'],
      ['a file named like a flag', 'FROM x\nCOPY linked/ ./linked/\n'],
      ['an empty file', ''],
    ])('needs nothing for %s', (_label, text) => {
      expect(needsBuildKit(text)).toBeUndefined();
    });
  });

  describe('candidateClients', () => {
    let dir: string;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'ml-docker-clients-'));
    });

    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    function client(name: string, mode = 0o755): string {
      mkdirSync(join(dir, name), { recursive: true });
      const file = join(dir, name, 'docker');
      writeFileSync(file, '#!/bin/sh\nexit 0\n');
      chmodSync(file, mode);
      return file;
    }

    const ours = (list: string[]) => list.filter((c) => c.startsWith(dir));

    it('lists executable docker files in PATH order', () => {
      const a = client('a');
      const b = client('b');
      expect(
        ours(
          candidateClients({
            PATH: [join(dir, 'b'), join(dir, 'a')].join(delimiter),
          }),
        ),
      ).toEqual([b, a]);
    });

    it('skips a docker file that is not executable', () => {
      client('plain', 0o644);
      const x = client('x');
      expect(
        ours(
          candidateClients({
            PATH: [join(dir, 'plain'), join(dir, 'x')].join(delimiter),
          }),
        ),
      ).toEqual([x]);
    });

    it('lists a client reached twice through a symlink once', () => {
      const real = client('real');
      mkdirSync(join(dir, 'link'));
      symlinkSync(real, join(dir, 'link', 'docker'));
      expect(
        ours(
          candidateClients({
            PATH: [join(dir, 'real'), join(dir, 'link')].join(delimiter),
          }),
        ),
      ).toEqual([real]);
    });

    it('uses ML_DOCKER_CLIENT alone when set', () => {
      client('a');
      expect(
        candidateClients({
          ML_DOCKER_CLIENT: '/opt/docker-20/docker',
          PATH: join(dir, 'a'),
        }),
      ).toEqual(['/opt/docker-20/docker']);
    });
  });

  describe('detectEngine', () => {
    const DEFAULT_HOST = 'unix:///var/run/docker.sock';
    const saved = {
      PATH: process.env.PATH,
      ML_DOCKER_CLIENT: process.env.ML_DOCKER_CLIENT,
      DOCKER_HOST: process.env.DOCKER_HOST,
    };
    let dir: string;
    /** The environment detectEngine is given: PATH points into `dir`. */
    let env: NodeJS.ProcessEnv;

    beforeEach(() => {
      runMock.mockReset();
      dir = mkdtempSync(join(tmpdir(), 'ml-docker-engine-'));
      env = {};
    });

    afterEach(() => {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      rmSync(dir, { recursive: true, force: true });
    });

    /** Executable files named docker in their own folders, put first on PATH. */
    function onPath(...names: string[]): string[] {
      const files = names.map((name) => {
        mkdirSync(join(dir, name));
        const file = join(dir, name, 'docker');
        writeFileSync(file, '#!/bin/sh\nexit 0\n');
        chmodSync(file, 0o755);
        return file;
      });
      env.PATH = names.map((n) => join(dir, n)).join(delimiter);
      return files;
    }

    it.each<[string, BuildMode, FakeClient]>([
      ['buildx is installed', 'buildx', reachable('28.3.2', true)],
      [
        'a 20.10 client has no buildx',
        'buildkit',
        reachable('20.10.24+dfsg1', false),
      ],
      ['a 28 client has no buildx', 'classic', reachable('28.3.2', false)],
      ['a 23.0 client has no buildx', 'classic', reachable('23.0.0', false)],
      ['the client version is unparseable', 'classic', reachable('dev', false)],
    ])('when %s, builds with %s', async (_label, mode, fake) => {
      env.ML_DOCKER_CLIENT = '/opt/docker/bin/docker';
      fakeClients({ '/opt/docker/bin/docker': fake });
      const engine = await detectEngine(env);
      expect(engine).toEqual({
        kind: 'docker',
        client: '/opt/docker/bin/docker',
        host: DEFAULT_HOST,
        mode,
        clientVersion: fake.version.stdout.split('|')[0],
        serverVersion: '28.3.2',
      });
    });

    it('names the engine DOCKER_HOST points at', async () => {
      env.ML_DOCKER_CLIENT = '/opt/docker/bin/docker';
      env.DOCKER_HOST = 'ssh://ci@build-host';
      fakeClients({ '/opt/docker/bin/docker': reachable('28.3.2', true) });
      expect((await detectEngine(env)).host).toBe('ssh://ci@build-host');
    });

    it("reads this process's environment when given none", async () => {
      process.env.ML_DOCKER_CLIENT = '/opt/docker/bin/docker';
      process.env.DOCKER_HOST = 'tcp://127.0.0.1:2375';
      fakeClients({ '/opt/docker/bin/docker': reachable('28.3.2', true) });
      await expect(detectEngine()).resolves.toMatchObject({
        client: '/opt/docker/bin/docker',
        host: 'tcp://127.0.0.1:2375',
        mode: 'buildx',
      });
    });

    it('asks the client for its versions and for buildx with these exact command lines', async () => {
      env.ML_DOCKER_CLIENT = '/opt/docker/bin/docker';
      fakeClients({ '/opt/docker/bin/docker': reachable('28.3.2', true) });
      await detectEngine(env);
      expect(runMock.mock.calls).toEqual([
        [
          '/opt/docker/bin/docker',
          ['version', '--format', '{{.Client.Version}}|{{.Server.Version}}'],
          { timeoutMs: 20_000 },
        ],
        [
          '/opt/docker/bin/docker',
          ['buildx', 'version'],
          { timeoutMs: 10_000 },
        ],
      ]);
    });

    it.each<[string, Array<[string, FakeClient]>, string, BuildMode]>([
      [
        'a buildkit client after a classic one',
        [
          ['classic', reachable('28.3.2', false)],
          ['old', reachable('20.10.24', false)],
        ],
        'old',
        'buildkit',
      ],
      [
        'a buildx client after classic and buildkit ones',
        [
          ['classic', reachable('28.3.2', false)],
          ['old', reachable('20.10.24', false)],
          ['bx', reachable('27.5.1', true)],
        ],
        'bx',
        'buildx',
      ],
      [
        'the first of two equally good clients',
        [
          ['old1', reachable('20.10.5', false)],
          ['old2', reachable('19.03.15', false)],
        ],
        'old1',
        'buildkit',
      ],
      [
        'a reachable client after an unreachable one',
        [
          [
            'down',
            {
              version: result(1, '', 'Cannot connect to the Docker daemon'),
              buildx: result(1),
            },
          ],
          ['up', reachable('28.3.2', false)],
        ],
        'up',
        'classic',
      ],
    ])('prefers %s on PATH', async (_label, clients, winner, mode) => {
      const files = onPath(...clients.map(([name]) => name));
      fakeClients(
        Object.fromEntries(clients.map(([, fake], i) => [files[i], fake])),
      );
      const engine = await detectEngine(env);
      expect(engine.client).toBe(join(dir, winner, 'docker'));
      expect(engine.mode).toBe(mode);
    });

    it('stops probing at the first client with buildx', async () => {
      const [bx, other] = onPath('bx', 'other');
      fakeClients({
        [bx]: reachable('28.3.2', true),
        [other]: reachable('20.10.24', false),
      });
      await detectEngine(env);
      expect(runMock.mock.calls.map(([file]) => file)).not.toContain(other);
    });

    it('detects afresh on every call: nothing is remembered between tasks', async () => {
      env.ML_DOCKER_CLIENT = '/opt/docker/bin/docker';
      fakeClients({ '/opt/docker/bin/docker': reachable('28.3.2', true) });
      const first = await detectEngine(env);
      expect(first.mode).toBe('buildx');
      expect(runMock).toHaveBeenCalledTimes(2);

      fakeClients({ '/opt/docker/bin/docker': reachable('20.10.24', false) });
      const second = await detectEngine(env);
      expect(second.mode).toBe('buildkit');
      expect(runMock).toHaveBeenCalledTimes(4);
      expect(first.mode).toBe('buildx');
    });

    it.each([
      [
        'exits 1',
        result(
          1,
          '',
          'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
        ),
      ],
      [
        'prints no server version',
        result(
          0,
          '28.3.2|',
          'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
        ),
      ],
    ])(
      'fails with what to do when the version command %s',
      async (_label, version) => {
        env.ML_DOCKER_CLIENT = '/opt/docker/bin/docker';
        fakeClients({
          '/opt/docker/bin/docker': { version, buildx: result(0) },
        });
        const error = await detectEngine(env).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UserFacingError);
        expect((error as Error).message).toBe(
          'Docker engine not reachable at unix:///var/run/docker.sock (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?). Start it (sudo systemctl start docker, or run dockerd) or point DOCKER_HOST at a running engine.',
        );
      },
    );

    it('names DOCKER_HOST and the spawn error when the client cannot start', async () => {
      env.ML_DOCKER_CLIENT = '/nowhere/docker';
      env.DOCKER_HOST = 'tcp://127.0.0.1:2375';
      runMock.mockResolvedValue({
        ...result(0),
        exitCode: undefined,
        spawnError: 'spawn /nowhere/docker ENOENT',
      });
      await expect(detectEngine(env)).rejects.toThrow(
        'Docker engine not reachable at tcp://127.0.0.1:2375 (spawn /nowhere/docker ENOENT)',
      );
    });
  });

  describe('docker', () => {
    beforeEach(() => runMock.mockReset());

    it("runs the engine's client with the arguments and options given", async () => {
      runMock.mockResolvedValue(result(0, 'ok'));
      const engine: Engine = {
        kind: 'docker',
        client: '/opt/docker/bin/docker',
        host: 'unix:///var/run/docker.sock',
        mode: 'buildx',
        clientVersion: '28.3.2',
        serverVersion: '28.3.2',
      };
      await expect(
        docker(engine, ['image', 'ls'], { timeoutMs: 5000 }),
      ).resolves.toEqual(result(0, 'ok'));
      expect(runMock.mock.calls).toEqual([
        ['/opt/docker/bin/docker', ['image', 'ls'], { timeoutMs: 5000 }],
      ]);
    });

    it('runs each engine with its own client', async () => {
      runMock.mockResolvedValue(result(0));
      const base = {
        kind: 'docker' as const,
        host: 'unix:///var/run/docker.sock',
        mode: 'buildx' as const,
        clientVersion: '28.3.2',
        serverVersion: '28.3.2',
      };
      await docker({ ...base, client: '/a/docker' }, ['ps']);
      await docker({ ...base, client: '/b/docker' }, ['ps']);
      expect(runMock.mock.calls.map(([file]) => file)).toEqual([
        '/a/docker',
        '/b/docker',
      ]);
    });
  });

  describe('withBuildMode', () => {
    /** Detects the engine of a machine: buildx or not, and the client's version. */
    async function machine(buildx: boolean, clientVersion = '28.3.2') {
      runMock.mockReset();
      fakeClients({
        '/opt/docker/bin/docker': reachable(clientVersion, buildx),
      });
      return detectEngine({ ML_DOCKER_CLIENT: '/opt/docker/bin/docker' });
    }

    it.each<[string, boolean, string, RequestedBuildMode, BuildMode]>([
      ['auto on a buildx machine', true, '28.3.2', 'auto', 'buildx'],
      ['buildx on a buildx machine', true, '28.3.2', 'buildx', 'buildx'],
      ['classic on a buildx machine', true, '28.3.2', 'classic', 'classic'],
      ['buildkit on a buildx machine', true, '28.3.2', 'buildkit', 'buildkit'],
      ['auto on a buildkit machine', false, '20.10.24', 'auto', 'buildkit'],
      [
        'classic on a buildkit machine',
        false,
        '20.10.24',
        'classic',
        'classic',
      ],
      [
        'buildkit on a buildkit machine',
        false,
        '20.10.24',
        'buildkit',
        'buildkit',
      ],
      ['auto on a classic machine', false, '28.3.2', 'auto', 'classic'],
    ])('gives %s', async (_label, buildx, version, requested, mode) => {
      const engine = await machine(buildx, version);
      const picked = withBuildMode(engine, requested);
      expect(picked.mode).toBe(mode);
      expect(picked).toEqual({ ...engine, mode });
    });

    it('leaves the engine it was given as it was', async () => {
      const engine = await machine(true);
      withBuildMode(engine, 'classic');
      expect(engine.mode).toBe('buildx');
    });

    it.each<[string, boolean, string, RequestedBuildMode]>([
      ['buildx on a classic machine', false, '28.3.2', 'buildx'],
      ['buildkit on a classic machine', false, '28.3.2', 'buildkit'],
      ['buildx on a buildkit machine', false, '20.10.24', 'buildx'],
    ])('refuses %s', async (_label, buildx, version, requested) => {
      const engine = await machine(buildx, version);
      expect(() => withBuildMode(engine, requested)).toThrow(UserFacingError);
      expect(() => withBuildMode(engine, requested)).toThrow(
        `engine "${requested}" was requested but this machine only offers ${describeEngine(engine)}. Install buildx or a Docker client that supports BuildKit, or set engine to "auto".`,
      );
    });
  });

  describe('inspectImage', () => {
    const engine: Engine = {
      kind: 'docker',
      client: '/opt/docker/bin/docker',
      host: 'unix:///var/run/docker.sock',
      mode: 'buildx',
      clientVersion: '28.3.2',
      serverVersion: '28.3.2',
    };

    beforeEach(() => runMock.mockReset());

    function engineAnd(inspect: RunResult) {
      runMock.mockResolvedValue(inspect);
    }

    it('reads the fields of docker image inspect', async () => {
      engineAnd(
        result(
          0,
          JSON.stringify([
            {
              Id: 'sha256:abc',
              Size: 123456,
              RepoTags: ['r/a:latest'],
              RepoDigests: [],
              Config: {
                User: '10001:10001',
                WorkingDir: '/app',
                ExposedPorts: { '8000/tcp': {} },
                Healthcheck: {
                  Test: ['CMD', 'python', '-c', 'x'],
                  Timeout: 30e9,
                },
                Cmd: ['/bin/sh', '-c', 'exec x'],
                Entrypoint: null,
                Labels: { a: 'b' },
              },
              RootFS: { Type: 'layers', Layers: ['sha256:l1', 'sha256:l2'] },
            },
          ]),
        ),
      );
      expect(await inspectImage(engine, 'r/a:latest')).toEqual({
        id: 'sha256:abc',
        size: 123456,
        repoTags: ['r/a:latest'],
        repoDigests: [],
        user: '10001:10001',
        workingDir: '/app',
        exposedPorts: ['8000/tcp'],
        healthcheck: { test: ['CMD', 'python', '-c', 'x'], timeoutNs: 30e9 },
        cmd: ['/bin/sh', '-c', 'exec x'],
        entrypoint: [],
        labels: { a: 'b' },
        layers: ['sha256:l1', 'sha256:l2'],
      });
      expect(runMock.mock.calls).toEqual([
        ['/opt/docker/bin/docker', ['image', 'inspect', 'r/a:latest'], {}],
      ]);
    });

    it('defaults an empty config to root in /, with no ports and no healthcheck', async () => {
      engineAnd(
        result(0, JSON.stringify([{ Id: 'sha256:def', Size: 1, Config: {} }])),
      );
      expect(await inspectImage(engine, 'sha256:def')).toMatchObject({
        user: '',
        workingDir: '/',
        exposedPorts: [],
        healthcheck: undefined,
        cmd: [],
        labels: {},
      });
    });

    it('returns undefined for an image the engine does not have', async () => {
      engineAnd(result(1, '', 'Error: No such image: r/a:missing'));
      expect(await inspectImage(engine, 'r/a:missing')).toBeUndefined();
    });
  });

  describe('describeEngine', () => {
    it.each<[BuildMode, string]>([
      ['buildx', 'building with buildx'],
      ['buildkit', "building with the engine's BuildKit (DOCKER_BUILDKIT=1)"],
      ['classic', 'building with the classic builder (no BuildKit available)'],
    ])('describes %s', (mode, how) => {
      expect(
        describeEngine({
          kind: 'docker',
          client: '/usr/bin/docker',
          host: 'unix:///var/run/docker.sock',
          mode,
          clientVersion: '20.10.24',
          serverVersion: '28.3.2',
        }),
      ).toBe(
        `engine 28.3.2 at unix:///var/run/docker.sock, client /usr/bin/docker 20.10.24, ${how}`,
      );
    });

    it('names the host the engine is at', () => {
      expect(
        describeEngine({
          kind: 'docker',
          client: '/usr/bin/docker',
          host: 'tcp://10.0.0.5:2376',
          mode: 'buildx',
          clientVersion: '28.3.2',
          serverVersion: '28.3.2',
        }),
      ).toContain('engine 28.3.2 at tcp://10.0.0.5:2376, ');
    });
  });

  describe('firstLine', () => {
    it.each([
      ['\n\n  Cannot connect  \nsecond', 'Cannot connect'],
      ['one', 'one'],
      ['', ''],
      ['\n \n', ''],
    ])('finds the first non-blank line of %j', (text, line) => {
      expect(firstLine(text)).toBe(line);
    });
  });
});
