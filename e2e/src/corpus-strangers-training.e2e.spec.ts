/**
 * Issue 16: strangers' projects that write folders of their own as they run
 * (e2e/fixtures/corpus/README.md, "Strangers' projects"): a server that
 * creates logs/ at import, a dvc pipeline whose stages create data/ and
 * metrics/. The images run as UID 10001, so those folders must be writable
 * by it, or the app dies at import and the stages at their first write.
 * Each goes from a fresh workspace to the registry with no hand edit and no
 * project.json override.
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
  expectSucceeded,
  initOnce,
  instructions,
  runtimeStage,
  summary,
  writableFolders,
  UVICORN,
} from './support/corpus';

/** The folders a `RUN mkdir -p … && chown 10001:10001 …` instruction makes writable for the app's user. */
function madeWritable(steps: string[]): string[] {
  return steps.flatMap((step) => {
    const m = /^RUN mkdir -p ([^&]+?) && chown (?:-R )?10001:10001 /.exec(step);
    return m ? m[1].split(/\s+/).map((d) => d.replace(/\/$/, '')) : [];
  });
}

describe('turbine-anomaly-monitor: creates logs/ and opens logs/app.log at import, under ml/ops/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject(
      'turbine-anomaly-monitor',
      'ml/ops/turbine-anomaly-monitor',
    );
  });
  afterAll(() => p?.dispose());

  // init's idempotence is the first corpus suites' story; one run here.
  it('nx g @ml/docker:init registers the plugin', () => {
    initOnce(p);
    p.ws.commitAll('nx g @ml/docker:init');
  });

  it('nx g @ml/docker:images says logs/ must be writable and makes it so in both images', () => {
    const r = p.generate();
    expectSucceeded(r);
    const said = summary(r.all);
    expect(said).toMatchObject({
      Sources: 'monitor/',
      Install: 'pip install -r requirements.txt',
      App: 'monitor.api:app (health /health)',
      Training: 'python -m monitor.train',
      'Model files': 'saved_models/ (written by training)',
    });
    expect(writableFolders(said)).toContain('logs/');
    for (const image of ['training', 'inference'])
      expect({
        image,
        writable: madeWritable(
          runtimeStage(p.read(`docker/${image}/Dockerfile`)),
        ),
      }).toEqual({ image, writable: expect.arrayContaining(['logs']) });
    expect(runtimeStage(p.read('docker/inference/Dockerfile'))).toContain(
      UVICORN('monitor.api:app'),
    );
    p.ws.commitAll('generated Docker files');
  });

  it('nx run turbine-anomaly-monitor:docker-push trains, builds, tests (POST /readings/check as documented) and pushes', async () => {
    const r = p.nxRun('docker-push');
    expect(r.all).toMatch(
      /training passed: exit 0 in [\d.]+ s, wrote (.*, )?saved_models\//,
    );
    expect(r.all).not.toMatch(/PermissionError/);
    expect(r.all).toMatch(/inference answered \/health with 200 after \d+ ms/);
    expect(r.all).toMatch(
      answeredAsDocumented('inference', 'POST', '/readings/check'),
    );
    expectSucceeded(r);
    expect(
      existsSync(join(p.ws.root, p.root, 'saved_models', 'iforest.joblib')),
    ).toBe(true);
    await expectRegistryHoldsRecord(p, ['training', 'inference']);
    expect(p.containers()).toEqual([]);
  });
});

describe('crop-yield-pipeline: dvc stages (YAML anchors) writing data/, exported/ and metrics/, under data-science/agronomy/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject(
      'crop-yield-pipeline',
      'data-science/agronomy/crop-yield-pipeline',
    );
  });
  afterAll(() => p?.dispose());

  // init's idempotence is the first corpus suites' story; one run here.
  it('nx g @ml/docker:init registers the plugin', () => {
    initOnce(p);
    p.ws.commitAll('nx g @ml/docker:init');
  });

  it('nx g @ml/docker:images reads the stages through their anchors and makes data/, exported/ and metrics/ writable for training', () => {
    const stages = dvcStages(p.read('dvc.yaml'));
    // The alias is resolved: every stage depends on the shared module.
    for (const s of stages) expect(s.deps).toContain('stages/common.py');
    const r = p.generate();
    expectSucceeded(r);
    const said = summary(r.all);
    expect(said).toMatchObject({
      Install: 'pip install -r requirements.txt',
      App: 'serving.app:app (health /live, ready /ready)',
      Training: `dvc repro (stages: ${stages.map((s) => s.name).join(', ')})`,
    });
    expect(said['Model files']).toMatch(
      /^exported\/.*\(written by training\)$/,
    );
    // Each stage's outs, as deep as known: dvc recreates an out folder itself.
    expect(writableFolders(said)).toEqual([
      'data/features/',
      'data/raw/',
      'exported/',
      'metrics/',
    ]);
    const training = instructions(p.read('docker/training/Dockerfile'));
    expect(madeWritable(training)).toEqual(
      expect.arrayContaining(['data', 'exported', 'metrics']),
    );
    for (const f of ['dvc.yaml', 'params.yaml', 'stages/'])
      expect(training).toContain(`COPY --chown=10001:10001 ${f} ./${f}`);
    const inference = runtimeStage(p.read('docker/inference/Dockerfile'));
    for (const f of ['exported/', 'serving/'])
      expect(inference).toContain(`COPY --chown=10001:10001 ${f} ./${f}`);
    expect(inference).toContain(UVICORN('serving.app:app'));
    p.ws.commitAll('generated Docker files');
  });

  /*
   * As for loan-default-scoring (corpus-training): dvc cannot be installed
   * offline, so docker-train runs what dvc repro would, the stages' commands
   * in dependency order, and the rest of the chain runs with
   * --excludeTaskDependencies so nothing reruns the image's own `dvc repro`.
   */
  it('docker-train runs the stages as UID 10001 and keeps exported/ and metrics/', () => {
    const r = p.nxRun('docker-train', dvcReproCommand(p));
    expect(r.all).not.toMatch(/PermissionError/);
    expect(r.all).toMatch(
      /training passed: exit 0 in [\d.]+ s, wrote (.*, )?exported\/(.*, )?metrics\//,
    );
    expectSucceeded(r);
    const scores = JSON.parse(
      readFileSync(join(p.ws.root, p.root, 'metrics', 'scores.json'), 'utf8'),
    );
    expect(Object.keys(scores).sort()).toEqual(['mae', 'r2']);
    expect(
      existsSync(join(p.ws.root, p.root, 'exported', 'yield_rf.joblib')),
    ).toBe(true);
    expect(p.containers()).toEqual([]);
  });

  it('docker-build bakes the model in; the inference image answers POST /yield as documented; docker-push pushes both', async () => {
    expectSucceeded(p.nxRun('docker-build', ['--excludeTaskDependencies']));
    const tested = p.nxRun('docker-test', [
      '--excludeTaskDependencies',
      '--images=inference',
    ]);
    expect(tested.all).toMatch(/inference ready \(\/ready 200\) after \d+ ms/);
    expect(tested.all).toMatch(
      answeredAsDocumented('inference', 'POST', '/yield'),
    );
    expectSucceeded(tested);
    const pushed = p.nxRun('docker-push', ['--excludeTaskDependencies']);
    expectSucceeded(pushed);
    await expectRegistryHoldsRecord(p, ['training', 'inference']);
    expect(p.containers()).toEqual([]);
  });
});
