import { OpenApiDocument } from './api-prober';
import { livenessFailure, livenessVerdict } from './service-check';

const NOT_FOUND = { status: 404, body: '{"detail":"Not Found"}' };
const doc = (...gets: string[]): OpenApiDocument => ({
  openapi: '3.1.0',
  paths: Object.fromEntries(gets.map((p) => [p, { get: { responses: {} } }])),
});

describe('livenessVerdict: is an unhealthy answer the last word?', () => {
  it.each<
    [
      string,
      string,
      { status: number; body: string },
      OpenApiDocument | undefined,
      boolean,
    ]
  >([
    [
      '404, route absent from the document',
      '/health',
      NOT_FOUND,
      doc('/', '/predict/info'),
      true,
    ],
    [
      '404, route present: a server still loading',
      '/health',
      NOT_FOUND,
      doc('/health'),
      false,
    ],
    [
      '404, a templated route answers it',
      '/status/live',
      NOT_FOUND,
      doc('/status/{probe}'),
      false,
    ],
    ['404, no document to judge by', '/health', NOT_FOUND, undefined, false],
    [
      '503, route absent: the app answers, unwell',
      '/health',
      { status: 503, body: '' },
      doc('/'),
      false,
    ],
    [
      '500, route absent',
      '/health',
      { status: 500, body: '' },
      doc('/'),
      false,
    ],
  ])('%s → conclusive: %s', (_label, path, answer, d, conclusive) => {
    const verdict = livenessVerdict(path, answer, d);
    expect(verdict !== undefined).toBe(conclusive);
    if (conclusive)
      expect(verdict).toBe(
        `GET ${path} answered HTTP 404: {"detail":"Not Found"}, and the app's OpenAPI document lists no GET route for it, so it never will`,
      );
  });
});

describe('livenessFailure', () => {
  const HINT =
    'Probe a GET route the app answers with 2xx once it is up: regenerate the image with --healthPath=<path>, or set service.healthPath.';
  const failed = (reason: string, last?: { status: number; body: string }) => ({
    ok: false as const,
    reason,
    elapsedMs: 1,
    attempts: 1,
    ...(last ? { last } : {}),
  });

  it.each<
    [
      string,
      ReturnType<typeof failed>,
      OpenApiDocument | undefined,
      string | false,
      string,
    ]
  >([
    [
      'no answer ever: the reason alone',
      failed('the container exited with code 3'),
      undefined,
      '/openapi.json',
      'img did not become healthy: the container exited with code 3.',
    ],
    [
      'unhealthy on a 404: the answer, the routes, the way out',
      failed('Docker marked the container unhealthy', NOT_FOUND),
      doc('/', '/predict/info'),
      '/openapi.json',
      `img did not become healthy: Docker marked the container unhealthy. /health last answered HTTP 404: {"detail":"Not Found"}. GET routes the app serves: /, /predict/info. ${HINT}`,
    ],
    [
      'the verdict already names the answer: not twice',
      failed(
        'GET /health answered HTTP 404: {"detail":"Not Found"}, and …',
        NOT_FOUND,
      ),
      doc('/'),
      '/openapi.json',
      `img did not become healthy: GET /health answered HTTP 404: {"detail":"Not Found"}, and …. GET routes the app serves: /. ${HINT}`,
    ],
    [
      'a 503 from its own route: the app is unwell, no probe advice',
      failed('Docker marked the container unhealthy', {
        status: 503,
        body: 'loading',
      }),
      undefined,
      '/openapi.json',
      'img did not become healthy: Docker marked the container unhealthy. /health last answered HTTP 503: loading. Its GET routes could not be listed: it serves no OpenAPI document at /openapi.json.',
    ],
    [
      'the container gone after answering: routes not asked',
      failed('the container exited with code 1', { status: 503, body: '' }),
      undefined,
      false,
      'img did not become healthy: the container exited with code 1. /health last answered HTTP 503.',
    ],
  ])('%s', (_label, outcome, d, openapiPath, message) => {
    expect(livenessFailure('img', '/health', outcome, d, openapiPath)).toBe(
      message,
    );
  });
});
