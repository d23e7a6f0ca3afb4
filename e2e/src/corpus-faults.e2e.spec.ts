/**
 * The corpus projects that must fail (e2e/fixtures/corpus/README.md), and
 * the projects the generator must refuse: each failure is one line that says
 * what is wrong, nothing is pushed, nothing is left behind.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  corpusProject,
  CorpusProject,
  initTwice,
  instructions,
  summary,
  treeSnapshot,
} from './support/corpus';
import { expectFailure } from './support/failure-modes';
import { REGISTRY } from './support/run';
import { freshWorkspace, Workspace } from './support/workspace';

/** The recorded tags the registry holds (none, for an image that failed its test). */
async function tagsInRegistry(p: CorpusProject): Promise<string[]> {
  const held: string[] = [];
  for (const image of p.recorded()) {
    const path = image.name.slice(REGISTRY.length + 1);
    const res = await fetch(`http://${REGISTRY}/v2/${path}/tags/list`);
    const tags = res.ok
      ? (((await res.json()) as { tags?: string[] }).tags ?? [])
      : [];
    held.push(
      ...image.tags.filter((t) => tags.includes(t)).map((t) => `${path}:${t}`),
    );
  }
  return held;
}

/** docker-test's one line for the demand service, wherever in nx's output it lands. */
const FAILURE_LINE_NEVER_READY =
  /inference is alive but did not become ready: .*\/ready.*HTTP 503/;

/** The line of the output that contains this text. */
const lineWith = (out: string, text: string) =>
  out.split('\n').find((l) => l.includes(text)) ?? '';

describe('demand-forecast-svc: the model never loads (/health 200, /ready 503 forever), under services/forecasting/', () => {
  let p: CorpusProject;
  let tested: ReturnType<CorpusProject['nxRun']>;
  beforeAll(() => {
    p = corpusProject(
      'demand-forecast-svc',
      'services/forecasting/demand-forecast-svc',
    );
  });
  afterAll(() => p?.dispose());

  it('nx g @ml/docker:init registers the plugin once; a second run changes nothing', () => {
    initTwice(p);
  });

  it('nx g @ml/docker:images writes the inference image alone (no training code, no model in the project) and says the model must be supplied', () => {
    // An app and nothing to train: the inference image is what the project
    // can have; the generator says no model is baked in and what supplies it.
    const r = p.generate();
    expect(r.status).toBe(0);
    expect(r.all).toContain(
      `@ml/docker: ${p.project} has no training code and no model files in the project: writing the inference image only (--image=training to insist), with no model baked in. Mount the model when the container runs (docker run -v <model folder>:/app/<path the app reads>), or bake committed files in with --runtimeFiles=<path>.`,
    );
    expect(r.all).not.toContain(`${p.root}/docker/training/`);
    expect(summary(r.all)).toMatchObject({
      Sources: 'forecast_api/',
      App: 'forecast_api.app:app (health /health, ready /ready)',
      Training: 'none',
    });
    expect(summary(r.all)['Model files']).toBeUndefined();
    expect(instructions(p.read('docker/inference/Dockerfile'))).toContain(
      'CMD ["/bin/sh", "-c", "exec python -m uvicorn forecast_api.app:app --host 0.0.0.0 --port \\"${PORT:-8000}\\""]',
    );
    p.ws.commitAll('generated Docker files');
  });

  it('docker-test fails: alive (/health 200) but never ready, the route and its 503 in one line; no container left', () => {
    tested = p.nxRun('docker-test');
    expectFailure(tested, 'test.model-never-loads');
    expect(lineWith(tested.all, 'did not become ready')).toMatch(
      /\/ready\b.*\b503\b/,
    );
    expect(tested.all).not.toMatch(/inference passed/);
    expect(p.containers()).toEqual([]);
  });

  it("docker-test's line carries the body the readiness route answered", () => {
    // /ready answers 503 {"ready":false,"model_path":"/mnt/models/demand/forecaster-v3.joblib"}:
    // the body says why, so the one line should carry it.
    expect(lineWith(tested.all, 'did not become ready')).toContain(
      '"model_path":"/mnt/models/demand/forecaster-v3.joblib"',
    );
  });

  it('docker-push fails the same way and pushes nothing', async () => {
    const r = p.nxRun('docker-push');
    // nx 23.2.1 exits 130, not 1, when a dependency failed and the target
    // itself never started (didCommandComplete counts it as interrupted).
    expect(r.status).not.toBe(0);
    expect(r.all).toMatch(FAILURE_LINE_NEVER_READY);
    expect(r.all).not.toMatch(/@ml\/docker: pushed /);
    expect(await tagsInRegistry(p)).toEqual([]);
    expect(p.containers()).toEqual([]);
  });
});

