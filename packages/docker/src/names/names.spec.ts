import type { NxJsonConfiguration } from '@nx/devkit';
import { minimatch } from 'minimatch';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUILD_RECORD_FILE,
  configuredTargetNames,
  DEFAULT_TARGET_NAMES,
  defaultOutputPath,
  DOCKERFILE_GLOB,
  dockerfileOf,
  dockerfileOwner,
  EXECUTORS,
  PLUGIN_NAME,
  pluginEntry,
  PUSH_RECORD_FILE,
  TargetNames,
  TEST_RECORD_FILE,
  targetNames,
} from './names';

const OWNED: Array<[string, string, { projectRoot: string; image: string }]> = [
  [
    'a project at the workspace root',
    'docker/x/Dockerfile',
    { projectRoot: '.', image: 'x' },
  ],
  [
    'a project at the workspace root, written with ./',
    './docker/inference/Dockerfile',
    { projectRoot: '.', image: 'inference' },
  ],
  [
    'a nested project',
    'apps/synth/docker/training/Dockerfile',
    { projectRoot: 'apps/synth', image: 'training' },
  ],
  [
    'a deeply nested project',
    'examples/ml/churn/docker/inference-cuda12.4/Dockerfile',
    { projectRoot: 'examples/ml/churn', image: 'inference-cuda12.4' },
  ],
  [
    'a project one level down',
    'synth/docker/base/Dockerfile',
    { projectRoot: 'synth', image: 'base' },
  ],
  [
    'a Windows path',
    'apps\\synth\\docker\\training\\Dockerfile',
    { projectRoot: 'apps/synth', image: 'training' },
  ],
  [
    'a Windows path at the workspace root',
    'docker\\x\\Dockerfile',
    { projectRoot: '.', image: 'x' },
  ],
  [
    'a project whose own folder is called docker',
    'libs/docker/docker/base/Dockerfile',
    { projectRoot: 'libs/docker', image: 'base' },
  ],
];

const NOT_OWNED: Array<[string, string]> = [
  ['a Dockerfile at the project root', 'apps/synth/Dockerfile'],
  ['a Dockerfile directly in docker/', 'apps/synth/docker/Dockerfile'],
  ['a Dockerfile nested deeper', 'apps/synth/docker/training/dev/Dockerfile'],
  ['another file of an image folder', 'apps/synth/docker/training/app.py'],
  ['a Dockerfile with a suffix', 'apps/synth/docker/training/Dockerfile.dev'],
  ['a lowercase dockerfile', 'apps/synth/docker/training/dockerfile'],
  [
    'a folder that only ends in docker',
    'apps/synth/mydocker/training/Dockerfile',
  ],
  ['a folder named docker-images', 'docker-images/x/Dockerfile'],
  ['an empty path', ''],
];

function readJson(file: string) {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', file), 'utf8'));
}

