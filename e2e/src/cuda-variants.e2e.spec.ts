/**
 * CPU and CUDA variants of one PyTorch project. No GPU and no nvidia/cuda
 * image can be had on these machines, so the CUDA Dockerfiles are built with
 * BASE_IMAGE substituted by the offline base (as an air-gapped mirror
 * substitutes its own), their structure is checked, and docker-test says
 * they were built and not run, testing the CPU variants instead; a run that
 * requires the GPU fails. The GPU run itself is covered by the unit tests of
 * its command lines (lib/gpu-check.spec.ts), not here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusProject, CorpusProject } from './support/corpus';
import { expectFailure } from './support/failure-modes';
import { docker } from './support/run';

const OFFLINE_BASE = 'ml-docker/python-offline:3.13-trixie';

describe('a PyTorch project with --accelerator=cuda12.4', () => {
  let p: CorpusProject;
  const env = { ML_DOCKER_BASE_IMAGE: OFFLINE_BASE };

  beforeAll(() => {
    p = corpusProject('activity-recognition', 'research/har');
    expect(p.nx(['g', '@ml/docker:init']).status).toBe(0);
  });

  afterAll(() => p?.dispose());

  it('writes CUDA variants next to the CPU images, on the table nvidia/cuda runtime base', () => {
    const r = p.generate(['--accelerator=cuda12.4']);
    expect(r.status).toBe(0);
    for (const kind of ['training', 'inference']) {
      const cpu = p.read(`docker/${kind}/Dockerfile`);
      const cuda = p.read(`docker/${kind}-cuda/Dockerfile`);
      expect(cpu).toMatch(/^ARG BASE_IMAGE=python:3\.10-slim$/m);
      expect(cpu).toContain('ml-docker.accelerator="cpu"');
      expect(cuda).toMatch(
        /^ARG BASE_IMAGE=nvidia\/cuda:12\.4\.\d+-cudnn-runtime-ubuntu22\.04$/m,
      );
      expect(cuda).toContain(
        'ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu124',
      );
      expect(cuda).toContain('NVIDIA_VISIBLE_DEVICES=all');
      expect(cuda).toContain('ml-docker.accelerator="cuda12.4"');
      expect(cuda).not.toMatch(/-devel-/);
      // Same user, same start command as the CPU image.
      expect(cuda.match(/^USER .*$/m)?.[0]).toBe(cpu.match(/^USER .*$/m)?.[0]);
      expect(cuda.match(/^CMD .*$/m)?.[0]).toBe(cpu.match(/^CMD .*$/m)?.[0]);
    }
  });

  it('builds all four here with the offline base substituted, and tests the CPU variants', () => {
    const r = p.ws.nx(['run', `${p.project}:docker-test`], {
      allowFail: true,
      env,
    });
    expect(r.status).toBe(0);
    for (const image of ['training-cuda', 'inference-cuda'])
      expect(r.all).toContain(
        `${image}: built, not run: no GPU on this engine`,
      );
    expect(r.all).toContain('testing the CPU variant instead');
    expect(r.all).toMatch(/inference passed: healthy in \d+ ms/);
    const recorded = p.recorded();
    expect(recorded.map((i) => i.image).sort()).toEqual([
      'inference',
      'inference-cuda',
      'training',
      'training-cuda',
    ]);
    expect(p.containers()).toEqual([]);
  });

  it('the CUDA images carry the variant, a numeric non-root user and no compiler', () => {
    const record = JSON.parse(
      readFileSync(
        join(p.ws.root, 'dist', 'docker', p.root, 'build-record.json'),
        'utf8',
      ),
    ) as { images: Array<{ image: string; imageId: string; sizeBytes: number }> };
    for (const image of record.images.filter((i) => i.image.endsWith('-cuda'))) {
      expect(image.sizeBytes).toBeGreaterThan(0);
      const config = JSON.parse(
        docker(['image', 'inspect', '--format', '{{json .Config}}', image.imageId])
          .stdout,
      );
      expect(config.User).toBe('10001:10001');
      expect(config.Labels['ml-docker.accelerator']).toBe('cuda12.4');
      expect(config.Env).toEqual(
        expect.arrayContaining([
          'NVIDIA_VISIBLE_DEVICES=all',
          'NVIDIA_DRIVER_CAPABILITIES=compute,utility',
        ]),
      );
      if (image.image === 'inference-cuda')
        expect(config.Healthcheck.Test[0]).toBe('CMD');
      const compilers = docker(
        [
          'run',
          '--rm',
          '--label',
          'ml-docker.e2e=cuda-variants',
          '--entrypoint',
          '/bin/sh',
          image.imageId,
          '-c',
          'command -v gcc cc g++ || true',
        ],
        { allowFail: true },
      );
      expect(compilers.stdout.trim()).toBe('');
    }
  });

  it('with requireGpu, a CUDA image on an engine without a GPU fails', () => {
    const r = p.ws.nx(
      ['run', `${p.project}:docker-test`, '--requireGpu', '--excludeTaskDependencies'],
      { allowFail: true, env },
    );
    expectFailure(r, 'test.gpu-required');
    expect(p.containers()).toEqual([]);
  });

  it('refuses a CUDA build the table does not know, listing the known ones', () => {
    const r = p.generate(['--accelerator=cuda12.1', '--pythonVersion=3.13']);
    expectFailure(r, 'generator.unknown-cuda');
  });
});