describe('insurance-quote-api: the docs lie (the documented example is invalid), under apps/pricing/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject(
      'insurance-quote-api',
      'apps/pricing/insurance-quote-api',
    );
  });
  afterAll(() => p?.dispose());

  it('nx g @ml/docker:init registers the plugin once; a second run changes nothing', () => {
    initTwice(p);
  });

  it('nx g @ml/docker:images writes the inference image only, with the committed tariff in model/', () => {
    const r = p.generate();
    expect(r.status).toBe(0);
    expect(summary(r.all)).toMatchObject({
      Sources: 'quote_service/',
      App: 'quote_service.main:app (health /health)',
      Training: 'none',
      'Model files': 'model/',
    });
    expect(r.all).not.toContain(`${p.root}/docker/training/`);
    expect(instructions(p.read('docker/inference/Dockerfile'))).toContain(
      'COPY --chown=10001:10001 model/ ./model/',
    );
    p.ws.commitAll('generated Docker files');
  });

  it('docker-test on a liveness path the app does not serve fails at once, naming the GET routes it does; no container left', () => {
    // The image is the one the next test runs: only the probe is pointed wrong.
    const r = p.nxRun('docker-test', ['--service.healthPath=/nope']);
    expectFailure(r, 'test.liveness-path-unserved');
    const line = lineWith(r.all, 'did not become healthy');
    expect(line).toContain(
      'inference did not become healthy: GET /nope answered HTTP 404: {"detail":"Not Found"}',
    );
    expect(line).toContain('GET routes the app serves: /health.');
    // Decided on the first 404, not when the service timeout ran out.
    expect(line).not.toMatch(/within \d+ s/);
    expect(p.containers()).toEqual([]);
  });

  it("docker-test fails: the documented example is refused (422) by the app's own schema; no container left", () => {
    const r = p.nxRun('docker-test');
    expectFailure(r, 'test.documented-example-refused');
    const line = lineWith(r.all, 'the documented example was refused');
    expect(line).toContain(
      'inference: POST /quote: the documented example was refused with 422',
    );
    expect(line).toContain('"int_parsing"');
    expect(line).toContain('"input":"forty"');
    expect(p.containers()).toEqual([]);
  });

  it('docker-push fails the same way and pushes nothing', async () => {
    const r = p.nxRun('docker-push');
    expect(r.status).not.toBe(0);
    expect(r.all).toContain('the documented example was refused with 422');
    expect(r.all).not.toMatch(/@ml\/docker: pushed /);
    expect(await tagsInRegistry(p)).toEqual([]);
    expect(p.containers()).toEqual([]);
  });
});

describe('shipment-eta-api: the app writes where inspection could not follow (a folder from ETA_CACHE_ROOT), under apps/logistics/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject('shipment-eta-api', 'apps/logistics/shipment-eta-api');
  });
  afterAll(() => p?.dispose());

  it('nx g @ml/docker:images writes the inference image and says it could not tell where the cache lands', () => {
    const r = p.generate(['--image=inference']);
    expect(r.status).toBe(0);
    expect(r.all).toContain(
      'Could not tell where these writes land: eta_api/main.py:',
    );
    expect(summary(r.all)).toMatchObject({
      App: 'eta_api.main:app (health /health)',
    });
    expect(summary(r.all).Writable).toBeUndefined();
    p.ws.commitAll('generated Docker files');
  });

  it('docker-test fails on the read-only root filesystem, naming the folders it may write and the fix; no container left', () => {
    const r = p.nxRun('docker-test');
    expectFailure(r, 'test.read-only-root');
    expect(r.all).toContain("Read-only file system: '/app/route-cache'");
    expect(lineWith(r.all, 'It wrote outside')).toContain(
      'where only /tmp is writable',
    );
    expect(p.containers()).toEqual([]);
  });

  it('docker-test passes once the cache is pointed at a writable folder: the write was the only fault', () => {
    const r = p.nxRun('docker-test', ['--service.env.ETA_CACHE_ROOT=/tmp']);
    expect(r.all).toMatch(/inference passed/);
    expect(r.status).toBe(0);
    expect(p.containers()).toEqual([]);
  });
});

describe('the generator refuses a project it cannot read, and writes nothing', () => {
  let ws: Workspace;
  const files = (root: string, entries: Record<string, string>) => {
    for (const [path, text] of Object.entries(entries))
      ws.write(`${root}/${path}`, text);
  };
  const app = (title: string) =>
    [
      'from fastapi import FastAPI',
      '',
      `app = FastAPI(title="${title}")`,
      '',
      '',
      '@app.get("/health")',
      'def health():',
      '    return {"ok": True}',
      '',
    ].join('\n');
  const train = [
    'from pathlib import Path',
    '',
    'import joblib',
    '',
    '',
    'def main():',
    '    Path("models").mkdir(exist_ok=True)',
    '    joblib.dump({"weights": [0.1, 0.2]}, "models/model.joblib")',
    '',
    '',
    'if __name__ == "__main__":',
    '    main()',
    '',
  ].join('\n');

  beforeAll(() => {
    ws = freshWorkspace();
    // Two apps side by side (a public and an admin API): which one to serve?
    files('services/twin-apis', {
      'project.json': JSON.stringify({ name: 'twin-apis' }),
      'requirements.txt': 'fastapi\nuvicorn\nscikit-learn\njoblib\n',
      'public/__init__.py': '',
      'public/main.py': app('public'),
      'admin/__init__.py': '',
      'admin/main.py': app('admin'),
      'train.py': train,
    });
    // A batch model with no API at all.
    files('ml/churn-batch', {
      'project.json': JSON.stringify({ name: 'churn-batch' }),
      'requirements.txt': 'scikit-learn\njoblib\n',
      'train.py': train,
    });
    ws.commitAll('two projects the generator cannot serve as they are');
  });
  afterAll(() => ws?.dispose());

  it.each([
    ['several FastAPI apps', 'twin-apis', 'generator.several-apps'],
    ['no FastAPI app', 'churn-batch', 'generator.no-app'],
  ] as const)(
    '%s: one line, exit 1, the tree and nx.json byte for byte as they were',
    (_what, project, mode) => {
      const before = treeSnapshot(ws.root);
      const nxJson = readFileSync(join(ws.root, 'nx.json'), 'utf8');
      const r = ws.nx(
        ['g', '@ml/docker:images', `--project=${project}`, '--no-interactive'],
        {
          allowFail: true,
        },
      );
      expectFailure(r, mode);
      expect(r.all).toContain(`"${project}"`);
      expect(readFileSync(join(ws.root, 'nx.json'), 'utf8')).toBe(nxJson);
      expect(treeSnapshot(ws.root)).toEqual(before);
    },
  );
});
