import { ExecutorContext, logger } from '@nx/devkit';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerSession } from './container-session';
import { run, runDetached, RunResult } from '../process/process';
import { testImages } from './test-service';
import type { TestOptions } from './test-options';
import { CLIENT, exited, fakeEngine, ok } from '../testing/fakes';
import { readRecordedRun } from '../record/recorded-images';
import { readTestRecord } from '../record/test-record';

jest.mock('../process/process');

const ENGINE = fakeEngine();
const IMAGE_ID =
  'sha256:3333333333333333333333333333333333333333333333333333333333333333';
const NAME = '127.0.0.1:5000/ml-images/ml-common-lib';

const runMock = jest.mocked(run);
const runDetachedMock = jest.mocked(runDetached);

type Handler = (args: readonly string[]) => RunResult | undefined;

describe('test service: testImages', () => {
  let root: string;
  let context: ExecutorContext;
  let session: ContainerSession;

  /**
   * The engine, with the recorded image configured as `config`; `more`
   * answers the commands a test expects (docker run, port, logs...).
   */
  function engineWithImage(config: Record<string, unknown>, more?: Handler) {
    runMock.mockImplementation(async (file, args) => {
      const line = args.join(' ');
      const answer = file === CLIENT ? more?.(args) : undefined;
      if (answer) return answer;
      if (file === CLIENT && line === `image inspect ${IMAGE_ID}`)
        return ok(
          JSON.stringify([{ Id: IMAGE_ID, Size: 4096, Config: config }]),
        );
      if (file === CLIENT && args[0] === 'rm') return ok(args[3]);
      if (file === CLIENT && args[0] === 'logs') return ok();
      throw new Error(`unexpected command: ${file} ${line}`);
    });
  }

  const calls = (verb: string) =>
    runMock.mock.calls.filter(([, args]) => args[0] === verb);
  /** The name the container was started under (the argument after --name). */
  const started = () => {
    const args = calls('run')[0][1];
    return args[args.indexOf('--name') + 1];
  };

  function writeRecord(images: unknown[]) {
    mkdirSync(join(root, 'dist/docker/libs/ml-common'), { recursive: true });
    writeFileSync(
      join(root, 'dist/docker/libs/ml-common/build-record.json'),
      JSON.stringify({ version: 2, project: 'ml-common', images }),
    );
  }

  const RECORD = {
    image: 'lib',
    dockerfile: 'docker/lib/Dockerfile',
    name: NAME,
    registry: '127.0.0.1:5000',
    tags: ['nx-1', 'latest'],
    contentTag: 'nx-1',
    imageId: IMAGE_ID,
    sizeBytes: 4096,
    durationMs: 1000,
    builtWith: 'buildx',
    createdAt: '2024-05-01T10:00:00.000Z',
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ml-docker-test-ws-'));
    writeRecord([RECORD]);
    context = {
      root,
      cwd: root,
      isVerbose: false,
      projectName: 'ml-common',
      targetName: 'docker-test',
      projectsConfigurations: {
        version: 2,
        projects: {
          'ml-common': {
            root: 'libs/ml-common',
            targets: {
              'docker-build': { executor: '@ml/docker:build', options: {} },
              'docker-test': { executor: '@ml/docker:test', options: {} },
            },
          },
        },
      },
      nxJsonConfiguration: {},
      projectGraph: { nodes: {}, dependencies: {} },
    };
    runMock.mockReset();
    runDetachedMock.mockReset();
    session = new ContainerSession(ENGINE);
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  // As the executor does: the record read once, then the images tested.
  const test = async (options: TestOptions = {}) =>
    testImages(readRecordedRun(context, options), options, context, session);
  const testRecordFile = () =>
    join(root, 'dist/docker/libs/ml-common/test-record.json');

  it.each([
    ['no Cmd and no Entrypoint', {}],
    ['a null Cmd and Entrypoint', { Cmd: null, Entrypoint: null }],
    ['an empty Cmd and Entrypoint', { Cmd: [], Entrypoint: [] }],
  ])(
    'skips an artifact image with %s, without starting a container',
    async (_label, config) => {
      engineWithImage(config);
      await expect(test()).resolves.toBeUndefined();
      expect(logger.info).toHaveBeenCalledWith(
        '@ml/docker: lib has no command: an artifact image, nothing to run',
      );
      expect(calls('run')).toEqual([]);
      expect(runDetachedMock).not.toHaveBeenCalled();
    },
  );

  it.each([
    ['a Cmd', { Cmd: ['python'] }],
    ['an Entrypoint', { Entrypoint: ['/bin/sh'] }],
  ])(
    'tests an image with %s: as root, it is refused',
    async (_label, config) => {
      engineWithImage(config);
      await expect(test()).rejects.toThrow(
        'lib runs as root (USER is "unset").',
      );
      expect(logger.info).not.toHaveBeenCalledWith(
        expect.stringContaining('an artifact image'),
      );
      expect(calls('run')).toEqual([]);
    },
  );

  it('tests a root image when allowRoot is set', async () => {
    engineWithImage(
      { Cmd: ['python', '-m', 'train'], WorkingDir: '/app' },
      (args) => (args[0] === 'run' ? exited(2) : undefined),
    );
    await expect(test({ allowRoot: true })).rejects.toThrow(
      'lib exited with code 2',
    );
  });

  it.each([
    ['docker-build', {}],
    ['the build target the options name', { buildTarget: 'image-build' }],
  ])(
    'tells to build the images first when %s left no record',
    async (_label, options: TestOptions) => {
      rmSync(join(root, 'dist'), { recursive: true });
      engineWithImage({});
      await expect(test(options)).rejects.toThrow(
        `No build record at ${join(root, 'dist/docker/libs/ml-common/build-record.json')}. Build the images first: nx run ml-common:${options.buildTarget ?? 'docker-build'}`,
      );
      expect(runMock).not.toHaveBeenCalled();
    },
  );

  it('refuses an image the record does not have', async () => {
    engineWithImage({});
    await expect(test({ images: ['inference'] })).rejects.toThrow(
      `Image "inference" is not in the build record ${join(root, 'dist/docker/libs/ml-common/build-record.json')}. Build it: nx run ml-common:docker-build`,
    );
  });

  it('pulls the recorded image by its content tag when this engine does not have it', async () => {
    let pulled = false;
    runMock.mockImplementation(async (_file, args) => {
      const line = args.join(' ');
      if (line === `image inspect ${IMAGE_ID}`)
        return pulled
          ? ok(JSON.stringify([{ Id: IMAGE_ID, Config: {} }]))
          : exited(1, `Error: No such image: ${IMAGE_ID}`);
      if (line === `pull ${NAME}:nx-1`) {
        pulled = true;
        return ok();
      }
      if (line === `image inspect ${NAME}:nx-1`)
        return ok(JSON.stringify([{ Id: IMAGE_ID, Config: {} }]));
      if (args[0] === 'tag') return ok();
      throw new Error(`unexpected command: ${line}`);
    });
    await expect(test()).resolves.toBeUndefined();
    expect(runMock).toHaveBeenCalledWith(CLIENT, ['pull', `${NAME}:nx-1`], {
      timeoutMs: 30 * 60_000,
    });
    expect(calls('tag').map(([, a]) => a)).toEqual([
      ['tag', `${NAME}:nx-1`, `${NAME}:nx-1`],
      ['tag', `${NAME}:nx-1`, `${NAME}:latest`],
    ]);
  });

  describe('a job', () => {
    const JOB = {
      Cmd: ['python', '-m', 'src.model.train'],
      User: '10001:10001',
      WorkingDir: '/app',
    };
    const options: TestOptions = {
      job: { artifacts: ['models/model.joblib'], env: { EPOCHS: '1' } },
    };

    /** docker run: writes what the job would into the folders mounted for it, then exits. */
    const jobRun =
      (exitCode: number, writes: string[]): Handler =>
      (args) => {
        if (args[0] === 'logs') return ok('Traceback: boom');
        if (args[0] !== 'run') return undefined;
        for (const file of writes) {
          const [folder, ...rest] = file.split('/');
          const mount = args.find((a) => a.endsWith(`:/app/${folder}`)) ?? '';
          const host = mount.slice(0, mount.lastIndexOf(':'));
          if (!host) throw new Error(`no folder mounted at /app/${folder}`);
          writeFileSync(join(host, ...rest), 'x');
        }
        return exited(exitCode);
      };

    it('runs the image with its folders mounted, passes when it leaves the artifacts, and removes the container', async () => {
      engineWithImage(JOB, jobRun(0, ['models/model.joblib']));
      await expect(test(options)).resolves.toBeUndefined();

      const name = started();
      expect(name).toMatch(/^mld-ml-common-lib-[0-9a-f]{8}$/);
      const [file, args, runOptions] = calls('run')[0];
      expect(file).toBe(CLIENT);
      expect(args).toEqual([
        'run',
        '--name',
        name,
        '--label',
        'ml-docker.owner=test',
        '--volume',
        expect.stringMatching(/ml-docker-job-[^/]+\/models:\/app\/models$/),
        '--env',
        'EPOCHS=1',
        IMAGE_ID,
      ]);
      expect(runOptions).toEqual({ stream: true, timeoutMs: 600_000 });
      expect(runDetachedMock).toHaveBeenCalledWith('/bin/sh', [
        '-c',
        expect.any(String),
        'ml-docker-reaper',
        String(process.pid),
        CLIENT,
        name,
      ]);
      expect(calls('rm')).toEqual([
        [CLIENT, ['rm', '-f', '-v', name], { timeoutMs: 30_000 }],
      ]);
      expect(readTestRecord(testRecordFile())).toEqual({
        version: 1,
        project: 'ml-common',
        images: [
          {
            image: 'lib',
            name: NAME,
            imageId: IMAGE_ID,
            passedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          },
        ],
      });
    });

    it('keeps the record of images this run did not test, and replaces the one it did', async () => {
      const other = {
        image: 'inference',
        name: `${NAME}-inference`,
        imageId: 'sha256:other',
        passedAt: '2024-01-01T00:00:00.000Z',
      };
      writeFileSync(
        testRecordFile(),
        JSON.stringify({
          version: 1,
          project: 'ml-common',
          images: [
            other,
            { ...other, image: 'lib', imageId: 'sha256:an-older-build' },
          ],
        }),
      );
      engineWithImage(JOB, jobRun(0, ['models/model.joblib']));
      await test(options);
      expect(
        readTestRecord(testRecordFile())!.images.map((i) => [
          i.image,
          i.imageId,
        ]),
      ).toEqual([
        ['inference', 'sha256:other'],
        ['lib', IMAGE_ID],
      ]);
    });

    it('fails with the exit code when the job fails, and still removes the container', async () => {
      engineWithImage(JOB, jobRun(1, []));
      await expect(test(options)).rejects.toThrow(
        /^lib exited with code 1 after \d+\.\d s\.$/,
      );
      // Nothing is recorded as tested when an image failed.
      expect(readTestRecord(testRecordFile())).toBeUndefined();
      expect(logger.info).toHaveBeenCalledWith(
        expect.stringContaining('Traceback: boom'),
      );
      expect(calls('rm').map(([, a]) => a)).toEqual([
        ['rm', '-f', '-v', started()],
      ]);
    });

    it('fails when the job exits 0 without writing its artifacts', async () => {
      engineWithImage(JOB, jobRun(0, []));
      await expect(test(options)).rejects.toThrow(
        'lib exited 0 but did not write models/model.joblib (looked under /app).',
      );
      expect(calls('rm')).toHaveLength(1);
    });
  });

  describe('a service', () => {
    let server: Server;
    let port: number;
    /** The app behind the port: status and body for a path (the n-th request for it, from 0). */
    let app: (path: string, n: number) => [number, string];
    let requests: string[];

    beforeEach(async () => {
      app = (path) =>
        path === '/health' ? [200, '{"status":"ok"}'] : [404, 'not found'];
      requests = [];
      server = createServer((req, res) => {
        const path = req.url ?? '/';
        const [status, body] = app(
          path,
          requests.filter((r) => r === path).length,
        );
        requests.push(path);
        res.statusCode = status;
        res.end(body);
      });
      await new Promise<void>((resolve) =>
        server.listen(0, '127.0.0.1', resolve),
      );
      port = (server.address() as AddressInfo).port;
    });

    afterEach(
      () => new Promise<void>((resolve) => server.close(() => resolve())),
    );

    const SERVICE = {
      Cmd: ['uvicorn', 'app:app'],
      User: '10001:10001',
      ExposedPorts: { '8000/tcp': {} },
    };
    const running = JSON.stringify({
      Status: 'running',
      Running: true,
      ExitCode: 0,
    });

    it('starts the image with its port on 127.0.0.1, waits for it to answer, and removes the container', async () => {
      engineWithImage(SERVICE, (args) => {
        if (args[0] === 'run') return ok('containerid');
        if (args[0] === 'port') return ok(`127.0.0.1:${port}`);
        if (args[0] === 'container') return ok(running);
        return undefined;
      });
      await expect(
        test({ service: { pollInterval: 10, timeout: 5 } }),
      ).resolves.toBeUndefined();

      const name = started();
      expect(calls('run')[0][1]).toEqual([
        'run',
        '--detach',
        '--name',
        name,
        '--label',
        'ml-docker.owner=test',
        // As Kubernetes readOnlyRootFilesystem: the image declares no writable folder.
        '--read-only',
        '--tmpfs',
        '/tmp:mode=1777',
        '--publish',
        '127.0.0.1::8000',
        IMAGE_ID,
      ]);
      expect(calls('port')[0][1]).toEqual(['port', name, '8000/tcp']);
      expect(logger.info).toHaveBeenCalledWith(
        expect.stringMatching(/^@ml\/docker: lib passed: healthy in \d+ ms/),
      );
      expect(calls('rm').map(([, a]) => a)).toEqual([['rm', '-f', '-v', name]]);
      // What deploy manifests and promotion read: how it was probed and how long it took.
      const service = readTestRecord(testRecordFile())!.images[0].service!;
      expect(service).toEqual({
        port: 8000,
        livenessPath: '/health',
        user: '10001:10001',
        writable: [],
        timeToHealthyMs: expect.any(Number),
        timeToReadyMs: expect.any(Number),
      });
      expect(service.timeToReadyMs).toBeGreaterThanOrEqual(
        service.timeToHealthyMs,
      );
    });

    it.each<[string, Record<string, unknown>, TestOptions, string[]]>([
      [
        'its writable folders a tmpfs each, under its working directory',
        { 'ml-docker.writable': 'logs/ data/cache/' },
        {},
        [
          '--read-only',
          '--tmpfs',
          '/tmp:mode=1777',
          '--tmpfs',
          '/app/logs:mode=1777,uid=10001,gid=10001',
          '--tmpfs',
          '/app/data/cache:mode=1777,uid=10001,gid=10001',
        ],
      ],
      [
        'a writable root filesystem when readOnlyRootFilesystem is false',
        { 'ml-docker.writable': 'logs/' },
        { service: { readOnlyRootFilesystem: false } },
        [],
      ],
    ])(
      'runs the service read-only, %s',
      async (_label, labels, options, flags) => {
        engineWithImage(
          { ...SERVICE, WorkingDir: '/app', Labels: labels },
          (args) => {
            if (args[0] === 'run') return ok('containerid');
            if (args[0] === 'port') return ok(`127.0.0.1:${port}`);
            if (args[0] === 'container') return ok(running);
            return undefined;
          },
        );
        await test({
          ...options,
          service: { pollInterval: 10, timeout: 5, ...options.service },
        });
        const args = calls('run')[0][1];
        expect(
          args.slice(
            args.indexOf('ml-docker.owner=test') + 1,
            args.indexOf('--publish'),
          ),
        ).toEqual(flags);
      },
    );

    it('says which folder a read-only root filesystem refused, and what to do', async () => {
      engineWithImage(
        {
          ...SERVICE,
          WorkingDir: '/app',
          Labels: { 'ml-docker.writable': 'logs/' },
        },
        (args) => {
          if (args[0] === 'run') return ok('containerid');
          if (args[0] === 'port') return exited(1);
          if (args[0] === 'container')
            return ok(
              JSON.stringify({ Status: 'exited', Running: false, ExitCode: 1 }),
            );
          if (args[0] === 'logs')
            return ok(
              "OSError: [Errno 30] Read-only file system: '/app/cache'",
            );
          return undefined;
        },
      );
      await expect(test()).rejects.toThrow(
        'lib did not become healthy: the container exited with code 1. It wrote outside the folders it may write: docker-test runs it with a read-only root filesystem, as Kubernetes readOnlyRootFilesystem does, where only /tmp, logs/ are writable. Make that folder writable (the images generator does for the folders the code creates; by hand, a folder its user owns and LABEL ml-docker.writable="<folder>/"), or set service.readOnlyRootFilesystem to false.',
      );
    });

    describe('a liveness path that is not healthy', () => {
      const NOT_FOUND = '{"detail":"Not Found"}';
      /** What FastAPI serves at /openapi.json for these GET routes (and a POST). */
      const openapi = (...gets: string[]) =>
        JSON.stringify({
          openapi: '3.1.0',
          paths: {
            ...Object.fromEntries(
              gets.map((p) => [p, { get: { responses: {} } }]),
            ),
            '/predict': { post: { responses: {} } },
          },
        });
      const HINT =
        'Probe a GET route the app answers with 2xx once it is up: regenerate the image with --healthPath=<path>, or set service.healthPath.';
      let health: 'running' | 'unhealthy';
      const failure = (options: TestOptions) =>
        test(options).then(
          () => 'passed',
          (e: Error) => e.message,
        );

      beforeEach(() => {
        health = 'running';
        engineWithImage(SERVICE, (args) => {
          if (args[0] === 'run') return ok('containerid');
          if (args[0] === 'port') return ok(`127.0.0.1:${port}`);
          if (args[0] === 'container')
            return ok(
              JSON.stringify({
                Status: 'running',
                Running: true,
                ExitCode: 0,
                ...(health === 'unhealthy'
                  ? { Health: { Status: 'unhealthy' } }
                  : {}),
              }),
            );
          return undefined;
        });
      });

      it('fails at the first 404 when the app documents no such route, naming the routes it serves', async () => {
        app = (path) =>
          path === '/openapi.json'
            ? [200, openapi('/', '/predict/info')]
            : [404, NOT_FOUND];
        expect(
          await failure({ service: { pollInterval: 10, timeout: 60 } }),
        ).toBe(
          `lib did not become healthy: GET /health answered HTTP 404: ${NOT_FOUND}, and the app's OpenAPI document lists no GET route for it, so it never will. GET routes the app serves: /, /predict/info. ${HINT}`,
        );
        expect(requests.filter((r) => r === '/health')).toHaveLength(1);
      });

      it('waits out 404s on a route the app documents: a server still loading', async () => {
        app = (path, n) =>
          path === '/openapi.json'
            ? [200, openapi('/health', '/')]
            : path === '/health'
              ? n < 3
                ? [404, NOT_FOUND]
                : [200, '{"status":"ok"}']
              : [404, NOT_FOUND];
        await expect(
          test({ service: { pollInterval: 10, timeout: 60 } }),
        ).resolves.toBeUndefined();
        expect(requests.filter((r) => r === '/health')).toHaveLength(4);
      });

      it('waits out 404s with no OpenAPI document to judge them by, then says what the path answered', async () => {
        app = () => [404, NOT_FOUND];
        expect(
          await failure({ service: { pollInterval: 10, timeout: 1 } }),
        ).toBe(
          `lib did not become healthy: no healthy answer from http://127.0.0.1:${port}/health within 1 s (last: HTTP 404: ${NOT_FOUND}). Its GET routes could not be listed: it serves no OpenAPI document at /openapi.json. ${HINT}`,
        );
        expect(requests.filter((r) => r === '/health').length).toBeGreaterThan(
          3,
        );
      });

      it('names what the path last answered and the routes when Docker marks it unhealthy', async () => {
        app = (path, n) => {
          if (path === '/openapi.json') return [200, openapi('/health')];
          if (n >= 2) health = 'unhealthy';
          return [503, '{"status":"model not loaded"}'];
        };
        expect(
          await failure({ service: { pollInterval: 10, timeout: 60 } }),
        ).toBe(
          'lib did not become healthy: Docker marked the container unhealthy. /health last answered HTTP 503: {"status":"model not loaded"}. GET routes the app serves: /health.',
        );
      });
    });

    it('fails with the exit code and the last log lines when the container exits at once, and removes it', async () => {
      engineWithImage(SERVICE, (args) => {
        if (args[0] === 'run') return ok('containerid');
        if (args[0] === 'port') return exited(1);
        if (args[0] === 'container')
          return ok(
            JSON.stringify({ Status: 'exited', Running: false, ExitCode: 3 }),
          );
        if (args[0] === 'logs') return ok('ModuleNotFoundError: app');
        return undefined;
      });
      await expect(test()).rejects.toThrow(
        'lib did not become healthy: the container exited with code 3.',
      );
      expect(logger.info).toHaveBeenCalledWith(
        expect.stringContaining('ModuleNotFoundError: app'),
      );
      expect(calls('rm').map(([, a]) => a)).toEqual([
        ['rm', '-f', '-v', started()],
      ]);
    });
  });
});
