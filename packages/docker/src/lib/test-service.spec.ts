import { ExecutorContext, logger } from '@nx/devkit';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetEngineCache } from '../../lib/engine';
import { UserFacingError } from '../../lib/errors';
import { run, RunResult } from '../../lib/process';
import {
  healthcheckExecArgs,
  isRootUser,
  jobRunArgs,
  normalizeOptions,
  serviceRunArgs,
  smokeRequest,
  testImages,
} from './test.impl';
import { TestExecutorSchema } from './schema';

jest.mock('../../lib/process');

describe('test executor', () => {
  describe('normalizeOptions', () => {
    it('fills in the defaults', () => {
      expect(normalizeOptions({})).toEqual({
        buildTarget: 'docker-build',
        images: undefined,
        allowRoot: false,
        service: {
          port: undefined,
          healthPath: '/health',
          timeout: 120,
          pollInterval: 200,
          checkHealthcheck: true,
          env: {},
          smoke: [],
        },
        job: {
          command: undefined,
          env: {},
          artifacts: ['models/model.joblib', 'metrics/metrics.json'],
          timeout: 600,
          artifactsOutputPath: undefined,
        },
      });
    });

    it('keeps every option given', () => {
      const options: TestExecutorSchema = {
        buildTarget: 'container',
        images: ['inference'],
        allowRoot: true,
        service: {
          port: 9000,
          healthPath: '/healthz',
          timeout: 30,
          pollInterval: 50,
          checkHealthcheck: false,
          env: { MODEL_PATH: 'models/m.joblib' },
          smoke: [
            {
              method: 'POST',
              path: '/predict',
              body: { x: [1] },
              expectKeys: ['y'],
            },
          ],
        },
        job: {
          command: ['python', '-m', 'src.model.train', '--quick'],
          env: { EPOCHS: '1' },
          artifacts: ['models/m.joblib'],
          timeout: 60,
          artifactsOutputPath: 'dist/artifacts',
        },
      };
      expect(normalizeOptions(options)).toEqual(options);
    });

    it.each([
      [
        'a healthPath without a leading slash',
        { service: { healthPath: 'health' } },
        'service.healthPath "health" must start with /.',
      ],
      [
        'a smoke path without a leading slash',
        { service: { smoke: [{ path: 'predict' }] } },
        'smoke request path "predict" must start with /.',
      ],
      [
        'a smoke request without a path',
        { service: { smoke: [{} as { path: string }] } },
        'smoke request path "undefined" must start with /.',
      ],
      [
        'an artifact outside any folder',
        { job: { artifacts: ['model.joblib'] } },
        'job.artifacts entry "model.joblib" must be a relative path inside a folder',
      ],
      [
        'an artifact climbing out with ..',
        { job: { artifacts: ['../x/y'] } },
        'job.artifacts entry "../x/y" must be a relative path inside a folder',
      ],
      [
        'an artifact with .. in the middle',
        { job: { artifacts: ['models/../../etc/passwd'] } },
        'job.artifacts entry "models/../../etc/passwd"',
      ],
      [
        'an absolute artifact',
        { job: { artifacts: ['/abs/x'] } },
        'job.artifacts entry "/abs/x" must be a relative path inside a folder',
      ],
    ])('refuses %s', (_label, options, message) => {
      expect(() => normalizeOptions(options as TestExecutorSchema)).toThrow(
        UserFacingError,
      );
      expect(() => normalizeOptions(options as TestExecutorSchema)).toThrow(
        message,
      );
    });

    it('accepts nested artifact paths', () => {
      expect(
        normalizeOptions({
          job: { artifacts: ['models/v1/model.onnx', 'metrics/m.json'] },
        }).job.artifacts,
      ).toEqual(['models/v1/model.onnx', 'metrics/m.json']);
    });
  });

  describe('isRootUser', () => {
    it.each([
      ['', true],
      ['0', true],
      ['0:0', true],
      ['root', true],
      ['root:root', true],
      [' 0 ', true],
      ['10001:10001', false],
      ['10001', false],
      ['mluser', false],
      ['1000:0', false],
    ])('says USER %j is root: %s', (user, root) => {
      expect(isRootUser(user)).toBe(root);
    });
  });

  describe('serviceRunArgs', () => {
    it('publishes the port on 127.0.0.1 only, on a port Docker picks, with the owner label', () => {
      expect(
        serviceRunArgs('mld-synth-inference-1234abcd', 'sha256:abc', 8000, {}),
      ).toEqual([
        'run',
        '--detach',
        '--name',
        'mld-synth-inference-1234abcd',
        '--label',
        'ml-docker.owner=test',
        '--publish',
        '127.0.0.1::8000',
        'sha256:abc',
      ]);
    });

    it('passes env before the image, each value as one element', () => {
      const args = serviceRunArgs('c', 'sha256:abc', 9000, {
        A: '1',
        NOTE: 'two words $(id)',
      });
      expect(args.slice(args.indexOf('127.0.0.1::9000') + 1)).toEqual([
        '--env',
        'A=1',
        '--env',
        'NOTE=two words $(id)',
        'sha256:abc',
      ]);
    });

    it('never publishes on all interfaces', () => {
      const args = serviceRunArgs('c', 'img', 8080, {});
      const published = args.filter(
        (_a, i) => args[i - 1] === '--publish' || args[i - 1] === '-p',
      );
      expect(published).toEqual(['127.0.0.1::8080']);
    });
  });

  describe('jobRunArgs', () => {
    it('puts mounts, then env, then the image, then the command', () => {
      expect(
        jobRunArgs(
          'mld-synth-training-1',
          'sha256:def',
          [
            ['/tmp/ml-docker-job-x/models', '/app/models'],
            ['/tmp/ml-docker-job-x/metrics', '/app/metrics'],
          ],
          { EPOCHS: '1', MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' },
          ['python', '-m', 'src.model.train'],
        ),
      ).toEqual([
        'run',
        '--name',
        'mld-synth-training-1',
        '--label',
        'ml-docker.owner=test',
        '--volume',
        '/tmp/ml-docker-job-x/models:/app/models',
        '--volume',
        '/tmp/ml-docker-job-x/metrics:/app/metrics',
        '--env',
        'EPOCHS=1',
        '--env',
        'MLFLOW_TRACKING_URI=file:///tmp/mlruns',
        'sha256:def',
        'python',
        '-m',
        'src.model.train',
      ]);
    });

    it("ends with the image, keeping the image's CMD, when no command is given", () => {
      const args = jobRunArgs('c', 'sha256:def', [], {});
      expect(args).toEqual([
        'run',
        '--name',
        'c',
        '--label',
        'ml-docker.owner=test',
        'sha256:def',
      ]);
    });

    it('runs the job in the foreground, without --detach or --rm', () => {
      const args = jobRunArgs('c', 'img', [['/h', '/c']], {});
      expect(args).not.toContain('--detach');
      expect(args).not.toContain('--rm');
    });
  });

  describe('healthcheckExecArgs', () => {
    it.each<[string, string[], string[] | undefined]>([
      [
        'CMD',
        [
          'CMD',
          'python',
          '-c',
          "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')",
        ],
        [
          'exec',
          'c1',
          'python',
          '-c',
          "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')",
        ],
      ],
      [
        'CMD-SHELL',
        ['CMD-SHELL', 'curl -f http://localhost/health || exit 1'],
        [
          'exec',
          'c1',
          '/bin/sh',
          '-c',
          'curl -f http://localhost/health || exit 1',
        ],
      ],
      ['NONE', ['NONE'], undefined],
      ['an empty test', [], undefined],
    ])('runs a %s healthcheck as docker would', (_kind, test, args) => {
      expect(healthcheckExecArgs('c1', test)).toEqual(args);
    });
  });

  describe('smokeRequest', () => {
    const realFetch = global.fetch;
    let fetchMock: jest.Mock;
    let projectRoot: string;

    beforeEach(() => {
      fetchMock = jest.fn();
      global.fetch = fetchMock as unknown as typeof fetch;
      projectRoot = mkdtempSync(join(tmpdir(), 'ml-docker-smoke-'));
    });

    afterEach(() => {
      global.fetch = realFetch;
      rmSync(projectRoot, { recursive: true, force: true });
    });

    const answer = (status: number, body: string) =>
      fetchMock.mockResolvedValue(new Response(body, { status }));

    it('passes when the status and keys match', async () => {
      answer(200, '{"prediction": [1], "model_version": "v1"}');
      await expect(
        smokeRequest(
          'http://127.0.0.1:49153',
          {
            method: 'post',
            path: '/predict',
            body: { x: [[1, 2]] },
            expectKeys: ['prediction'],
          },
          projectRoot,
        ),
      ).resolves.toBeUndefined();
      expect(fetchMock).toHaveBeenCalledWith('http://127.0.0.1:49153/predict', {
        method: 'POST',
        body: '{"x":[[1,2]]}',
        headers: { 'content-type': 'application/json' },
        signal: expect.any(AbortSignal),
      });
    });

    it('sends a GET without a body or content type by default', async () => {
      answer(200, 'ok');
      await expect(
        smokeRequest(
          'http://127.0.0.1:49153',
          { path: '/health' },
          projectRoot,
        ),
      ).resolves.toBeUndefined();
      expect(fetchMock).toHaveBeenCalledWith('http://127.0.0.1:49153/health', {
        method: 'GET',
        body: undefined,
        headers: undefined,
        signal: expect.any(AbortSignal),
      });
    });

    it('sends the content of bodyFile as is', async () => {
      writeFileSync(join(projectRoot, 'sample.json'), '{"x": [[5.1, 3.5]]}\n');
      answer(200, '{}');
      await smokeRequest(
        'http://h',
        { method: 'POST', path: '/predict', bodyFile: 'sample.json' },
        projectRoot,
      );
      expect(fetchMock.mock.calls[0][1].body).toBe('{"x": [[5.1, 3.5]]}\n');
    });

    it.each([
      [
        'the status differs',
        { path: '/predict' },
        500,
        'Internal Server Error',
        'smoke GET /predict: expected HTTP 200, got 500: Internal Server Error',
      ],
      [
        'the expected status differs',
        { path: '/predict', expectStatus: 422 },
        200,
        '{}',
        'smoke GET /predict: expected HTTP 422, got 200: {}',
      ],
      [
        'a key is missing',
        { path: '/predict', expectKeys: ['prediction', 'model_version'] },
        200,
        '{"prediction": 1}',
        'smoke GET /predict: the response lacks model_version: {"prediction": 1}',
      ],
      [
        'keys are expected of a non-JSON body',
        { path: '/predict', expectKeys: ['prediction'] },
        200,
        '<html>oops</html>',
        'smoke GET /predict: expected a JSON object with prediction, got: <html>oops</html>',
      ],
      [
        'keys are expected of a JSON null',
        { path: '/p', expectKeys: ['a'] },
        200,
        'null',
        'smoke GET /p: the response lacks a: null',
      ],
    ])(
      'reports a problem when %s',
      async (_label, smoke, status, body, problem) => {
        answer(status, body);
        await expect(
          smokeRequest('http://127.0.0.1:49153', smoke, projectRoot),
        ).resolves.toBe(problem);
      },
    );

    it('cuts a long response to 200 characters in the problem', async () => {
      answer(500, 'e'.repeat(1000));
      const problem = await smokeRequest(
        'http://h',
        { path: '/p' },
        projectRoot,
      );
      expect(problem).toBe(
        `smoke GET /p: expected HTTP 200, got 500: ${'e'.repeat(200)}`,
      );
    });

    it('accepts an expected non-200 status', async () => {
      answer(422, '{"detail": "bad input"}');
      await expect(
        smokeRequest(
          'http://h',
          {
            method: 'POST',
            path: '/predict',
            body: {},
            expectStatus: 422,
            expectKeys: ['detail'],
          },
          projectRoot,
        ),
      ).resolves.toBeUndefined();
    });

    it('reports a request that gets no answer', async () => {
      fetchMock.mockRejectedValue(new TypeError('fetch failed'));
      await expect(
        smokeRequest('http://h', { path: '/p' }, projectRoot),
      ).resolves.toBe('smoke GET /p got no answer (fetch failed).');
    });

    it('refuses a bodyFile that does not exist, without sending anything', async () => {
      await expect(
        smokeRequest(
          'http://h',
          { method: 'POST', path: '/predict', bodyFile: 'missing.json' },
          projectRoot,
        ),
      ).rejects.toThrow(
        new UserFacingError(
          'smoke POST /predict: bodyFile missing.json does not exist in the project.',
        ),
      );
      expect(fetchMock).not.toHaveBeenCalled();
    });
  });

  describe('testImages', () => {
    const CLIENT = '/opt/docker/bin/docker';
    const IMAGE_ID =
      'sha256:3333333333333333333333333333333333333333333333333333333333333333';
    const runMock = jest.mocked(run);
    const savedClient = process.env.ML_DOCKER_CLIENT;
    let root: string;
    let context: ExecutorContext;

    const ok = (stdout = ''): RunResult => ({
      command: '',
      exitCode: 0,
      stdout,
      stderr: '',
      all: stdout,
      timedOut: false,
    });

    /** The engine, with the recorded image configured as `config`. */
    function engineWithImage(config: Record<string, unknown>) {
      process.env.ML_DOCKER_CLIENT = CLIENT;
      runMock.mockImplementation(async (file, args) => {
        const line = args.join(' ');
        if (file === CLIENT && line.startsWith('version '))
          return ok('28.3.2|28.3.2');
        if (file === CLIENT && line === 'buildx version') return ok('v0.25.0');
        if (file === CLIENT && line === `image inspect ${IMAGE_ID}`)
          return ok(
            JSON.stringify([{ Id: IMAGE_ID, Size: 4096, Config: config }]),
          );
        throw new Error(`unexpected command: ${file} ${line}`);
      });
    }

    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), 'ml-docker-test-ws-'));
      mkdirSync(join(root, 'dist/docker/libs/ml-common'), { recursive: true });
      writeFileSync(
        join(root, 'dist/docker/libs/ml-common/build-record.json'),
        JSON.stringify({
          version: 1,
          project: 'ml-common',
          images: [
            {
              image: 'lib',
              dockerfile: 'docker/lib/Dockerfile',
              repository: '127.0.0.1:5000/ml-images/ml-common-lib',
              registry: '127.0.0.1:5000',
              tags: ['nx-1', 'latest'],
              contentTag: 'nx-1',
              imageId: IMAGE_ID,
              sizeBytes: 4096,
              durationMs: 1000,
              builtWith: 'buildx',
              createdAt: '2024-05-01T10:00:00.000Z',
            },
          ],
        }),
      );
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
      resetEngineCache();
      jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    });

    afterEach(() => {
      if (savedClient === undefined) delete process.env.ML_DOCKER_CLIENT;
      else process.env.ML_DOCKER_CLIENT = savedClient;
      resetEngineCache();
      jest.restoreAllMocks();
      rmSync(root, { recursive: true, force: true });
    });

    it.each([
      ['no Cmd and no Entrypoint', {}],
      ['a null Cmd and Entrypoint', { Cmd: null, Entrypoint: null }],
      ['an empty Cmd and Entrypoint', { Cmd: [], Entrypoint: [] }],
    ])(
      'skips an artifact image with %s, without starting a container',
      async (_label, config) => {
        engineWithImage(config);
        await expect(testImages({}, context)).resolves.toBeUndefined();
        expect(logger.info).toHaveBeenCalledWith(
          '@ml/docker: lib has no command: an artifact image, nothing to run',
        );
        expect(
          runMock.mock.calls.filter(([, args]) => args[0] === 'run'),
        ).toEqual([]);
      },
    );

    it.each([
      ['a Cmd', { Cmd: ['python'] }],
      ['an Entrypoint', { Entrypoint: ['/bin/sh'] }],
    ])(
      'tests an image with %s: as root, it is refused',
      async (_label, config) => {
        engineWithImage(config);
        await expect(testImages({}, context)).rejects.toThrow(
          'lib runs as root (USER is "unset").',
        );
        expect(logger.info).not.toHaveBeenCalledWith(
          expect.stringContaining('an artifact image'),
        );
      },
    );
  });
});
