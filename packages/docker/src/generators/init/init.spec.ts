import {
  formatFiles,
  logger,
  NxJsonConfiguration,
  readNxJson,
  Tree,
  updateNxJson,
} from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { UserFacingError } from '../../errors/errors';
import initGenerator, { registerPlugin } from './init';
import { InitGeneratorSchema } from './schema';

jest.mock('@nx/devkit', () => ({
  ...jest.requireActual('@nx/devkit'),
  formatFiles: jest.fn(async () => undefined),
}));

type Plugins = NonNullable<NxJsonConfiguration['plugins']>;

const GLOB = '**/docker/*/Dockerfile';

function workspace(plugins?: Plugins): Tree {
  const tree = createTreeWithEmptyWorkspace();
  if (plugins) updateNxJson(tree, { ...readNxJson(tree), plugins });
  return tree;
}

const nxJsonText = (tree: Tree) => tree.read('nx.json', 'utf-8');
const pluginsOf = (tree: Tree) => readNxJson(tree)?.plugins;

function refusal(tree: Tree, options: InitGeneratorSchema): string {
  const before = nxJsonText(tree);
  try {
    registerPlugin(tree, options);
  } catch (e) {
    expect(e).toBeInstanceOf(UserFacingError);
    expect(nxJsonText(tree)).toBe(before);
    return (e as Error).message;
  }
  throw new Error('registerPlugin did not refuse');
}

