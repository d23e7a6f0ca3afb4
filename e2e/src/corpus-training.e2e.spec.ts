/**
 * The corpus projects that train (e2e/fixtures/corpus/README.md), each taken
 * from a fresh workspace through init, the images generator and
 * `nx run <project>:docker-push` (docker-train → docker-build → docker-test →
 * docker-push) with no hand edit and no project.json override: what a team
 * gets on its own project.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  answeredAsDocumented,
  corpusProject,
  CorpusProject,
  dvcReproCommand,
  dvcStages,
  expectRegistryHoldsRecord,
  initTwice,
  instructions,
  runtimeStage,
  summary,
  UVICORN,
  WITH_PIP_SECRETS,
} from './support/corpus';
import { expectFailure } from './support/failure-modes';

describe('loan-default-scoring: a DVC pipeline in a src/ package, under ml/credit-risk/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject(
      'loan-default-scoring',
      'ml/credit-risk/loan-default-scoring',
    );
  });
  afterAll(() => p?.dispose());

  it('nx g @ml/docker:init registers the plugin once; a second run changes nothing', () => {
    initTwice(p);
  });

  it('nx g @ml/docker:images finds the pipeline, the app under src/api/, configs/ and params.yaml, and warns that dvc is missing', () => {
    const stages = dvcStages(p.read('dvc.yaml'));
    const r = p.generate();
    expect(r.status).toBe(0);
    expect(summary(r.all)).toMatchObject({
      Layout: 'src/ package, imported as src.…',
      Sources: 'src/',
      Install: 'pip install -r requirements.txt',
      App: 'src.api.main:app (health /health, ready /ready)',
      Training: `dvc repro (stages: ${stages.map((s) => s.name).join(', ')})`,
      'Runtime files': 'configs/, params.yaml',
      'Model files': 'models/ (written by training)',
    });
    expect(r.all).toContain(
      'dvc.yaml has stages but dvc is not in the runtime dependencies: add dvc to requirements.txt (the training image runs dvc repro).',
    );
    const training = instructions(p.read('docker/training/Dockerfile'));
    expect(training).toContain('CMD ["dvc", "repro"]');
    for (const f of ['params.yaml', 'dvc.yaml', 'configs/', 'src/'])
      expect(training).toContain(`COPY --chown=10001:10001 ${f} ./${f}`);
    // The evaluate stage writes reports/ (its metrics: entry): the non-root
    // user must be able to create it, and docker-train keeps it with the model.
    expect(training).toContain(
      'LABEL ml-docker.outputs="models/ reports/" ml-docker.accelerator="cpu"',
    );
    expect(training).toContain(
      // The outputs, then each stage's outs as deep as known; /app is the
      // training user's too.
      'RUN mkdir -p data models reports data/processed data/raw && chown 10001:10001 /app data models reports data/processed data/raw',
    );
    const inference = runtimeStage(p.read('docker/inference/Dockerfile'));
    for (const f of ['configs/', 'params.yaml', 'models/', 'src/'])
      expect(inference).toContain(`COPY --chown=10001:10001 ${f} ./${f}`);
    expect(inference).toContain(UVICORN('src.api.main:app'));
    p.ws.commitAll('generated Docker files');
  });

  /*
   * dvc cannot be installed offline, so the image's own CMD (`dvc repro`)
   * cannot run here. What dvc repro would do is run the stages' commands in
   * dependency order from the project root: docker-train runs exactly those
   * (read from dvc.yaml, not written out here) in the training image through
   * its `command` option. nx 23 turns repeated --command= flags into the
   * array the option takes; the stages are chained with && in one `sh -c`.
   * The rest of the chain then runs one target at a time with
   * --excludeTaskDependencies, so nothing reruns docker-train with the
   * image's own CMD; the training image is tested on its own below, where
   * it fails as it must without dvc.
   */
  it('docker-train runs the dvc.yaml stages in the training image and keeps models/ and reports/', () => {
    const command = dvcReproCommand(p);
    expect(command[2]).toMatch(
      /^--command=python -m src\.\w+( && python -m src\.\w+){3}$/,
    );
    const r = p.nxRun('docker-train', command);
    expect(r.all).toMatch(
      /training passed: exit 0 in [\d.]+ s, wrote models\/, reports\//,
    );
    expect(r.status).toBe(0);
    const model = join(p.ws.root, p.root, 'models', 'loan_default_gbm.joblib');
    expect(existsSync(model)).toBe(true);
    const metrics = JSON.parse(
      readFileSync(join(p.ws.root, p.root, 'reports', 'metrics.json'), 'utf8'),
    );
    expect(Object.keys(metrics).length).toBeGreaterThan(0);
    expect(p.containers()).toEqual([]);
  });

  it('docker-build bakes the trained model in; the inference image answers POST /score as documented', () => {
    const built = p.nxRun('docker-build', ['--excludeTaskDependencies']);
    expect(built.status).toBe(0);
    const tested = p.nxRun('docker-test', [
      '--excludeTaskDependencies',
      '--images=inference',
    ]);
    expect(tested.all).toMatch(/inference ready \(\/ready 200\) after \d+ ms/);
    expect(tested.all).toMatch(
      answeredAsDocumented('inference', 'POST', '/score'),
    );
    expect(tested.status).toBe(0);
    expect(p.containers()).toEqual([]);
  });

  it("the training image's own CMD fails honestly without dvc: exit 127, dvc: not found", () => {
    const r = p.nxRun('docker-test', [
      '--excludeTaskDependencies',
      '--images=training',
    ]);
    expectFailure(r, 'test.pipeline-without-dvc');
    expect(p.containers()).toEqual([]);
  });

  it('docker-push puts every recorded tag in the registry with the recorded image', async () => {
    const r = p.nxRun('docker-push', ['--excludeTaskDependencies']);
    expect(r.status).toBe(0);
    await expectRegistryHoldsRecord(p, ['training', 'inference']);
    expect(p.containers()).toEqual([]);
  });
});

