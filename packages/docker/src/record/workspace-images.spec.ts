import { ProjectConfiguration, TargetConfiguration } from '@nx/devkit';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXECUTORS } from '../names/names';
import { buildTargetOf, workspaceImageIndex } from './workspace-images';

const build = (options: Record<string, unknown> = {}): TargetConfiguration => ({
  executor: EXECUTORS.build,
  options,
});
const other: TargetConfiguration = {
  executor: 'nx:run-commands',
  options: { command: 'docker build .' },
};

describe('buildTargetOf', () => {
  it('is the build executor @ml/docker:build', () => {
    expect(EXECUTORS.build).toBe('@ml/docker:build');
  });

  it.each<[string, Record<string, TargetConfiguration>, string | undefined]>([
    [
      'docker-build when it runs the build executor',
      { 'docker-build': build() },
      'docker-build',
    ],
    [
      'docker-build even when it builds only some images',
      { 'docker-build': build({ images: ['training'] }) },
      'docker-build',
    ],
    [
      'docker-build before another build target',
      { images: build(), 'docker-build': build() },
      'docker-build',
    ],
    [
      'another target running the build executor when docker-build runs something else',
      { 'docker-build': other, containers: build() },
      'containers',
    ],
    [
      'the target that builds every image, not one limited to some images',
      {
        'docker-build-training': build({ images: ['training'] }),
        containers: build(),
      },
      'containers',
    ],
    [
      'nothing when the only build target is limited to some images',
      { 'docker-build-training': build({ images: ['training'] }) },
      undefined,
    ],
    [
      'nothing when no target runs the build executor',
      { 'docker-build': other },
      undefined,
    ],
    ['nothing for a project without targets', {}, undefined],
  ])('gives %s', (_label, targets, target) => {
    expect(buildTargetOf({ root: 'apps/synth', targets })).toBe(target);
  });

  it('gives nothing for a project whose targets are not set', () => {
    expect(buildTargetOf({ root: 'apps/synth' })).toBeUndefined();
  });

  it.each<[string, Record<string, TargetConfiguration>, string | undefined]>([
    [
      'the preferred target',
      { containers: build(), 'docker-build': build() },
      'containers',
    ],
    [
      'another build target when the preferred one is not ours',
      { containers: other, 'docker-build': build() },
      'docker-build',
    ],
  ])('takes %s', (_label, targets, target) => {
    expect(buildTargetOf({ root: 'apps/synth', targets }, 'containers')).toBe(
      target,
    );
  });
});

