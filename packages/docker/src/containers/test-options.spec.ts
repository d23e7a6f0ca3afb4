import type { TestOptions } from './test-options';
import { UserFacingError } from '../errors/errors';
import {
  DEFAULT_HEALTH_PATH,
  DEFAULT_OPENAPI_PATH,
  normalizeOptions,
} from './test-options';

describe('test options: normalizeOptions', () => {
  it('fills in the defaults', () => {
    expect(normalizeOptions({})).toEqual({
      buildTarget: 'docker-build',
      images: undefined,
      allowRoot: false,
      requireGpu: false,
      service: {
        port: undefined,
        // The health path falls back at check time: the image's label, then /health.
        healthPath: undefined,
        readyPath: undefined,
        timeout: 120,
        pollInterval: 200,
        checkHealthcheck: true,
        // As Kubernetes readOnlyRootFilesystem: only /tmp and the image's writable folders.
        readOnlyRootFilesystem: true,
        env: {},
        smoke: [],
        openapiPath: '/openapi.json',
        routes: {},
      },
      job: {
        command: undefined,
        env: {},
        // The folders the image's ml-docker.outputs label names, read at run time.
        artifacts: [],
        timeout: 600,
        artifactsOutputPath: undefined,
      },
    });
  });

  it('names the fallbacks the checks use', () => {
    expect(DEFAULT_HEALTH_PATH).toBe('/health');
    expect(DEFAULT_OPENAPI_PATH).toBe('/openapi.json');
  });

  it('keeps every option given', () => {
    const options: TestOptions = {
      buildTarget: 'container',
      images: ['inference'],
      allowRoot: true,
      requireGpu: true,
      service: {
        port: 9000,
        healthPath: '/healthz',
        readyPath: '/ready',
        timeout: 30,
        pollInterval: 50,
        checkHealthcheck: false,
        readOnlyRootFilesystem: false,
        env: { MODEL_PATH: 'models/m.joblib' },
        smoke: [
          {
            method: 'POST',
            path: '/predict',
            body: { x: [1] },
            expectKeys: ['y'],
          },
        ],
        openapiPath: '/docs/openapi.json',
        routes: {
          'POST /predict': { expectStatus: 201 },
          'PUT /model': { skip: true },
        },
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
      'a readyPath without a leading slash',
      { service: { readyPath: 'ready' } },
      'service.readyPath "ready" must start with /.',
    ],
    [
      'an openapiPath without a leading slash',
      { service: { openapiPath: 'openapi.json' } },
      'service.openapiPath "openapi.json" must start with /, or be false to skip the API checks.',
    ],
    [
      'a routes key without a method',
      { service: { routes: { '/predict': {} } } },
      'service.routes key "/predict" must be a method and a path as the API documents it, e.g. "POST /predict".',
    ],
    [
      'a routes key with a method that sends no example',
      { service: { routes: { 'GET /predict': {} } } },
      'service.routes key "GET /predict" must be a method and a path',
    ],
    [
      'a routes key with a lowercase method',
      { service: { routes: { 'post /predict': {} } } },
      'service.routes key "post /predict" must be a method and a path',
    ],
    [
      'an expectStatus that is no HTTP status',
      { service: { routes: { 'POST /predict': { expectStatus: 42 } } } },
      'service.routes["POST /predict"].expectStatus must be an HTTP status (got 42).',
    ],
    [
      'an expectStatus above 599',
      { service: { routes: { 'POST /predict': { expectStatus: 600 } } } },
      'service.routes["POST /predict"].expectStatus must be an HTTP status (got 600).',
    ],
    [
      'an artifact folder without a trailing slash',
      { job: { artifacts: ['models'] } },
      'job.artifacts entry "models" must be a folder (models/) or a file inside one',
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
      `job.artifacts entry "model.joblib" must be a folder (models/) or a file inside one (models/model.joblib), relative to the image's working directory: that folder is mounted to collect it.`,
    ],
    [
      'an artifact climbing out with ..',
      { job: { artifacts: ['../x/y'] } },
      'job.artifacts entry "../x/y" must be a folder (models/) or a file inside one',
    ],
    [
      'an artifact with .. in the middle',
      { job: { artifacts: ['models/../../etc/passwd'] } },
      'job.artifacts entry "models/../../etc/passwd"',
    ],
    [
      'an absolute artifact',
      { job: { artifacts: ['/abs/x'] } },
      'job.artifacts entry "/abs/x" must be a folder (models/) or a file inside one',
    ],
  ])('refuses %s', (_label, options, message) => {
    expect(() => normalizeOptions(options as TestOptions)).toThrow(
      UserFacingError,
    );
    expect(() => normalizeOptions(options as TestOptions)).toThrow(message);
  });

  it('accepts artifact folders and files inside them', () => {
    expect(
      normalizeOptions({ job: { artifacts: ['models/', 'metrics/m.json'] } })
        .job.artifacts,
    ).toEqual(['models/', 'metrics/m.json']);
  });

  it('turns the API checks off with openapiPath false', () => {
    expect(
      normalizeOptions({ service: { openapiPath: false } }).service.openapiPath,
    ).toBe(false);
  });

  it.each(['POST /predict', 'PUT /model/{id}', 'PATCH /'])(
    'accepts the routes key %j',
    (key) => {
      expect(
        normalizeOptions({ service: { routes: { [key]: { skip: true } } } })
          .service.routes,
      ).toEqual({ [key]: { skip: true } });
    },
  );

  it('accepts nested artifact paths', () => {
    expect(
      normalizeOptions({
        job: { artifacts: ['models/v1/model.onnx', 'metrics/m.json'] },
      }).job.artifacts,
    ).toEqual(['models/v1/model.onnx', 'metrics/m.json']);
  });

  it.each([
    ['the build target given', { buildTarget: 'image-build' }, 'image-build'],
    ['docker-build by default', {}, 'docker-build'],
  ])('reads the record of %s', (_label, options, buildTarget) => {
    expect(normalizeOptions(options).buildTarget).toBe(buildTarget);
  });

  it('polls no readiness path unless one is given', () => {
    expect(normalizeOptions({}).service.readyPath).toBeUndefined();
    expect(
      normalizeOptions({ service: { readyPath: '/ready' } }).service.readyPath,
    ).toBe('/ready');
  });
});
