import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserFacingError } from '../errors/errors';
import { smokeRequest } from './smoke-request';

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
      smokeRequest('http://127.0.0.1:49153', { path: '/health' }, projectRoot),
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
    const problem = await smokeRequest('http://h', { path: '/p' }, projectRoot);
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
