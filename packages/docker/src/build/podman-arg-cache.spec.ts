/**
 * Which cache images a fresh Podman store takes before a build (the ARG
 * steps buildah never looks up in --cache-from) and the commands that take
 * them. The process layer and the registry client are stand-ins.
 */
import {
  isArgStep,
  seedArgSteps,
  sitsOnAny,
  stageBases,
} from './podman-arg-cache';
import { run, RunResult } from '../process/process';
import { ImageConfig, RegistryClient } from '../registry/registry-client';
import { fakeEngine } from '../testing/fakes';

jest.mock('../process/process');

const runMock = jest.mocked(run);

const PODMAN = fakeEngine({
  kind: 'podman',
  client: '/usr/bin/podman',
  host: 'local store',
  mode: 'podman',
  clientVersion: '4.3.1',
  serverVersion: '4.3.1',
});

function result(exitCode: number, stdout = ''): RunResult {
  return {
    command: '',
    exitCode,
    stdout,
    stderr: '',
    all: stdout,
    timedOut: false,
  };
}

const arg = (name: string, layers: string[]): ImageConfig => ({
  history: [
    { created_by: '/bin/sh -c #(nop) ADD file:base in /' },
    { created_by: `/bin/sh -c #(nop) ARG ${name}`, empty_layer: true },
  ],
  rootfs: { diff_ids: layers },
});

describe('podman-arg-cache', () => {
  describe('isArgStep', () => {
    it.each<[string, ImageConfig, boolean]>([
      ['an ARG step', arg('PIP_INDEX_URL', ['sha256:a']), true],
      [
        'an ENV step',
        {
          history: [
            { created_by: '/bin/sh -c #(nop) ENV Y=1', empty_layer: true },
          ],
        },
        false,
      ],
      [
        'a RUN that mentions ARG',
        {
          history: [{ created_by: '|1 X=1 /bin/sh -c echo "#(nop) ARG X"' }],
        },
        false,
      ],
      ['no history', {}, false],
    ])('%s', (_label, config, expected) => {
      expect(isArgStep(config)).toBe(expected);
    });
  });

  describe('sitsOnAny', () => {
    const base = ['sha256:b1', 'sha256:b2'];
    it.each<[string, string[], boolean]>([
      ['exactly the base (an ARG right after FROM)', base, true],
      ['the base and more (an ARG after a RUN)', [...base, 'sha256:r1'], true],
      ['an older base', ['sha256:old', 'sha256:b2'], false],
      ['part of the base only', ['sha256:b1'], false],
      ['no layers', [], false],
    ])('%s', (_label, layers, expected) => {
      expect(sitsOnAny({ rootfs: { diff_ids: layers } }, [base])).toBe(
        expected,
      );
    });

    it('never matches an empty base', () => {
      expect(sitsOnAny({ rootfs: { diff_ids: ['sha256:x'] } }, [[]])).toBe(
        false,
      );
    });
  });

  describe('stageBases', () => {
    const dockerfile = [
      'ARG BASE_IMAGE=python:3.12-slim',
      'ARG LIB_IMAGE=registry.example/team/lib:latest',
      'FROM ${LIB_IMAGE} AS lib',
      'FROM ${BASE_IMAGE} AS builder',
      'ARG PIP_INDEX_URL',
      'RUN pip install -r requirements.txt',
      'FROM ${BASE_IMAGE} AS runtime',
      'COPY --from=builder /opt/venv /opt/venv',
      'COPY --from=ghcr.io/astral-sh/uv:0.5 /uv /bin/uv',
      'FROM runtime AS test',
      '',
    ].join('\n');

    it('lists each image a stage starts FROM once, with the build args applied, stages and COPY --from left out', () => {
      expect(
        stageBases(dockerfile, { BASE_IMAGE: '127.0.0.1:5000/mirror/py:3.12' }),
      ).toEqual([
        'registry.example/team/lib:latest',
        '127.0.0.1:5000/mirror/py:3.12',
      ]);
    });
  });

  describe('seedArgSteps', () => {
    const CACHE = '127.0.0.1:5000/ml/synth-inference-buildcache';
    const BASE = '127.0.0.1:5000/mirror/py:3.12';
    const baseLayers = ['sha256:b1', 'sha256:b2'];
    const configs: Record<string, ImageConfig> = {
      k_arg: arg('BUILD_PACKAGES', baseLayers),
      k_arg2: arg('PIP_INDEX_URL', baseLayers),
      k_env: {
        history: [
          { created_by: '/bin/sh -c #(nop) ENV Y=1', empty_layer: true },
        ],
        rootfs: { diff_ids: baseLayers },
      },
      k_oldbase: arg('BUILD_PACKAGES', ['sha256:old']),
      k_run: {
        history: [{ created_by: '/bin/sh -c pip install -r requirements.txt' }],
        rootfs: { diff_ids: [...baseLayers, 'sha256:venv'] },
      },
    };
    const client = {
      tags: jest.fn(async () => Object.keys(configs)),
      imageConfig: jest.fn(async (_path: string, tag: string) => configs[tag]),
    };
    const seed = () =>
      seedArgSteps(PODMAN, CACHE, [BASE], client as unknown as RegistryClient);
    const inspect = (layers: string[]) =>
      result(0, JSON.stringify([{ Id: 'abc', RootFS: { Layers: layers } }]));

    beforeEach(() => {
      runMock.mockReset();
      client.tags.mockClear();
      client.imageConfig.mockClear();
    });

    it('pulls the missing base, then only the ARG images on top of it', async () => {
      let basePulled = false;
      runMock.mockImplementation(async (_file, args) => {
        if (args[0] === 'image')
          return basePulled ? inspect(baseLayers) : result(125);
        if (args.includes(BASE)) basePulled = true;
        return result(0);
      });
      await expect(seed()).resolves.toEqual(['k_arg', 'k_arg2']);
      expect(client.tags).toHaveBeenCalledWith('ml/synth-inference-buildcache');
      const pulls = runMock.mock.calls
        .filter(([, args]) => args[0] === 'pull')
        .map(([file, args]) => [file, ...args].join(' '));
      expect(pulls.sort()).toEqual([
        `/usr/bin/podman pull --quiet --tls-verify=false ${CACHE}:k_arg`,
        `/usr/bin/podman pull --quiet --tls-verify=false ${CACHE}:k_arg2`,
        `/usr/bin/podman pull --tls-verify=false ${BASE}`,
      ]);
    });

    it('leaves out a tag whose pull fails', async () => {
      runMock.mockImplementation(async (_file, args) => {
        if (args[0] === 'image') return inspect(baseLayers);
        return result(args.at(-1)?.endsWith(':k_arg') ? 1 : 0);
      });
      await expect(seed()).resolves.toEqual(['k_arg2']);
    });

    it('asks the registry nothing when no base can be had', async () => {
      runMock.mockResolvedValue(result(125));
      await expect(seed()).resolves.toEqual([]);
      expect(client.tags).not.toHaveBeenCalled();
    });
  });
});
