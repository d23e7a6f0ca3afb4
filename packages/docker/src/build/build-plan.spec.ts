import { ExecutorContext } from '@nx/devkit';
import { join } from 'node:path';
import type { BuildOptions } from './build-options';
import {
  buildArgsFor,
  NormalizedBuildOptions,
  normalizeOptions,
  ociLabels,
  tagsFor,
} from './build-plan';
import { UserFacingError } from '../errors/errors';
import { GitInfo } from '../process/git';
import { run, RunResult } from '../process/process';
import { restoreEnvAfterEach } from '../testing/fakes';

jest.mock('../process/process');

const runMock = jest.mocked(run);

const ROOT = '/ws';
const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const ENV_KEYS = ['NX_TASK_HASH', 'ML_DOCKER_BASE_IMAGE'] as const;

function ok(stdout = ''): RunResult {
  return {
    command: '',
    exitCode: 0,
    stdout,
    stderr: '',
    all: stdout,
    timedOut: false,
  };
}

function makeContext(
  overrides: Partial<ExecutorContext> = {},
): ExecutorContext {
  return {
    root: ROOT,
    cwd: ROOT,
    isVerbose: false,
    projectName: 'synth',
    targetName: 'docker-build',
    projectsConfigurations: {
      version: 2,
      projects: {
        synth: {
          root: 'apps/synth',
          targets: {
            'docker-build': { executor: '@ml/docker:build', options: {} },
          },
        },
      },
    },
    nxJsonConfiguration: {},
    projectGraph: { nodes: {}, dependencies: {} },
    ...overrides,
  };
}

function taskGraphWith(id: string, hash: string): ExecutorContext['taskGraph'] {
  const [project, target, configuration] = id.split(':');
  return {
    roots: [id],
    tasks: {
      [id]: {
        id,
        target: { project, target, configuration },
        overrides: {},
        outputs: [],
        cache: true,
        hash,
      },
    },
    dependencies: { [id]: [] },
    continuousDependencies: { [id]: [] },
  };
}

