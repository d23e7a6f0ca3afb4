/**
 * The corpus projects that do not train in a generated image
 * (e2e/fixtures/corpus/README.md): a serving-only API with a committed
 * model, and a project whose team wrote its own Dockerfiles. Each goes from
 * a fresh workspace to the registry with no hand edit and no project.json
 * override.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  answeredAsDocumented,
  CORPUS,
  corpusProject,
  CorpusProject,
  expectRegistryHoldsRecord,
  initTwice,
  instructions,
  summary,
  treeSnapshot,
} from './support/corpus';
import { expectFailure } from './support/failure-modes';

describe('wine-cultivar-api: serving only, a committed model, under apps/sommelier/', () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject('wine-cultivar-api', 'apps/sommelier/wine-cultivar-api');
  });
  afterAll(() => p?.dispose());

  it('nx g @ml/docker:init registers the plugin once; a second run changes nothing', () => {
    initTwice(p);
  });

  it('nx g @ml/docker:images writes the inference image only, following -r requirements/prod.txt and copying model/', () => {
    const r = p.generate();
    expect(r.status).toBe(0);
    expect(r.all).toContain(
      '@ml/docker: wine-cultivar-api has no training code and a committed model: writing the inference image only (--image=training to insist).',
    );
    expect(summary(r.all)).toMatchObject({
      Layout: 'top-level packages and modules',
      Sources: 'main.py',
      Install: 'pip install -r requirements.txt',
      'Left out (dev only)': 'requirements/dev.txt',
      App: 'main:app (health /healthcheck)',
      Training: 'none',
      'Model files': 'model/',
    });
    expect(r.all).toContain(`CREATE ${p.root}/docker/inference/Dockerfile`);
    expect(r.all).not.toContain(`${p.root}/docker/training/`);
    const inference = instructions(p.read('docker/inference/Dockerfile'));
    expect(inference).toContain('COPY requirements.txt ./requirements.txt');
    expect(inference).toContain(
      'COPY requirements/prod.txt ./requirements/prod.txt',
    );
    expect(inference).not.toContain(
      'COPY requirements/dev.txt ./requirements/dev.txt',
    );
    expect(inference).toContain('COPY --chown=10001:10001 model/ ./model/');
    expect(inference).toContain('COPY --chown=10001:10001 main.py ./main.py');
    expect(inference.join('\n')).toContain("'/healthcheck', timeout=10)");
    expect(inference).toContain(
      'CMD ["/bin/sh", "-c", "exec python -m uvicorn main:app --host 0.0.0.0 --port \\"${PORT:-8000}\\""]',
    );
    p.ws.commitAll('generated Docker files');
    // Nothing to train: no docker-train target, docker-build needs none.
    const shown = JSON.parse(
      p.nx(['show', 'project', p.project, '--json']).stdout,
    );
    expect(shown.targets['docker-train']).toBeUndefined();
    expect(shown.targets['docker-build'].executor).toBe('@ml/docker:build');
  });

  it('nx run wine-cultivar-api:docker-push builds, tests (PUT /cultivar as documented) and pushes', async () => {
    const r = p.nxRun('docker-push');
    expect(r.all).toMatch(
      /inference answered \/healthcheck with 200 after \d+ ms/,
    );
    expect(r.all).toContain("inference's own HEALTHCHECK passes");
    expect(r.all).toMatch(
      answeredAsDocumented('inference', 'PUT', '/cultivar'),
    );
    expect(r.status).toBe(0);
    await expectRegistryHoldsRecord(p, ['inference']);
    expect(p.containers()).toEqual([]);
  });
});

describe("fraud-screening: the team's own Dockerfiles, under ml/risk/", () => {
  let p: CorpusProject;
  beforeAll(() => {
    p = corpusProject('fraud-screening', 'ml/risk/fraud-screening');
  });
  afterAll(() => p?.dispose());

  it('nx g @ml/docker:init registers the plugin once; a second run changes nothing', () => {
    initTwice(p);
  });

  it('nx g @ml/docker:images refuses: the Dockerfiles were written by hand; every file stays byte for byte, nothing new', () => {
    const before = treeSnapshot(p.ws.root);
    const r = p.generate();
    expectFailure(r, 'generator.hand-written-file');
    expect(r.all).toMatch(
      new RegExp(
        `${p.root}/docker/training/Dockerfile was written by hand, not by @ml/docker:images; it was left as it is and nothing was written\\. Keep it \\(.*\\), or replace it with --overwrite\\.`,
      ),
    );
    expect(treeSnapshot(p.ws.root)).toEqual(before);
    for (const image of ['training', 'inference'])
      expect(p.read(`docker/${image}/Dockerfile`)).toBe(
        readFileSync(
          join(CORPUS, 'fraud-screening', 'docker', image, 'Dockerfile'),
          'utf8',
        ),
      );
  });

  it("nx run fraud-screening:docker-push builds, tests (POST /transactions/score as documented) and pushes the team's Dockerfiles as they are", async () => {
    const r = p.nxRun('docker-push');
    // The inference image trains itself at build time: no model hand-off,
    // so no docker-train; the training image's run is checked by its exit.
    expect(r.all).not.toContain(`nx run ${p.project}:docker-train`);
    expect(r.all).toMatch(/training passed: exit 0 in [\d.]+ s/);
    expect(r.all).toMatch(/inference answered \/health with 200 after \d+ ms/);
    expect(r.all).toContain("inference's own HEALTHCHECK passes");
    expect(r.all).toMatch(
      answeredAsDocumented('inference', 'POST', '/transactions/score'),
    );
    expect(r.status).toBe(0);
    await expectRegistryHoldsRecord(p, ['training', 'inference']);
    for (const image of ['training', 'inference'])
      expect(p.read(`docker/${image}/Dockerfile`)).toBe(
        readFileSync(
          join(CORPUS, 'fraud-screening', 'docker', image, 'Dockerfile'),
          'utf8',
        ),
      );
    expect(p.containers()).toEqual([]);
  });
});
