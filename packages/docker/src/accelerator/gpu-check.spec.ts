import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpuCheckCommand, GpuSupport } from './gpu-runtime';
import { ContainerSession } from '../containers/container-session';
import { Engine } from '../engine/engine';
import { UserFacingError } from '../errors/errors';
import { engineGpuSupport, proveGpu } from './gpu-check';
import { run, runDetached, RunResult } from '../process/process';
import { fakeEngine } from '../testing/fakes';

jest.mock('../process/process');

const runMock = jest.mocked(run);
const runDetachedMock = jest.mocked(runDetached);

const DOCKER = fakeEngine({ client: '/usr/bin/docker' });
const PODMAN = fakeEngine({
  kind: 'podman',
  client: '/usr/bin/podman',
  host: 'podman',
  mode: 'podman',
  clientVersion: '5.4.0',
  serverVersion: '5.4.0',
  ulimits: ['nofile=1048576:1048576', 'nproc=4194304:4194304'],
});
const IMAGE = {
  image: 'inference-cuda',
  imageId:
    'sha256:5555555555555555555555555555555555555555555555555555555555555555',
};

const result = (exitCode: number, stdout = '', all = stdout): RunResult => ({
  command: '',
  exitCode,
  stdout,
  stderr: '',
  all,
  timedOut: false,
});

function refusal(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => {
      throw new Error('expected a UserFacingError');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(UserFacingError);
      return (e as Error).message;
    },
  );
}

beforeEach(() => {
  runMock.mockReset();
  runDetachedMock.mockReset();
});

describe('engineGpuSupport', () => {
  let cdi: string;

  beforeEach(() => {
    cdi = mkdtempSync(join(tmpdir(), 'ml-docker-cdi-'));
  });

  afterEach(() => rmSync(cdi, { recursive: true, force: true }));

  it.each<[string, Engine, string[]]>([
    ['Docker', DOCKER, ['info', '--format', '{{json .}}']],
    ['Podman', PODMAN, ['info', '--format', 'json']],
  ])('asks %s for its info as JSON', async (_label, engine, args) => {
    runMock.mockResolvedValue(result(0, '{}'));
    await engineGpuSupport(engine);
    expect(runMock.mock.calls).toEqual([
      [engine.client, args, { timeoutMs: 30_000 }],
    ]);
  });

  const info = (value: unknown) => result(0, JSON.stringify(value));
  const RUNC = { runc: { path: 'runc' } };

  it.each<[string, Engine, RunResult, GpuSupport]>([
    [
      'the nvidia runtime of a Docker engine',
      DOCKER,
      info({
        Runtimes: { ...RUNC, nvidia: { path: 'nvidia-container-runtime' } },
      }),
      { nvidia: true, cdi: false, detail: 'nvidia runtime "nvidia"' },
    ],
    [
      'no GPU on a Docker engine with neither the runtime nor CDI',
      DOCKER,
      info({ Runtimes: RUNC }),
      {
        nvidia: false,
        cdi: false,
        detail:
          'Docker has no nvidia runtime (runtimes: runc) and CDI is disabled',
      },
    ],
    [
      "no GPU on a Podman whose OCI runtime is crun, without NVIDIA's CDI spec",
      PODMAN,
      info({ host: { ociRuntime: { name: 'crun', path: '/usr/bin/crun' } } }),
      {
        nvidia: false,
        cdi: false,
        detail:
          "Podman's OCI runtime is crun and there is no nvidia*.yaml CDI spec in /etc/cdi, /var/run/cdi",
      },
    ],
    [
      'no GPU when the info call fails',
      DOCKER,
      result(1, '', 'Cannot connect to the Docker daemon'),
      {
        nvidia: false,
        cdi: false,
        detail: 'the engine info is not the JSON of docker/podman info',
      },
    ],
  ])('finds %s', async (_label, engine, answer, support) => {
    runMock.mockResolvedValue(answer);
    expect(await engineGpuSupport(engine)).toEqual(support);
  });

  it("finds NVIDIA's CDI spec among the files of the CDI folders Docker reports", async () => {
    writeFileSync(join(cdi, 'nvidia.yaml'), 'cdiVersion: 0.5.0\n');
    writeFileSync(join(cdi, 'other-vendor.yaml'), 'cdiVersion: 0.5.0\n');
    runMock.mockResolvedValue(
      info({ Runtimes: RUNC, CDISpecDirs: [cdi, join(cdi, 'missing')] }),
    );
    expect(await engineGpuSupport(DOCKER)).toEqual({
      nvidia: false,
      cdi: true,
      detail: `CDI spec ${join(cdi, 'nvidia.yaml')}`,
    });
  });

  it('takes a CDI folder that does not exist as empty', async () => {
    const missing = join(cdi, 'missing');
    runMock.mockResolvedValue(info({ Runtimes: RUNC, CDISpecDirs: [missing] }));
    expect(await engineGpuSupport(DOCKER)).toEqual({
      nvidia: false,
      cdi: false,
      detail: `Docker has no nvidia runtime (runtimes: runc) and no nvidia*.yaml CDI spec in ${missing}`,
    });
  });
});