describe('build plan', () => {
  restoreEnvAfterEach(ENV_KEYS);
  let context: ExecutorContext;

  beforeEach(() => {
    for (const k of ENV_KEYS) delete process.env[k];
    context = makeContext();
    runMock.mockReset();
  });

  describe('normalizeOptions', () => {
    it('fills in the defaults', () => {
      expect(normalizeOptions({}, context)).toEqual({
        latest: true,
        gitShaTag: true,
        engine: 'auto',
        registryCache: true,
        baseImage: undefined,
        recordPath: join(ROOT, 'dist/docker/apps/synth/build-record.json'),
        contentTag: undefined,
      });
    });

    it('keeps the options given', () => {
      const options: BuildOptions = {
        latest: false,
        gitShaTag: false,
        engine: 'classic',
        tags: ['v1'],
        baseImage: 'python:3.12-slim',
      };
      expect(normalizeOptions(options, context)).toMatchObject(options);
    });

    it.each([
      ['no baseImage option', {}, undefined],
      [
        'the baseImage option',
        { baseImage: 'python:3.12-slim' },
        'python:3.12-slim',
      ],
    ])(
      'keeps ML_DOCKER_BASE_IMAGE out of baseImage, which holds %s (the variable applies per Dockerfile)',
      (_label, options, baseImage) => {
        process.env.ML_DOCKER_BASE_IMAGE = 'mirror.local/python:3.10-slim';
        expect(normalizeOptions(options, context).baseImage).toBe(baseImage);
      },
    );

    it('writes the record under outputPath when given', () => {
      expect(
        normalizeOptions({ outputPath: 'dist/images/synth' }, context)
          .recordPath,
      ).toBe(join(ROOT, 'dist/images/synth/build-record.json'));
    });

    it('writes the record of a project at the workspace root under dist/docker', () => {
      const ctx = makeContext({
        projectName: 'app',
        projectsConfigurations: {
          version: 2,
          projects: { app: { root: '.', targets: {} } },
        },
      });
      expect(normalizeOptions({}, ctx).recordPath).toBe(
        join(ROOT, 'dist/docker/.workspace-root/build-record.json'),
      );
    });

    it('derives the content tag from NX_TASK_HASH', () => {
      process.env.NX_TASK_HASH = '9f8e7d6c5b4a39281706';
      expect(normalizeOptions({}, context).contentTag).toBe(
        'nx-9f8e7d6c5b4a39281706',
      );
    });

    it.each([
      ['the task', 'synth:docker-build', undefined],
      ['the task of a configuration', 'synth:docker-build:ci', 'ci'],
    ])(
      'derives the content tag from the hash of %s in the task graph',
      (_label, id, configurationName) => {
        const ctx = makeContext({
          configurationName,
          taskGraph: taskGraphWith(id, '1234567890abcdef'),
        });
        expect(normalizeOptions({}, ctx).contentTag).toBe(
          'nx-1234567890abcdef',
        );
      },
    );

    it('ignores the hash of another task', () => {
      const ctx = makeContext({
        taskGraph: taskGraphWith('other:docker-build', '1234567890abcdef'),
      });
      expect(normalizeOptions({}, ctx).contentTag).toBeUndefined();
    });

    it('prefers NX_TASK_HASH to the task graph', () => {
      process.env.NX_TASK_HASH = 'fromenv';
      const ctx = makeContext({
        taskGraph: taskGraphWith('synth:docker-build', 'fromgraph'),
      });
      expect(normalizeOptions({}, ctx).contentTag).toBe('nx-fromenv');
    });

    it.each<[string, string | undefined]>([
      ['the content tag of the record', 'nx-recorded'],
      ['no content tag when the record has none', undefined],
    ])(
      'keeps %s when rebuilding a recorded image, whatever the task hash',
      (_label, recorded) => {
        process.env.NX_TASK_HASH = 'thisrun';
        expect(
          normalizeOptions({}, context, {
            contentTag: recorded,
            tags: ['latest'],
          }).contentTag,
        ).toBe(recorded);
      },
    );

    it.each(['my tag', '-rc', '.x', 'a/b', 'v1:2', '$(id)', ''])(
      'refuses the user tag %j',
      (tag) => {
        expect(() => normalizeOptions({ tags: ['ok', tag] }, context)).toThrow(
          UserFacingError,
        );
        expect(() => normalizeOptions({ tags: ['ok', tag] }, context)).toThrow(
          `Invalid tag "${tag}" in the tags option`,
        );
      },
    );

    it('refuses to run outside a project', () => {
      expect(() =>
        normalizeOptions({}, makeContext({ projectName: undefined })),
      ).toThrow(
        'This executor must run on a project: nx run <project>:<target>.',
      );
    });
  });

  describe('tagsFor', () => {
    const base: NormalizedBuildOptions = {
      latest: true,
      gitShaTag: true,
      engine: 'auto',
      registryCache: true,
      recordPath: '/x',
    };
    const clean: GitInfo = { sha: SHA, shortSha: 'abcdef0', dirty: false };
    const dirty: GitInfo = { ...clean, dirty: true };
    const noGit: GitInfo = { dirty: false };

    it.each<[string, Partial<NormalizedBuildOptions>, GitInfo, string[]]>([
      [
        'content tag, SHA and latest by default',
        { contentTag: 'nx-123' },
        clean,
        ['nx-123', 'abcdef0', 'latest'],
      ],
      ['no content tag outside nx', {}, clean, ['abcdef0', 'latest']],
      [
        'no SHA when the project has uncommitted changes',
        { contentTag: 'nx-123' },
        dirty,
        ['nx-123', 'latest'],
      ],
      [
        'no SHA outside a git repository',
        { contentTag: 'nx-123' },
        noGit,
        ['nx-123', 'latest'],
      ],
      ['no SHA with gitShaTag off', { gitShaTag: false }, clean, ['latest']],
      [
        'no latest with latest off',
        { latest: false, contentTag: 'nx-123' },
        clean,
        ['nx-123', 'abcdef0'],
      ],
      [
        'user tags last',
        { tags: ['v1.2.0', 'stable'] },
        clean,
        ['abcdef0', 'latest', 'v1.2.0', 'stable'],
      ],
      [
        'each tag once',
        { contentTag: 'nx-1', tags: ['latest', 'abcdef0', 'nx-1', 'v1', 'v1'] },
        clean,
        ['nx-1', 'abcdef0', 'latest', 'v1'],
      ],
      [
        'nothing when everything is off',
        { latest: false, gitShaTag: false },
        clean,
        [],
      ],
    ])('gives %s', (_label, options, git, tags) => {
      expect(tagsFor({ ...base, ...options }, git)).toEqual(tags);
    });
  });

  describe('ociLabels', () => {
    const clean: GitInfo = {
      sha: SHA,
      shortSha: 'abcdef0',
      dirty: false,
      remoteUrl: 'https://github.com/acme/ml.git',
    };

    it('takes source and revision from git, and the commit time as created', async () => {
      runMock.mockResolvedValue(ok('2024-05-01T12:00:00+02:00'));
      await expect(ociLabels(clean, ROOT)).resolves.toEqual({
        'org.opencontainers.image.source': 'https://github.com/acme/ml.git',
        'org.opencontainers.image.revision': SHA,
        'org.opencontainers.image.created': '2024-05-01T10:00:00.000Z',
      });
      expect(runMock).toHaveBeenCalledWith(
        'git',
        ['show', '-s', '--format=%cI', 'HEAD'],
        { cwd: ROOT, timeoutMs: 10_000 },
      );
    });

    it('uses the time of the build, without asking git, when the project has uncommitted changes', async () => {
      const before = Date.now();
      const labels = await ociLabels({ ...clean, dirty: true }, ROOT);
      expect(runMock).not.toHaveBeenCalled();
      expect(
        Date.parse(labels['org.opencontainers.image.created']),
      ).toBeGreaterThanOrEqual(before - 1000);
      expect(labels['org.opencontainers.image.revision']).toBe(SHA);
    });

    it('gives only created outside a git repository', async () => {
      const labels = await ociLabels({ dirty: false }, ROOT);
      expect(Object.keys(labels)).toEqual(['org.opencontainers.image.created']);
      expect(runMock).not.toHaveBeenCalled();
    });

    it('falls back to the time of the build when git cannot tell the commit time', async () => {
      runMock.mockResolvedValue({ ...ok(), exitCode: 128 });
      const labels = await ociLabels(clean, ROOT);
      expect(
        Number.isNaN(Date.parse(labels['org.opencontainers.image.created'])),
      ).toBe(false);
    });
  });

  describe('buildArgsFor', () => {
    const DECLARES = 'ARG BASE_IMAGE=python:3.10-slim\nFROM ${BASE_IMAGE}\n';
    const DOES_NOT = 'FROM python:3.10-slim\nCMD ["python"]\n';
    const MIRROR = 'mirror.local/python:3.10-slim';
    const RECORDED = '127.0.0.1:5000/ml-images/ml-base:nx-1';

    it.each<
      [
        string,
        string,
        Pick<NormalizedBuildOptions, 'baseImage' | 'buildArgs'>,
        Record<string, string>,
        NodeJS.ProcessEnv,
        Record<string, string>,
      ]
    >([
      ['nothing by default', DECLARES, {}, {}, {}, {}],
      [
        'ML_DOCKER_BASE_IMAGE over the default of the Dockerfile',
        DECLARES,
        {},
        {},
        { ML_DOCKER_BASE_IMAGE: MIRROR },
        { BASE_IMAGE: MIRROR },
      ],
      [
        'no ML_DOCKER_BASE_IMAGE for a Dockerfile without ARG BASE_IMAGE',
        DOES_NOT,
        {},
        {},
        { ML_DOCKER_BASE_IMAGE: MIRROR },
        {},
      ],
      [
        'the image a dependency recorded over ML_DOCKER_BASE_IMAGE',
        DECLARES,
        {},
        { BASE_IMAGE: RECORDED },
        { ML_DOCKER_BASE_IMAGE: MIRROR },
        { BASE_IMAGE: RECORDED },
      ],
      [
        'the baseImage option over the image a dependency recorded',
        DECLARES,
        { baseImage: 'python:3.12-slim' },
        { BASE_IMAGE: RECORDED },
        { ML_DOCKER_BASE_IMAGE: MIRROR },
        { BASE_IMAGE: 'python:3.12-slim' },
      ],
      [
        'no baseImage option for a Dockerfile without ARG BASE_IMAGE',
        DOES_NOT,
        { baseImage: 'python:3.12-slim' },
        {},
        {},
        {},
      ],
      [
        'an explicit build arg over the baseImage option',
        DECLARES,
        { baseImage: 'python:3.12-slim', buildArgs: { BASE_IMAGE: 'b:2' } },
        { BASE_IMAGE: RECORDED },
        { ML_DOCKER_BASE_IMAGE: MIRROR },
        { BASE_IMAGE: 'b:2' },
      ],
      [
        'every dependency arg and build arg, build args last',
        DECLARES,
        { buildArgs: { PIP_NO_INDEX: '1' } },
        { BASE_IMAGE: RECORDED, ML_COMMON_IMAGE: 'r/ml-common-lib:nx-2' },
        {},
        {
          BASE_IMAGE: RECORDED,
          ML_COMMON_IMAGE: 'r/ml-common-lib:nx-2',
          PIP_NO_INDEX: '1',
        },
      ],
    ])(
      'gives %s',
      (_label, dockerfile, opts, dependencyArgs, env, expected) => {
        const args = buildArgsFor(dockerfile, opts, dependencyArgs, env);
        expect(args).toEqual(expected);
        expect(Object.keys(args)).toEqual(Object.keys(expected));
      },
    );

    it('reads ML_DOCKER_BASE_IMAGE from the environment by default', () => {
      process.env.ML_DOCKER_BASE_IMAGE = MIRROR;
      expect(buildArgsFor(DECLARES, {}, {})).toEqual({ BASE_IMAGE: MIRROR });
    });

    it('leaves the dependency args it is given untouched', () => {
      const dependencyArgs = { BASE_IMAGE: RECORDED };
      buildArgsFor(DECLARES, { baseImage: 'python:3.12-slim' }, dependencyArgs);
      expect(dependencyArgs).toEqual({ BASE_IMAGE: RECORDED });
    });
  });
});