describe('init generator', () => {
  beforeEach(() => {
    jest.mocked(formatFiles).mockClear();
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  describe('registering @ml/docker', () => {
    it.each<[string, Plugins | undefined, Plugins]>([
      ['an nx.json without plugins', undefined, ['@ml/docker']],
      ['an empty plugin list', [], ['@ml/docker']],
      [
        'after the plugins already there',
        ['@nx/js/typescript', { plugin: '@nx/eslint/plugin', options: {} }],
        [
          '@nx/js/typescript',
          { plugin: '@nx/eslint/plugin', options: {} },
          '@ml/docker',
        ],
      ],
    ])('registers it once, by name, in %s', (_label, plugins, expected) => {
      const tree = workspace(plugins);
      registerPlugin(tree);
      expect(pluginsOf(tree)).toEqual(expected);
    });

    it('leaves nx.json byte for byte on a second run', () => {
      const tree = workspace(['@nx/js/typescript', '@nx/docker']);
      registerPlugin(tree, { buildTargetName: 'image-build' });
      const once = nxJsonText(tree);
      registerPlugin(tree, { buildTargetName: 'image-build' });
      registerPlugin(tree);
      expect(nxJsonText(tree)).toBe(once);
    });

    it.each<[string, Plugins]>([
      ['by name', ['@nx/js/typescript', '@ml/docker']],
      [
        'with options',
        [
          {
            plugin: '@ml/docker',
            options: { buildTargetName: 'image-build', trainTargetName: 'fit' },
          },
        ],
      ],
      [
        'with include and exclude',
        [
          {
            plugin: '@ml/docker',
            include: ['apps/**'],
            exclude: ['apps/legacy/**'],
          },
        ],
      ],
    ])(
      'keeps an entry registered %s as it is, nx.json byte for byte',
      (_label, plugins) => {
        const tree = workspace(plugins);
        const before = nxJsonText(tree);
        registerPlugin(tree);
        expect(nxJsonText(tree)).toBe(before);
        expect(pluginsOf(tree)).toEqual(plugins);
      },
    );
  });

  describe('target-name options', () => {
    it.each<[string, InitGeneratorSchema]>([
      ['buildTargetName', { buildTargetName: 'image-build' }],
      ['testTargetName', { testTargetName: 'image:test' }],
      ['pushTargetName', { pushTargetName: 'image_push' }],
      ['trainTargetName', { trainTargetName: 'fit' }],
      [
        'all four',
        {
          buildTargetName: 'b',
          testTargetName: 't',
          pushTargetName: 'p',
          trainTargetName: 'f',
        },
      ],
    ])('registers %s in an object entry', (_label, options) => {
      const tree = workspace(['@nx/js/typescript']);
      registerPlugin(tree, { ...options, skipFormat: true });
      expect(pluginsOf(tree)).toEqual([
        '@nx/js/typescript',
        { plugin: '@ml/docker', options },
      ]);
    });

    it('turns an entry registered by name into an object entry with the options, in place', () => {
      const tree = workspace(['@ml/docker', '@nx/js/typescript']);
      registerPlugin(tree, { testTargetName: 'smoke' });
      expect(pluginsOf(tree)).toEqual([
        { plugin: '@ml/docker', options: { testTargetName: 'smoke' } },
        '@nx/js/typescript',
      ]);
    });

    it('adds the options given to those the entry has, keeping its other fields', () => {
      const tree = workspace([
        {
          plugin: '@ml/docker',
          include: ['apps/**'],
          options: { buildTargetName: 'image-build' },
        },
      ]);
      registerPlugin(tree, { testTargetName: 'smoke' });
      expect(pluginsOf(tree)).toEqual([
        {
          plugin: '@ml/docker',
          include: ['apps/**'],
          options: { buildTargetName: 'image-build', testTargetName: 'smoke' },
        },
      ]);
      expect(logger.warn).not.toHaveBeenCalled();
    });

    it('keeps an option the workspace set when asked for another value, and warns', () => {
      const plugins: Plugins = [
        { plugin: '@ml/docker', options: { buildTargetName: 'image-build' } },
      ];
      const tree = workspace(plugins);
      const before = nxJsonText(tree);
      registerPlugin(tree, { buildTargetName: 'docker-build' });
      expect(nxJsonText(tree)).toBe(before);
      expect(logger.warn).toHaveBeenCalledTimes(1);
      expect(logger.warn).toHaveBeenCalledWith(
        '@ml/docker is registered with buildTargetName "image-build"; kept it (asked for "docker-build"). Edit nx.json to change it.',
      );
    });

    it('keeps the conflicting option and adds the new one', () => {
      const tree = workspace([
        { plugin: '@ml/docker', options: { buildTargetName: 'image-build' } },
      ]);
      registerPlugin(tree, { buildTargetName: 'b', pushTargetName: 'ship' });
      expect(pluginsOf(tree)).toEqual([
        {
          plugin: '@ml/docker',
          options: { buildTargetName: 'image-build', pushTargetName: 'ship' },
        },
      ]);
      expect(logger.warn).toHaveBeenCalledWith(
        '@ml/docker is registered with buildTargetName "image-build"; kept it (asked for "b"). Edit nx.json to change it.',
      );
    });

    it('says nothing when the option asked for is the one registered', () => {
      const tree = workspace([
        { plugin: '@ml/docker', options: { buildTargetName: 'image-build' } },
      ]);
      const before = nxJsonText(tree);
      registerPlugin(tree, { buildTargetName: 'image-build' });
      expect(nxJsonText(tree)).toBe(before);
      expect(logger.warn).not.toHaveBeenCalled();
    });

    it.each<[keyof InitGeneratorSchema, string]>([
      ['buildTargetName', 'image build'],
      ['testTargetName', '-test'],
      ['pushTargetName', ''],
      ['trainTargetName', 'train/fit'],
      ['buildTargetName', ':build'],
      ['testTargetName', 'test$(x)'],
    ])('refuses --%s %j, writing nothing', (key, value) => {
      const tree = workspace(['@nx/docker']);
      expect(refusal(tree, { [key]: value })).toBe(
        `--${key} "${value}" is not a target name: use letters, digits and : _ - (e.g. docker-build).`,
      );
    });

    it.each<[InitGeneratorSchema, string]>([
      [
        { buildTargetName: 'image', testTargetName: 'image' },
        'The target names must differ (got image, image, docker-push, docker-train, docker-promote).',
      ],
      [
        { buildTargetName: 'b', testTargetName: 't', pushTargetName: 'b' },
        'The target names must differ (got b, t, b, docker-train, docker-promote).',
      ],
      [
        // Only one name given, clashing with another target's default.
        { testTargetName: 'docker-build' },
        'The target names must differ (got docker-build, docker-build, docker-push, docker-train, docker-promote).',
      ],
    ])(
      'refuses the same name for two targets (%j), writing nothing',
      (options, message) => {
        expect(refusal(workspace(), options)).toBe(message);
      },
    );
  });

  describe('with @nx/docker registered', () => {
    it.each<[string, Plugins, Plugins]>([
      [
        'by name',
        ['@nx/docker'],
        [{ plugin: '@nx/docker', exclude: [GLOB] }, '@ml/docker'],
      ],
      [
        'with options and no exclude',
        [{ plugin: '@nx/docker', options: { buildTarget: 'docker:build' } }],
        [
          {
            plugin: '@nx/docker',
            options: { buildTarget: 'docker:build' },
            exclude: [GLOB],
          },
          '@ml/docker',
        ],
      ],
      [
        'with excludes of its own, which it keeps',
        [
          {
            plugin: '@nx/docker',
            include: ['apps/**'],
            exclude: ['legacy/**'],
          },
        ],
        [
          {
            plugin: '@nx/docker',
            include: ['apps/**'],
            exclude: ['legacy/**', GLOB],
          },
          '@ml/docker',
        ],
      ],
      [
        'after @ml/docker',
        ['@ml/docker', '@nx/docker'],
        ['@ml/docker', { plugin: '@nx/docker', exclude: [GLOB] }],
      ],
    ])(
      'tells @nx/docker, registered %s, to leave docker/<image>/Dockerfile to @ml/docker',
      (_label, plugins, expected) => {
        const tree = workspace(plugins);
        registerPlugin(tree);
        expect(pluginsOf(tree)).toEqual(expected);
      },
    );

    it('does not add the exclude twice', () => {
      const plugins: Plugins = [
        { plugin: '@nx/docker', exclude: ['legacy/**', GLOB] },
        '@ml/docker',
      ];
      const tree = workspace(plugins);
      const before = nxJsonText(tree);
      registerPlugin(tree);
      registerPlugin(tree);
      expect(nxJsonText(tree)).toBe(before);
    });

    it('adds no @nx/docker entry to a workspace without one', () => {
      const tree = workspace(['@nx/js/typescript']);
      registerPlugin(tree);
      expect(pluginsOf(tree)).toEqual(['@nx/js/typescript', '@ml/docker']);
    });

    it('leaves other plugins with exclude-like options alone', () => {
      const tree = workspace([
        '@nx/docker-extras',
        { plugin: '@nx/js', exclude: [] },
      ]);
      registerPlugin(tree);
      expect(pluginsOf(tree)).toEqual([
        '@nx/docker-extras',
        { plugin: '@nx/js', exclude: [] },
        '@ml/docker',
      ]);
    });
  });

  describe('initGenerator', () => {
    it('registers the plugin and formats the files', async () => {
      const tree = workspace();
      await initGenerator(tree, { trainTargetName: 'fit' });
      expect(pluginsOf(tree)).toEqual([
        { plugin: '@ml/docker', options: { trainTargetName: 'fit' } },
      ]);
      expect(formatFiles).toHaveBeenCalledWith(tree);
    });

    it('skips formatting with skipFormat, and keeps skipFormat out of nx.json', async () => {
      const tree = workspace();
      await initGenerator(tree, { skipFormat: true });
      expect(formatFiles).not.toHaveBeenCalled();
      expect(pluginsOf(tree)).toEqual(['@ml/docker']);
    });
  });

  describe('--release: the nx.json release group for the image projects', () => {
    const GROUP = (projects: string[]) => ({
      groups: {
        'ml-images': {
          projects,
          projectsRelationship: 'independent',
          version: {
            versionActions: '@ml/docker/src/release/version-actions',
            currentVersionResolver: 'disk',
          },
        },
      },
    });

    function withProjects(): Tree {
      const tree = workspace();
      for (const [name, files] of Object.entries({
        synth: ['docker/training/Dockerfile', 'docker/inference/Dockerfile'],
        churn: ['docker/inference/Dockerfile'],
        web: ['Dockerfile'],
        // A docker/ folder without a Dockerfile in an image folder is not an image.
        notes: ['docker/README.md'],
      })) {
        tree.write(
          `apps/${name}/project.json`,
          JSON.stringify({ name, root: `apps/${name}` }),
        );
        for (const f of files) tree.write(`apps/${name}/${f}`, 'FROM x\n');
      }
      return tree;
    }

    it('writes a group of the projects with docker/<image>/Dockerfile, using our version actions', async () => {
      const tree = withProjects();
      await initGenerator(tree, { release: true, skipFormat: true });
      expect(readNxJson(tree)?.release).toEqual(GROUP(['churn', 'synth']));
    });

    it.each<[string, (t: Tree) => void, RegExp]>([
      [
        'nx.json releases already (a group would drop every project outside it)',
        (t) =>
          updateNxJson(t, {
            ...readNxJson(t),
            release: { projects: ['lib-a'] },
          }),
        /nx.json has a release block already; it was left as it is.[\s\S]*"ml-images"[\s\S]*"churn"/,
      ],
      [
        'no project has images yet',
        (t) => t.delete('apps'),
        /no project has a docker\/<image>\/Dockerfile yet, so no release group was written/,
      ],
    ])(
      'leaves the release block alone and says what to do when %s',
      async (_, setup, message) => {
        const tree = withProjects();
        setup(tree);
        const before = readNxJson(tree)?.release;
        await initGenerator(tree, { release: true, skipFormat: true });
        expect(readNxJson(tree)?.release).toEqual(before);
        expect(jest.mocked(logger.warn).mock.calls.map((c) => c[0])).toEqual([
          expect.stringMatching(message),
        ]);
      },
    );

    it('writes no release block without --release', async () => {
      const tree = withProjects();
      await initGenerator(tree, { skipFormat: true });
      expect(readNxJson(tree)?.release).toBeUndefined();
    });
  });
});
