/**
 * The published shape of the plugin: `npm pack` of the built package, installed
 * into a workspace made by create-nx-workspace, used on a synth-like ML
 * project from generation to a registry that holds every tag.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { BuildRecord } from '../../packages/docker/src/record/build-record';
import {
  docker,
  ownedContainersOf,
  REGISTRY,
  registryManifest,
  uniqueId,
  imageIdOf,
} from './support/run';
import { freshWorkspace, Workspace } from './support/workspace';

const repoRoot = join(__dirname, '..', '..');

describe('@ml/docker packed and installed into a fresh Nx workspace', () => {
  const id = uniqueId('pk');
  const project = `fraud-${id}`;
  const projectRoot = `ml/${project}`;
  const repository = `e2e-${id}`;
  let workspace: Workspace;
  let ws: string;

  const nx = (args: string[]) => workspace.nx(args);
  const record = (): BuildRecord =>
    JSON.parse(
      readFileSync(
        join(ws, 'dist', 'docker', projectRoot, 'build-record.json'),
        'utf8',
      ),
    );

  beforeAll(() => {
    workspace = freshWorkspace();
    ws = workspace.root;
    // A synth-like ML project: the example's pipeline and API, under another name.
    // Its .gitignore keeps models/ and metrics/ out of git, as DVC would.
    const src = join(repoRoot, 'examples', 'synth');
    mkdirSync(join(ws, projectRoot), { recursive: true });
    for (const f of [
      'src',
      'requirements.txt',
      'params.yaml',
      'dvc.yaml',
      '.gitignore',
    ]) {
      cpSync(join(src, f), join(ws, projectRoot, f), {
        recursive: true,
        filter: (p) => !p.includes('__pycache__'),
      });
    }
    // synth's code imports the workspace's shared feature library, which
    // ships as an artifact image the model images COPY --from.
    cpSync(
      join(repoRoot, 'examples', 'ml-common'),
      join(ws, 'libs', 'ml-common'),
      {
        recursive: true,
        filter: (p) => !p.includes('__pycache__'),
      },
    );
    // This run's own repository in the shared local registry, for every project.
    const nxJsonPath = join(ws, 'nx.json');
    const nxJson = JSON.parse(readFileSync(nxJsonPath, 'utf8'));
    nxJson.targetDefaults = {
      ...nxJson.targetDefaults,
      'docker-build': { options: { repository } },
    };
    writeFileSync(nxJsonPath, JSON.stringify(nxJson, null, 2));
    workspace.write(
      `${projectRoot}/project.json`,
      JSON.stringify({ name: project, root: projectRoot, targets: {} }),
    );
    workspace.commitAll('ml project');
  });

  afterAll(() => {
    try {
      for (const image of record().images) {
        for (const tag of image.tags)
          docker(['rmi', '-f', `${image.name}:${tag}`], {
            allowFail: true,
          });
      }
    } catch {
      // no record: nothing was built
    }
    workspace?.dispose();
  });

  it('generates the Dockerfiles and the .dockerignore, and the plugin infers its targets (build, train, test, push, promote, release publish)', () => {
    const out = nx([
      'g',
      '@ml/docker:images',
      `--project=${project}`,
      '--sharedLibs=ml-common',
      // As the examples are generated: with dvc.yaml present the inspection
      // would pick `dvc repro`, and dvc is not among this project's dependencies.
      '--trainingModule=src.model.train',
      '--no-interactive',
    ]).all;
    expect(out).toContain(`CREATE ${projectRoot}/docker/inference/Dockerfile`);
    expect(out).toContain(`CREATE ${projectRoot}/docker/training/Dockerfile`);
    expect(out).toContain(`CREATE ${projectRoot}/.dockerignore`);
    expect(
      JSON.parse(readFileSync(join(ws, 'nx.json'), 'utf8')).plugins,
    ).toContain('@ml/docker');
    const shown = JSON.parse(nx(['show', 'project', project, '--json']).stdout);
    expect(shown.targets['docker-build'].executor).toBe('@ml/docker:build');
    expect(shown.targets['docker-test'].executor).toBe('@ml/docker:test');
    expect(shown.targets['docker-push'].executor).toBe('@ml/docker:push');
    expect(shown.targets['docker-push'].dependsOn).toEqual(['docker-test']);
    // Promotion and a release's publish move what was built and tested: they build nothing.
    expect(shown.targets['docker-promote'].executor).toBe('@ml/docker:promote');
    expect(shown.targets['docker-promote'].dependsOn ?? []).toEqual([]);
    expect(shown.targets['nx-release-publish'].executor).toBe(
      '@ml/docker:release-publish',
    );
    // The training image's ml-docker.outputs label names models/, which the
    // inference image COPYs: the model comes out of docker-train first.
    expect(shown.targets['docker-train'].executor).toBe('@ml/docker:train');
    expect(shown.targets['docker-train'].outputs).toEqual([
      '{projectRoot}/models',
      '{projectRoot}/metrics',
    ]);
    expect(shown.targets['docker-build'].dependsOn).toEqual([
      '^docker-build',
      'docker-train',
    ]);
    expect(shown.targets['docker-build'].options.outputPath).toBe(
      `dist/docker/${projectRoot}`,
    );
    expect(shown.targets['docker-build'].outputs).toEqual([
      '{options.outputPath}',
    ]);
    // The liveness path travels in the image's label, not in project.json.
    const generated = JSON.parse(
      readFileSync(join(ws, projectRoot, 'project.json'), 'utf8'),
    );
    expect(JSON.stringify(generated)).not.toContain('healthPath');
    expect(
      readFileSync(
        join(ws, projectRoot, 'docker', 'inference', 'Dockerfile'),
        'utf8',
      ),
    ).toContain('LABEL ml-docker.health-path="/health"');
    // Overrides in project.json: the example's API checks.
    const config = JSON.parse(
      readFileSync(join(ws, projectRoot, 'project.json'), 'utf8'),
    );
    config.targets = {
      'docker-test': {
        options: {
          job: { env: { TRAIN_N_SAMPLES: '200', TRAIN_N_ESTIMATORS: '5' } },
          // No readyPath: docker-test finds /ready in the app's OpenAPI document.
          service: {
            smoke: [
              {
                method: 'POST',
                path: '/predict',
                body: { rows: [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]] },
                expectKeys: ['classes', 'probabilities'],
              },
            ],
          },
        },
      },
    };
    writeFileSync(
      join(ws, projectRoot, 'project.json'),
      JSON.stringify(config, null, 2),
    );
    workspace.commitAll('generated Docker files');
  });

  it('docker-train builds the training image, trains in it, and keeps the model in the project', () => {
    const trained = nx(['run', `${project}:docker-train`]).all;
    expect(trained).toMatch(/building with/);
    expect(trained).toContain(`copied models/, metrics/ to ${projectRoot}`);
    // docker-train builds for itself: no build record until docker-build.
    expect(
      existsSync(join(ws, 'dist', 'docker', projectRoot, 'build-record.json')),
    ).toBe(false);
    expect(existsSync(join(ws, projectRoot, 'models', 'model.joblib'))).toBe(
      true,
    );
    expect(
      JSON.parse(
        readFileSync(join(ws, projectRoot, 'metrics', 'metrics.json'), 'utf8'),
      ).accuracy,
    ).toBeGreaterThan(0.5);
  });

  it('builds both images with content, git SHA and latest tags, docker-train from the cache', () => {
    const out = nx(['run', `${project}:docker-build`]).all;
    // Trained already, inputs unchanged: Nx takes docker-train from its cache.
    expect(out).toMatch(
      new RegExp(
        `> nx run ${project}:docker-train\\s+\\[(local cache|existing outputs match the cache, left as is)\\]`,
      ),
    );
    expect(record().version).toBe(2);
    const images = record().images;
    expect(images.map((i) => i.image)).toEqual(['training', 'inference']);
    for (const image of images) {
      expect(image.name).toBe(
        `${REGISTRY}/${repository}/${project}-${image.image}`,
      );
      expect(image.contentTag).toMatch(/^nx-\w+$/);
      expect(image.tags).toEqual([
        image.contentTag,
        expect.stringMatching(/^[0-9a-f]{7}$/),
        'latest',
      ]);
      expect(imageIdOf(`${image.name}:latest`)).toBe(image.imageId);
    }
  });

  it('docker-test proves the inference container healthy and answering /predict, and the training run', () => {
    const out = nx(['run', `${project}:docker-test`]).all;
    expect(out).toMatch(/inference answered \/health with 200 after \d+ ms/);
    expect(out).toMatch(/inference ready \(\/ready 200\) after \d+ ms/);
    expect(out).toContain("inference's own HEALTHCHECK passes");
    expect(out).toContain('inference: POST /predict → 200 ok');
    expect(out).toMatch(
      /training passed: exit 0 in [\d.]+ s, wrote models\/, metrics\//,
    );
  });

  it('docker-push puts every tag in the registry with the digest of the built image', async () => {
    nx(['run', `${project}:docker-push`]);
    const pushed = JSON.parse(
      readFileSync(
        join(ws, 'dist', 'docker', projectRoot, 'push-record.json'),
        'utf8',
      ),
    );
    for (const image of record().images) {
      const path = image.name.slice(REGISTRY.length + 1);
      for (const tag of image.tags) {
        const m = await registryManifest(path, tag);
        expect({ tag, status: m.status, config: m.configDigest }).toEqual({
          tag,
          status: 200,
          config: image.imageId,
        });
        expect(pushed.tags).toContainEqual(
          expect.objectContaining({
            ref: `${image.name}:${tag}`,
            digest: m.digest,
          }),
        );
      }
    }
  });

  it('a second docker-push uploads nothing', () => {
    const out = nx(['run', `${project}:docker-push`]).all;
    expect(out).toContain('already in the registry');
    expect(out).not.toMatch(/@ml\/docker: pushed /);
  });

  it('leaves no container behind', () => {
    expect(ownedContainersOf(project)).toEqual([]);
  });
});