describe('ticket-triage: flat top-level packages and a shared module, under services/support/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject('ticket-triage', 'services/support/ticket-triage');
  });
  afterAll(() => p?.dispose());

  it('nx g @ml/docker:init registers the plugin once; a second run changes nothing', () => {
    initTwice(p);
  });

  it('nx g @ml/docker:images copies api/, pipeline/ and features.py, runs pipeline.fit as a module, takes artifacts/ across', () => {
    const r = p.generate();
    expect(r.status).toBe(0);
    expect(summary(r.all)).toMatchObject({
      Layout: 'top-level packages and modules',
      Sources: 'api/, features.py, pipeline/',
      Install: 'pip install -r requirements.txt',
      App: 'api.server:app (health /healthz, ready /readyz)',
      Training: 'python -m pipeline.fit',
      'Model files': 'artifacts/ (written by training)',
    });
    const training = instructions(p.read('docker/training/Dockerfile'));
    expect(training).toContain('CMD ["python", "-m", "pipeline.fit"]');
    expect(training).toContain(
      'LABEL ml-docker.outputs="artifacts/" ml-docker.accelerator="cpu"',
    );
    const inference = runtimeStage(p.read('docker/inference/Dockerfile'));
    for (const f of ['artifacts/', 'api/', 'features.py', 'pipeline/'])
      expect(inference).toContain(`COPY --chown=10001:10001 ${f} ./${f}`);
    expect(inference.join('\n')).toContain("'/healthz', timeout=10)");
    expect(inference).toContain(UVICORN('api.server:app'));
    p.ws.commitAll('generated Docker files');
  });

  it('nx run ticket-triage:docker-push trains, builds, tests (waits for /readyz, which OpenAPI leaves out; POST /tickets/triage as documented) and pushes', async () => {
    const r = p.nxRun('docker-push');
    expect(r.all).toMatch(
      /training passed: exit 0 in [\d.]+ s, wrote artifacts\//,
    );
    expect(r.all).toMatch(/inference answered \/healthz with 200 after \d+ ms/);
    expect(r.all).toMatch(/inference ready \(\/readyz 200\) after \d+ ms/);
    expect(r.all).toMatch(
      answeredAsDocumented('inference', 'POST', '/tickets/triage'),
    );
    expect(r.status).toBe(0);
    expect(
      existsSync(join(p.ws.root, p.root, 'artifacts', 'triage.joblib')),
    ).toBe(true);
    await expectRegistryHoldsRecord(p, ['training', 'inference']);
    expect(p.containers()).toEqual([]);
  });
});