describe('names', () => {
  describe('package and executors', () => {
    it('names the package as its package.json does', () => {
      expect(PLUGIN_NAME).toBe(readJson('package.json').name);
    });

    it('names exactly the executors executors.json declares, after the package', () => {
      const declared = Object.keys(readJson('executors.json').executors);
      expect(Object.values(EXECUTORS).sort()).toEqual(
        declared.map((e) => `${PLUGIN_NAME}:${e}`).sort(),
      );
    });

    it('gives each record its own file', () => {
      const files = [BUILD_RECORD_FILE, PUSH_RECORD_FILE, TEST_RECORD_FILE];
      expect(new Set(files).size).toBe(files.length);
    });
  });

  describe('dockerfileOwner', () => {
    it.each(OWNED)('gives %s its owner', (_label, file, owner) => {
      expect(dockerfileOwner(file)).toEqual(owner);
    });

    it.each(NOT_OWNED)('owns nothing for %s', (_label, file) => {
      expect(dockerfileOwner(file)).toBeUndefined();
    });

    // Nx hands createNodes the files its glob matches, with forward slashes
    // and no leading ./: for those, the glob and dockerfileOwner must agree.
    it.each(
      [...OWNED, ...NOT_OWNED]
        .map(([label, file]): [string, string] => [label, file])
        .filter(
          ([, file]) => file && !file.includes('\\') && !file.startsWith('./'),
        ),
    )('agrees with the createNodes glob on %s', (_label, file) => {
      expect(minimatch(file, DOCKERFILE_GLOB)).toBe(
        dockerfileOwner(file) !== undefined,
      );
    });

    it.each(['training', 'inference'])(
      'puts the Dockerfile of %s at docker/<image>/Dockerfile, which it owns',
      (image) => {
        expect(dockerfileOf(image)).toBe(`docker/${image}/Dockerfile`);
        expect(dockerfileOwner(`apps/x/${dockerfileOf(image)}`)).toEqual({
          projectRoot: 'apps/x',
          image,
        });
      },
    );
  });

  describe('targetNames', () => {
    it('gives the default names', () => {
      expect(targetNames()).toEqual(DEFAULT_TARGET_NAMES);
      expect(targetNames({})).toEqual(DEFAULT_TARGET_NAMES);
      expect(DEFAULT_TARGET_NAMES).toMatchObject({
        build: 'docker-build',
        test: 'docker-test',
        push: 'docker-push',
      });
    });

    it.each<[string, Parameters<typeof targetNames>[0], Partial<TargetNames>]>([
      [
        'the build target',
        { buildTargetName: 'image-build' },
        { build: 'image-build', test: 'docker-test', push: 'docker-push' },
      ],
      [
        'the test target',
        { testTargetName: 'smoke' },
        { build: 'docker-build', test: 'smoke', push: 'docker-push' },
      ],
      [
        'the push target',
        { pushTargetName: 'publish' },
        { build: 'docker-build', test: 'docker-test', push: 'publish' },
      ],
      [
        'every target',
        {
          buildTargetName: 'b',
          testTargetName: 't',
          pushTargetName: 'p',
        },
        { build: 'b', test: 't', push: 'p' },
      ],
    ])('renames %s and keeps the others', (_label, options, names) => {
      expect(targetNames(options)).toMatchObject(names);
    });
  });

  describe('pluginEntry and configuredTargetNames', () => {
    const nxJson = (
      plugins: NxJsonConfiguration['plugins'],
    ): NxJsonConfiguration => ({ plugins });

    it.each<[string, NxJsonConfiguration | null | undefined]>([
      ['no nx.json', null],
      ['an undefined nx.json', undefined],
      ['an nx.json without plugins', {}],
      ['an empty plugin list', nxJson([])],
      ['only other plugins', nxJson(['@nx/js', { plugin: '@nx/docker' }])],
      [
        'a plugin whose name only starts like ours',
        nxJson(['@ml/docker-extra', { plugin: '@ml/dockerfile' }]),
      ],
    ])('finds no entry in %s', (_label, json) => {
      expect(pluginEntry(json)).toBeUndefined();
      expect(configuredTargetNames(json)).toEqual(DEFAULT_TARGET_NAMES);
    });

    it('reads a string entry as an entry without options', () => {
      const json = nxJson(['@nx/js', '@ml/docker']);
      expect(pluginEntry(json)).toEqual({ index: 1, options: {} });
      expect(configuredTargetNames(json)).toEqual(DEFAULT_TARGET_NAMES);
    });

    it('reads an object entry without options as one without options', () => {
      const json = nxJson([{ plugin: '@ml/docker' }]);
      expect(pluginEntry(json)).toEqual({ index: 0, options: {} });
      expect(configuredTargetNames(json)).toEqual(DEFAULT_TARGET_NAMES);
    });

    it('reads the options of an object entry', () => {
      const json = nxJson([
        { plugin: '@nx/docker', options: { buildTarget: 'x' } },
        '@nx/js',
        {
          plugin: '@ml/docker',
          options: {
            buildTargetName: 'image-build',
            pushTargetName: 'publish',
          },
        },
      ]);
      expect(pluginEntry(json)).toEqual({
        index: 2,
        options: { buildTargetName: 'image-build', pushTargetName: 'publish' },
      });
      expect(configuredTargetNames(json)).toMatchObject({
        build: 'image-build',
        test: 'docker-test',
        push: 'publish',
      });
    });

    it('takes the first entry when the plugin is registered twice', () => {
      const json = nxJson([
        { plugin: '@ml/docker', options: { testTargetName: 'first' } },
        { plugin: '@ml/docker', options: { testTargetName: 'second' } },
      ]);
      expect(pluginEntry(json)?.index).toBe(0);
      expect(configuredTargetNames(json).test).toBe('first');
    });
  });

  describe('defaultOutputPath', () => {
    it.each([
      ['.', 'dist/docker/.workspace-root'],
      ['', 'dist/docker/.workspace-root'],
      ['apps/synth', 'dist/docker/apps/synth'],
      ['examples/ml/churn', 'dist/docker/examples/ml/churn'],
      ['synth', 'dist/docker/synth'],
    ])('puts the record of %j under %j', (projectRoot, outputPath) => {
      expect(defaultOutputPath(projectRoot)).toBe(outputPath);
    });
  });
});