describe('workspaceImageIndex', () => {
  let workspaceRoot: string;
  const savedRegistry = process.env.ML_DOCKER_REGISTRY;

  beforeEach(() => {
    delete process.env.ML_DOCKER_REGISTRY;
    workspaceRoot = mkdtempSync(join(tmpdir(), 'ml-docker-index-'));
  });

  afterEach(() => {
    if (savedRegistry === undefined) delete process.env.ML_DOCKER_REGISTRY;
    else process.env.ML_DOCKER_REGISTRY = savedRegistry;
    rmSync(workspaceRoot, { recursive: true, force: true });
  });

  function dockerfiles(root: string, ...images: string[]) {
    for (const image of images) {
      mkdirSync(join(workspaceRoot, root, 'docker', image), {
        recursive: true,
      });
      writeFileSync(
        join(workspaceRoot, root, 'docker', image, 'Dockerfile'),
        'FROM python:3.10-slim\n',
      );
    }
  }

  it('maps the repository path of every image to the project that builds it', () => {
    dockerfiles('examples/ml-base', 'base');
    dockerfiles('examples/synth', 'training', 'inference');
    const projects: Record<string, ProjectConfiguration> = {
      'ml-base': {
        root: 'examples/ml-base',
        targets: { 'docker-build': build({ imageNames: { base: 'ml-base' } }) },
      },
      synth: { root: 'examples/synth', targets: { 'docker-build': build() } },
    };
    expect(
      Object.fromEntries(workspaceImageIndex(projects, workspaceRoot)),
    ).toEqual({
      'ml-images/ml-base': {
        project: 'ml-base',
        image: 'base',
        name: '127.0.0.1:5000/ml-images/ml-base',
        buildTarget: 'docker-build',
      },
      'ml-images/synth-training': {
        project: 'synth',
        image: 'training',
        name: '127.0.0.1:5000/ml-images/synth-training',
        buildTarget: 'docker-build',
      },
      'ml-images/synth-inference': {
        project: 'synth',
        image: 'inference',
        name: '127.0.0.1:5000/ml-images/synth-inference',
        buildTarget: 'docker-build',
      },
    });
  });

  it.each<
    [string, Record<string, unknown>, string | undefined, string, string]
  >([
    [
      'the registry option, keeping its path inside the host',
      { registry: 'us-central1-docker.pkg.dev/my-gcp-project' },
      undefined,
      'my-gcp-project/ml-images/synth-training',
      'us-central1-docker.pkg.dev/my-gcp-project/ml-images/synth-training',
    ],
    [
      'ML_DOCKER_REGISTRY',
      {},
      'registry.example.com',
      'ml-images/synth-training',
      'registry.example.com/ml-images/synth-training',
    ],
    [
      'the repository option',
      { repository: 'team/models' },
      undefined,
      'team/models/synth-training',
      '127.0.0.1:5000/team/models/synth-training',
    ],
    [
      'an image name',
      { imageNames: { training: 'trainer' } },
      undefined,
      'ml-images/trainer',
      '127.0.0.1:5000/ml-images/trainer',
    ],
  ])('names the image after %s', (_label, options, env, key, name) => {
    if (env) process.env.ML_DOCKER_REGISTRY = env;
    dockerfiles('examples/synth', 'training');
    const index = workspaceImageIndex(
      {
        synth: {
          root: 'examples/synth',
          targets: { 'docker-build': build(options) },
        },
      },
      workspaceRoot,
    );
    expect([...index.keys()]).toEqual([key]);
    expect(index.get(key)?.name).toBe(name);
  });

  it('names the build target the project runs', () => {
    dockerfiles('examples/synth', 'training');
    const index = workspaceImageIndex(
      { synth: { root: 'examples/synth', targets: { containers: build() } } },
      workspaceRoot,
    );
    expect(index.get('ml-images/synth-training')?.buildTarget).toBe(
      'containers',
    );
  });

  it.each<[string, Record<string, TargetConfiguration>, string]>([
    [
      'the preferred build target',
      { containers: build(), 'docker-build': build() },
      'containers',
    ],
    [
      'the preferred build target, even when it builds only some images',
      { containers: build({ images: ['training'] }) },
      'containers',
    ],
    [
      'another build target when the preferred one is not ours',
      { containers: other, 'docker-build': build() },
      'docker-build',
    ],
  ])('indexes %s', (_label, targets, buildTarget) => {
    dockerfiles('examples/synth', 'training');
    const index = workspaceImageIndex(
      { synth: { root: 'examples/synth', targets } },
      workspaceRoot,
      'containers',
    );
    expect(index.get('ml-images/synth-training')?.buildTarget).toBe(
      buildTarget,
    );
  });

  it('reads the naming options of the build target it indexes', () => {
    dockerfiles('examples/synth', 'training');
    const index = workspaceImageIndex(
      {
        synth: {
          root: 'examples/synth',
          targets: {
            containers: build({ imageNames: { training: 'trainer' } }),
            'docker-build': build(),
          },
        },
      },
      workspaceRoot,
      'containers',
    );
    expect([...index.keys()]).toEqual(['ml-images/trainer']);
  });

  it.each<[string, ProjectConfiguration]>([
    [
      'a project without a build target',
      { root: 'examples/synth', targets: { 'docker-build': other } },
    ],
    ['a project without targets', { root: 'examples/synth' }],
    [
      'an image name Docker would refuse',
      {
        root: 'examples/synth',
        targets: {
          'docker-build': build({ imageNames: { training: 'Synth Training' } }),
        },
      },
    ],
    [
      'an invalid registry',
      {
        root: 'examples/synth',
        targets: { 'docker-build': build({ registry: 'not a host' }) },
      },
    ],
  ])('leaves out %s', (_label, config) => {
    dockerfiles('examples/synth', 'training');
    expect(workspaceImageIndex({ synth: config }, workspaceRoot).size).toBe(0);
  });

  it('leaves out a project with no docker/<image>/Dockerfile', () => {
    mkdirSync(join(workspaceRoot, 'examples/synth/docker/notes'), {
      recursive: true,
    });
    const index = workspaceImageIndex(
      {
        synth: { root: 'examples/synth', targets: { 'docker-build': build() } },
      },
      workspaceRoot,
    );
    expect(index.size).toBe(0);
  });

  it('keeps the valid images of a project when one name is invalid', () => {
    dockerfiles('examples/synth', 'training', 'inference');
    const index = workspaceImageIndex(
      {
        synth: {
          root: 'examples/synth',
          targets: {
            'docker-build': build({ imageNames: { training: 'Bad Name' } }),
          },
        },
      },
      workspaceRoot,
    );
    expect([...index.keys()]).toEqual(['ml-images/synth-inference']);
  });
});