describe('proveGpu', () => {
  const NVIDIA: GpuSupport = {
    nvidia: true,
    cdi: false,
    detail: 'nvidia runtime "nvidia"',
  };
  const CDI: GpuSupport = {
    nvidia: false,
    cdi: true,
    detail: 'CDI spec /etc/cdi/nvidia.yaml',
  };
  const NONE: GpuSupport = {
    nvidia: false,
    cdi: false,
    detail: 'Docker has no nvidia runtime (runtimes: runc) and CDI is disabled',
  };

  /** The check's docker run answers `check`; rm succeeds. */
  function engineAnswering(check: RunResult) {
    runMock.mockImplementation(async (_file, args) =>
      args[0] === 'run' ? check : result(0),
    );
  }

  const calls = (verb: string) =>
    runMock.mock.calls.filter(([, args]) => args[0] === verb);
  const nameOf = () => {
    const args = calls('run')[0][1];
    return args[args.indexOf('--name') + 1];
  };

  it.each<[string, Engine, GpuSupport, string[], string[]]>([
    ['Docker with the nvidia runtime', DOCKER, NVIDIA, [], ['--gpus', 'all']],
    ['Docker with CDI', DOCKER, CDI, [], ['--device', 'nvidia.com/gpu=all']],
    [
      'Podman with CDI, after its ulimits',
      PODMAN,
      CDI,
      [
        '--ulimit',
        'nofile=1048576:1048576',
        '--ulimit',
        'nproc=4194304:4194304',
      ],
      ['--device', 'nvidia.com/gpu=all'],
    ],
  ])(
    'runs the torch check in a fresh container on %s, returns the GPU flags, and removes the container',
    async (_label, engine, support, engineFlags, gpuFlags) => {
      engineAnswering(
        result(0, 'GPU: NVIDIA L4 (torch 2.6.0+cu124, CUDA 12.4)'),
      );
      const session = new ContainerSession(engine);
      const returned = await proveGpu(session, 'synth', IMAGE, support);
      const name = nameOf();
      expect(name).toMatch(/^mld-synth-inference-cuda-gpu-[0-9a-f]{8}$/);
      expect(calls('run')).toEqual([
        [
          engine.client,
          [
            'run',
            '--name',
            name,
            '--label',
            'ml-docker.owner=test',
            ...engineFlags,
            ...gpuFlags,
            '--entrypoint',
            '',
            IMAGE.imageId,
            ...gpuCheckCommand('torch'),
          ],
          { timeoutMs: 300_000 },
        ],
      ]);
      expect(returned).toEqual(gpuFlags);
      expect(runDetachedMock).toHaveBeenCalledWith('/bin/sh', [
        '-c',
        expect.any(String),
        'ml-docker-reaper',
        String(process.pid),
        engine.client,
        name,
      ]);
      expect(calls('rm')).toEqual([
        [engine.client, ['rm', '-f', '-v', name], { timeoutMs: 30_000 }],
      ]);
    },
  );

  it('runs python -c with the check that exits 0 only when torch sees a device', () => {
    const [python, flag, script] = gpuCheckCommand('torch');
    expect([python, flag]).toEqual(['python', '-c']);
    expect(script).toContain('torch.cuda.is_available()');
    expect(script).toContain('sys.exit(0 if ok else 1)');
  });

  it.each<[string, RunResult, string]>([
    [
      'what torch printed',
      result(
        1,
        '',
        '\ntorch.cuda.is_available() is False (torch 2.6.0+cpu, CUDA None)\nmore\n',
      ),
      'torch.cuda.is_available() is False (torch 2.6.0+cpu, CUDA None)',
    ],
    ['the exit code when it printed nothing', result(137, '', ''), 'exit 137'],
  ])(
    'fails with %s when torch does not see the GPU, and still removes the container',
    async (_label, check, said) => {
      engineAnswering(check);
      const session = new ContainerSession(DOCKER);
      expect(await refusal(proveGpu(session, 'synth', IMAGE, NVIDIA))).toBe(
        `inference-cuda got a GPU from the engine but torch does not see it: ${said}. Check that the image installs the CUDA build of torch (its TORCH_INDEX_URL) and that the host's driver supports its CUDA version.`,
      );
      expect(calls('rm')).toEqual([
        [DOCKER.client, ['rm', '-f', '-v', nameOf()], { timeoutMs: 30_000 }],
      ]);
    },
  );

  it('starts no container when the engine cannot hand out a GPU', async () => {
    engineAnswering(result(0));
    const session = new ContainerSession(DOCKER);
    expect(await refusal(proveGpu(session, 'synth', IMAGE, NONE))).toBe(
      'Cannot give the container a GPU: Docker has no nvidia runtime (runtimes: runc) and CDI is disabled. Install the NVIDIA Container Toolkit, then run "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker".',
    );
    expect(runMock).not.toHaveBeenCalled();
    expect(runDetachedMock).not.toHaveBeenCalled();
  });
});