describe('property-valuer: an installable src-layout package (PEP 621, no requirements.txt), under packages/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject('property-valuer', 'packages/property-valuer');
  });
  afterAll(() => p?.dispose());

  it('nx g @ml/docker:init registers the plugin once; a second run changes nothing', () => {
    initTwice(p);
  });

  it('nx g @ml/docker:images installs the project itself (pip install .), trains with its console script, takes model_store/ across', () => {
    const r = p.generate();
    expect(r.status).toBe(0);
    expect(summary(r.all)).toMatchObject({
      Layout: 'installable package (src layout), pip install .',
      Sources: 'none beyond the installed package',
      Install: 'pip install .',
      'Left out (dev only)':
        'pyproject.toml [project.optional-dependencies] dev',
      App: 'property_valuer.service:app (health /health, ready /health/ready)',
      Training: 'valuer-train (console script)',
      'Model files': 'model_store/ (written by training)',
    });
    for (const image of ['training', 'inference']) {
      const all = instructions(p.read(`docker/${image}/Dockerfile`));
      expect(all).toContain('COPY pyproject.toml ./pyproject.toml');
      expect(all).toContain('COPY src/ ./src/');
      expect(all).toContain(`${WITH_PIP_SECRETS} /opt/venv/bin/pip install .`);
    }
    expect(instructions(p.read('docker/training/Dockerfile'))).toContain(
      'CMD ["valuer-train"]',
    );
    const inference = runtimeStage(p.read('docker/inference/Dockerfile'));
    expect(inference).toContain(
      'COPY --chown=10001:10001 model_store/ ./model_store/',
    );
    // The code comes from the virtualenv's site-packages, not a second copy.
    expect(inference.filter((i) => /^COPY .*\bsrc\//.test(i))).toEqual([]);
    expect(inference).toContain(UVICORN('property_valuer.service:app'));
    p.ws.commitAll('generated Docker files');
  });

  it('nx run property-valuer:docker-push trains, builds, tests (POST /valuations as documented) and pushes', async () => {
    const r = p.nxRun('docker-push');
    expect(r.all).toMatch(
      /training passed: exit 0 in [\d.]+ s, wrote model_store\//,
    );
    expect(r.all).toMatch(
      /inference ready \(\/health\/ready 200\) after \d+ ms/,
    );
    expect(r.all).toMatch(
      answeredAsDocumented('inference', 'POST', '/valuations'),
    );
    expect(r.status).toBe(0);
    expect(
      existsSync(join(p.ws.root, p.root, 'model_store', 'valuer.pkl')),
    ).toBe(true);
    await expectRegistryHoldsRecord(p, ['training', 'inference']);
    expect(p.containers()).toEqual([]);
  });
});

describe('activity-recognition (Nx name har-activity-net): a PyTorch MLP, under apps/wearables/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject(
      'activity-recognition',
      'apps/wearables/activity-recognition',
    );
  });
  afterAll(() => p?.dispose());

  it('nx g @ml/docker:init registers the plugin once; a second run changes nothing', () => {
    initTwice(p);
  });

  it('nx g @ml/docker:images sees torch, runs training.train as a module, takes checkpoints/ across', () => {
    expect(p.project).toBe('har-activity-net');
    const r = p.generate();
    expect(r.status).toBe(0);
    expect(summary(r.all)).toMatchObject({
      Layout: 'top-level packages and modules',
      Sources: 'app/, training/',
      Install: 'pip install -r requirements.txt',
      Frameworks: 'torch',
      App: 'app.main:app (health /health, ready /ready)',
      Training: 'python -m training.train',
      'Model files': 'checkpoints/ (written by training)',
    });
    const training = instructions(p.read('docker/training/Dockerfile'));
    expect(training).toContain('CMD ["python", "-m", "training.train"]');
    expect(training).toContain(
      'LABEL ml-docker.outputs="checkpoints/" ml-docker.accelerator="cpu"',
    );
    const inference = runtimeStage(p.read('docker/inference/Dockerfile'));
    for (const f of ['checkpoints/', 'app/', 'training/'])
      expect(inference).toContain(`COPY --chown=10001:10001 ${f} ./${f}`);
    expect(inference).toContain(UVICORN('app.main:app'));
    p.ws.commitAll('generated Docker files');
  });

  it('nx run har-activity-net:docker-push trains, builds, tests (POST /v1/predict as documented) and pushes', async () => {
    const r = p.nxRun('docker-push');
    expect(r.all).toMatch(
      /training passed: exit 0 in [\d.]+ s, wrote checkpoints\//,
    );
    expect(r.all).toMatch(/inference ready \(\/ready 200\) after \d+ ms/);
    expect(r.all).toMatch(
      answeredAsDocumented('inference', 'POST', '/v1/predict'),
    );
    expect(r.status).toBe(0);
    for (const f of ['activity_mlp.pt', 'normalizer.json'])
      expect(existsSync(join(p.ws.root, p.root, 'checkpoints', f))).toBe(true);
    await expectRegistryHoldsRecord(p, ['training', 'inference']);
    expect(p.containers()).toEqual([]);
  });
});

