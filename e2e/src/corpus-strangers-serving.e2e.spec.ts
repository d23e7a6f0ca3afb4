/**
 * Issue 16: projects laid out the way strangers lay out public FastAPI model
 * servers (e2e/fixtures/corpus/README.md, "Strangers' projects"), whose
 * health route, prefix or model folder is not where a template would put it.
 * Each goes from a fresh workspace through init, the images generator and one
 * `nx run <project>:docker-push` with no hand edit and no project.json
 * override, and the pushed image answers a request.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  answeredAsDocumented,
  askRecorded,
  corpusProject,
  CorpusProject,
  expectRegistryHoldsRecord,
  expectSucceeded,
  initOnce,
  instructions,
  requestFromSchema,
  runtimeStage,
  summary,
  UVICORN,
} from './support/corpus';

describe('review-sentiment: no health route at all, only POST /predict, under apps/reviews/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject('review-sentiment', 'apps/reviews/review-sentiment');
  });
  afterAll(() => p?.dispose());

  // init's idempotence is the first corpus suites' story; one run here.
  it('nx g @ml/docker:init registers the plugin', () => {
    initOnce(p);
    p.ws.commitAll('nx g @ml/docker:init');
  });

  it('nx g @ml/docker:images says there is no health route and falls back to the OpenAPI document', () => {
    const r = p.generate();
    expectSucceeded(r);
    const said = summary(r.all);
    expect(said).toMatchObject({
      Sources: 'app.py, train.py',
      Install: 'pip install -r requirements.txt',
      Training: 'python -m train',
      'Model files': 'models/ (written by training)',
    });
    expect(said.App).toBe(
      "app:app (health: /openapi.json (no liveness route found; the app's OpenAPI document is probed; add a GET /health or pass --healthPath=<path>))",
    );
    const inference = runtimeStage(p.read('docker/inference/Dockerfile'));
    expect(inference.join('\n')).toContain("'/openapi.json', timeout=10)");
    expect(inference).toContain(UVICORN('app:app'));
    p.ws.commitAll('generated Docker files');
  });

  it('nx run review-sentiment:docker-push trains, builds, tests (health is the OpenAPI document) and pushes', async () => {
    const r = p.nxRun('docker-push');
    expect(r.all).toMatch(
      /training passed: exit 0 in [\d.]+ s, wrote models\//,
    );
    expect(r.all).toMatch(
      /inference answered \/openapi\.json with 200 after \d+ ms/,
    );
    expectSucceeded(r);
    expect(
      existsSync(join(p.ws.root, p.root, 'models', 'sentiment.joblib')),
    ).toBe(true);
    await expectRegistryHoldsRecord(p, ['training', 'inference']);
    expect(p.containers()).toEqual([]);
  });

  it('the pushed image answers POST /predict with a request written from its schema (it documents no example)', async () => {
    const served = await askRecorded(
      p,
      'inference',
      'POST',
      '/predict',
      (doc) => requestFromSchema(doc, 'POST', '/predict'),
    );
    expect(Object.keys(served.doc.paths as object)).toEqual(['/predict']);
    expect({ status: served.status, missing: served.missing }).toEqual({
      status: 200,
      missing: [],
    });
    expect(['positive', 'negative']).toContain(
      (served.body as { label: string }).label,
    );
    expect(p.containers()).toEqual([]);
  });
});

describe('diabetes-progression-api: a flat main.py and a committed model in sample_model/, under services/clinical/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject(
      'diabetes-progression-api',
      'services/clinical/diabetes-progression-api',
    );
  });
  afterAll(() => p?.dispose());

  // init's idempotence is the first corpus suites' story; one run here.
  it('nx g @ml/docker:init registers the plugin', () => {
    initOnce(p);
    p.ws.commitAll('nx g @ml/docker:init');
  });

  it('nx g @ml/docker:images finds the model through the MODEL_PATH default and writes the inference image only', () => {
    const r = p.generate();
    expectSucceeded(r);
    expect(r.all).toContain(
      '@ml/docker: diabetes-progression-api has no training code and a committed model: writing the inference image only (--image=training to insist).',
    );
    expect(summary(r.all)).toMatchObject({
      Sources: 'main.py',
      Install: 'pip install -r requirements.txt',
      App: 'main:app (health /ping)',
      Training: 'none',
      'Model files': 'sample_model/',
    });
    const inference = runtimeStage(p.read('docker/inference/Dockerfile'));
    expect(inference).toContain(
      'COPY --chown=10001:10001 sample_model/ ./sample_model/',
    );
    expect(inference.join('\n')).toContain("'/ping', timeout=10)");
    expect(inference).toContain(UVICORN('main:app'));
    p.ws.commitAll('generated Docker files');
  });

  it('nx run diabetes-progression-api:docker-push builds, tests (POST /predict as documented) and pushes', async () => {
    const r = p.nxRun('docker-push');
    expect(r.all).toMatch(/inference answered \/ping with 200 after \d+ ms/);
    expect(r.all).toMatch(
      answeredAsDocumented('inference', 'POST', '/predict'),
    );
    expectSucceeded(r);
    await expectRegistryHoldsRecord(p, ['inference']);
    expect(p.containers()).toEqual([]);
  });
});

describe('credit-limit-service: create_app() with pydantic-settings, routers under settings.API_V1_STR, under apps/lending/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject(
      'credit-limit-service',
      'apps/lending/credit-limit-service',
    );
  });
  afterAll(() => p?.dispose());

  // init's idempotence is the first corpus suites' story; one run here.
  it('nx g @ml/docker:init registers the plugin', () => {
    initOnce(p);
    p.ws.commitAll('nx g @ml/docker:init');
  });

  it('nx g @ml/docker:images finds the liveness route with its full prefix (/api/v1/health/heartbeat)', () => {
    const r = p.generate();
    expectSucceeded(r);
    const said = summary(r.all);
    expect(said).toMatchObject({
      Install: 'pip install -r requirements.txt',
      App: 'app.main:app (health /api/v1/health/heartbeat)',
      'Model files': 'ml_models/ (written by training)',
    });
    expect(said.Training).toMatch(/^python (-m )?scripts[./]train(\.py)?$/);
    expect(said.Sources.split(', ')).toEqual(
      expect.arrayContaining(['app/', 'scripts/']),
    );
    const inference = runtimeStage(p.read('docker/inference/Dockerfile'));
    expect(inference.join('\n')).toContain(
      "'/api/v1/health/heartbeat', timeout=10)",
    );
    expect(inference).toContain(
      'COPY --chown=10001:10001 ml_models/ ./ml_models/',
    );
    expect(inference).toContain(UVICORN('app.main:app'));
    p.ws.commitAll('generated Docker files');
  });

  it('nx run credit-limit-service:docker-push trains, builds, tests (POST /api/v1/model/predict as documented) and pushes', async () => {
    const r = p.nxRun('docker-push');
    expect(r.all).toMatch(
      /training passed: exit 0 in [\d.]+ s, wrote ml_models\//,
    );
    expect(r.all).toMatch(
      /inference answered \/api\/v1\/health\/heartbeat with 200 after \d+ ms/,
    );
    expect(r.all).toMatch(
      answeredAsDocumented('inference', 'POST', '/api/v1/model/predict'),
    );
    expectSucceeded(r);
    expect(
      existsSync(join(p.ws.root, p.root, 'ml_models', 'credit_limit.joblib')),
    ).toBe(true);
    await expectRegistryHoldsRecord(p, ['training', 'inference']);
    expect(p.containers()).toEqual([]);
  });
});

describe('grid-load-forecaster: a poetry package, nested routers under API_PREFIX, a committed model in pretrained/, under apps/energy/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject(
      'grid-load-forecaster',
      'apps/energy/grid-load-forecaster',
    );
  });
  afterAll(() => p?.dispose());

  // init's idempotence is the first corpus suites' story; one run here.
  it('nx g @ml/docker:init registers the plugin', () => {
    initOnce(p);
    p.ws.commitAll('nx g @ml/docker:init');
  });

  it('nx g @ml/docker:images installs the poetry project (pip install .), finds /api/health through the nested routers and pretrained/', () => {
    const r = p.generate();
    expectSucceeded(r);
    expect(summary(r.all)).toMatchObject({
      Layout: 'installable package, pip install .',
      Install: 'pip install .',
      App: 'gridload.main:app (health /api/health)',
      Training: 'none',
      'Model files': 'pretrained/',
    });
    const dockerfile = p.read('docker/inference/Dockerfile');
    const builder = instructions(dockerfile).slice(
      0,
      instructions(dockerfile).indexOf('FROM ${BASE_IMAGE} AS runtime'),
    );
    expect(builder).toContain('COPY pyproject.toml ./pyproject.toml');
    // poetry-core refuses to build without the readme pyproject.toml names.
    expect(builder).toContain('COPY README.md ./README.md');
    expect(
      builder.find((l) => l.endsWith('/opt/venv/bin/pip install .')),
    ).toBeDefined();
    const inference = runtimeStage(dockerfile);
    expect(inference).toContain(
      'COPY --chown=10001:10001 pretrained/ ./pretrained/',
    );
    expect(inference.join('\n')).toContain("'/api/health', timeout=10)");
    expect(inference).toContain(UVICORN('gridload.main:app'));
    p.ws.commitAll('generated Docker files');
  });

  it('nx run grid-load-forecaster:docker-push builds, tests (POST /api/forecast/hourly as documented) and pushes', async () => {
    const r = p.nxRun('docker-push');
    expect(r.all).toMatch(
      /inference answered \/api\/health with 200 after \d+ ms/,
    );
    expect(r.all).toMatch(
      answeredAsDocumented('inference', 'POST', '/api/forecast/hourly'),
    );
    expectSucceeded(r);
    await expectRegistryHoldsRecord(p, ['inference']);
    expect(p.containers()).toEqual([]);
  });
});