describe('parcel-geo-pricing: a package.json project needing a system library (GEOS, apt.txt), under packages/geo/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    // Its Nx config is the package.json `nx` field: a project only where
    // the root package.json's workspaces cover it, as in a real npm workspace.
    p = corpusProject('parcel-geo-pricing', 'packages/geo/parcel-geo-pricing', {
      npmWorkspaces: ['packages/geo/*'],
    });
  });
  afterAll(() => p?.dispose());

  it('is a project of the workspace through its package.json', () => {
    expect(existsSync(join(p.ws.root, p.root, 'project.json'))).toBe(false);
    const shown = JSON.parse(
      p.nx(['show', 'project', p.project, '--json']).stdout,
    );
    expect(shown.root).toBe(p.root);
  });

  it('nx g @ml/docker:init registers the plugin once; a second run changes nothing', () => {
    initTwice(p);
  });

  it('nx g @ml/docker:images installs the apt.txt packages in both images and takes trained/ across', () => {
    const r = p.generate();
    expect(r.status).toBe(0);
    expect(summary(r.all)).toMatchObject({
      Layout: 'top-level packages and modules',
      Sources: 'geo/, service.py, train.py',
      Install: 'pip install -r requirements.txt',
      App: 'service:app (health /status/live, ready /status/ready)',
      Training: 'python -m train',
      'Model files': 'trained/ (written by training)',
      'System packages': 'libgeos-c1t64 (from apt.txt)',
    });
    const apt = p
      .read('apt.txt')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean);
    expect(apt).toEqual(['libgeos-c1t64']);
    for (const image of ['training', 'inference'])
      expect(runtimeStage(p.read(`docker/${image}/Dockerfile`))).toContain(
        `RUN apt-get update && apt-get install -y --no-install-recommends ${apt.join(' ')} && rm -rf /var/lib/apt/lists/*`,
      );
    const inference = runtimeStage(p.read('docker/inference/Dockerfile'));
    for (const f of ['trained/', 'geo/', 'service.py'])
      expect(inference).toContain(`COPY --chown=10001:10001 ${f} ./${f}`);
    expect(inference).toContain(UVICORN('service:app'));
    expect(instructions(p.read('docker/training/Dockerfile'))).toContain(
      'LABEL ml-docker.outputs="trained/" ml-docker.accelerator="cpu"',
    );
    p.ws.commitAll('generated Docker files');
  });

  it('nx run parcel-geo-pricing:docker-push trains and serves with GEOS (POST /estimate as documented) and pushes', async () => {
    const r = p.nxRun('docker-push');
    expect(r.all).toMatch(
      /training passed: exit 0 in [\d.]+ s, wrote trained\//,
    );
    expect(r.all).toMatch(
      /inference ready \(\/status\/ready 200\) after \d+ ms/,
    );
    expect(r.all).toMatch(
      answeredAsDocumented('inference', 'POST', '/estimate'),
    );
    expect(r.status).toBe(0);
    expect(
      existsSync(join(p.ws.root, p.root, 'trained', 'parcel_ridge.json')),
    ).toBe(true);
    await expectRegistryHoldsRecord(p, ['training', 'inference']);
    expect(p.containers()).toEqual([]);
  });
});
