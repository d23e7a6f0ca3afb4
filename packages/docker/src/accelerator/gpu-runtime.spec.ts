import { spawnSync } from 'node:child_process';
import { UserFacingError } from '../errors/errors';
import {
  cdiSpecDirs,
  gpuCheckCommand,
  gpuDecision,
  gpuRunArgs,
  GpuSupport,
  gpuSupport,
} from './gpu-runtime';

// `docker info --format '{{json .}}'` of Debian 12's docker.io 20.10, as a
// development machine printed it, trimmed to the fields around the ones read.
const docker20NoGpu = {
  ID: 'TPRV:UNYP:ZDDL:BBMN:5QWN:A2I3:7WHN:CH5T:HNP5:UGBO:LSJB:C6WI',
  Driver: 'overlay2',
  KernelVersion: '6.1.0-18-amd64',
  OperatingSystem: 'Debian GNU/Linux 12 (bookworm)',
  ServerVersion: '20.10.24+dfsg1',
  Runtimes: {
    'io.containerd.runc.v2': { path: 'runc' },
    'io.containerd.runtime.v1.linux': { path: 'runc' },
    runc: { path: 'runc' },
  },
  DefaultRuntime: 'runc',
  Swarm: { LocalNodeState: 'inactive' },
  SecurityOptions: ['name=seccomp,profile=default'],
  Warnings: null,
};

// Docker 27 after `nvidia-ctk runtime configure --runtime=docker`; CDI is
// off by default there, so CDISpecDirs is empty.
const docker27Nvidia = {
  ServerVersion: '27.3.1',
  Runtimes: {
    'io.containerd.runc.v2': { path: 'runc' },
    nvidia: { path: 'nvidia-container-runtime' },
    runc: { path: 'runc' },
  },
  DefaultRuntime: 'runc',
  CDISpecDirs: [],
  CgroupVersion: '2',
};

// Docker 28.3+: CDI on by default, and info lists the devices it found.
const docker28Cdi = {
  ServerVersion: '28.3.2',
  Runtimes: {
    'io.containerd.runc.v2': { path: 'runc' },
    runc: { path: 'runc' },
  },
  DefaultRuntime: 'runc',
  CDISpecDirs: ['/etc/cdi', '/var/run/cdi'],
  DiscoveredDevices: [
    { Source: 'cdi', ID: 'nvidia.com/gpu=0' },
    { Source: 'cdi', ID: 'nvidia.com/gpu=all' },
  ],
};

const docker26CdiDirsOnly = {
  ServerVersion: '26.1.4',
  Runtimes: { runc: { path: 'runc' } },
  DefaultRuntime: 'runc',
  CDISpecDirs: ['/etc/cdi', '/var/run/cdi'],
};

// `podman info --format json` (Podman 4.9 on Ubuntu 24.04), trimmed.
function podmanInfo(ociRuntime: Record<string, string>) {
  return {
    host: {
      arch: 'amd64',
      cgroupManager: 'systemd',
      cgroupVersion: 'v2',
      distribution: { distribution: 'ubuntu', version: '24.04' },
      ociRuntime,
      os: 'linux',
      security: { rootless: true },
    },
    store: { graphDriverName: 'overlay' },
    registries: { search: ['docker.io'] },
    version: { APIVersion: '4.9.3', Version: '4.9.3', OsArch: 'linux/amd64' },
  };
}
const crun = {
  name: 'crun',
  package: 'crun_1.14.1-1_amd64',
  path: '/usr/bin/crun',
  version: 'crun version 1.14.1',
};

describe('gpuSupport', () => {
  it.each<[string, unknown, string[], GpuSupport]>([
    [
      'Docker without the NVIDIA toolkit',
      docker20NoGpu,
      [],
      {
        nvidia: false,
        cdi: false,
        detail:
          'Docker has no nvidia runtime (runtimes: io.containerd.runc.v2, io.containerd.runtime.v1.linux, runc) and CDI is disabled',
      },
    ],
    [
      'the same, as the text docker prints',
      JSON.stringify(docker20NoGpu),
      [],
      {
        nvidia: false,
        cdi: false,
        detail:
          'Docker has no nvidia runtime (runtimes: io.containerd.runc.v2, io.containerd.runtime.v1.linux, runc) and CDI is disabled',
      },
    ],
    [
      'Docker with the nvidia runtime',
      docker27Nvidia,
      [],
      { nvidia: true, cdi: false, detail: 'nvidia runtime "nvidia"' },
    ],
    [
      'a runtime registered under another name',
      {
        ...docker20NoGpu,
        Runtimes: { gpu: { path: '/usr/bin/nvidia-container-runtime' } },
      },
      [],
      { nvidia: true, cdi: false, detail: 'nvidia runtime "gpu"' },
    ],
    [
      'Docker listing NVIDIA CDI devices',
      docker28Cdi,
      [],
      {
        nvidia: false,
        cdi: true,
        detail: 'CDI devices nvidia.com/gpu=0, nvidia.com/gpu=all',
      },
    ],
    [
      'Docker with CDI dirs and an NVIDIA spec in them',
      docker26CdiDirsOnly,
      ['/etc/cdi/nvidia.yaml', '/etc/cdi/other-vendor.yaml'],
      { nvidia: false, cdi: true, detail: 'CDI spec /etc/cdi/nvidia.yaml' },
    ],
    [
      'Docker with CDI dirs but no NVIDIA spec',
      docker26CdiDirsOnly,
      ['/etc/cdi/intel.yaml'],
      {
        nvidia: false,
        cdi: false,
        detail:
          'Docker has no nvidia runtime (runtimes: runc) and no nvidia*.yaml CDI spec in /etc/cdi, /var/run/cdi',
      },
    ],
    [
      'Docker with CDI disabled ignores spec files',
      docker27Nvidia,
      ['/etc/cdi/nvidia.yaml'],
      { nvidia: true, cdi: false, detail: 'nvidia runtime "nvidia"' },
    ],
    [
      'nvidia runtime and CDI together',
      { ...docker28Cdi, Runtimes: docker27Nvidia.Runtimes },
      [],
      {
        nvidia: true,
        cdi: true,
        detail:
          'nvidia runtime "nvidia" and CDI devices nvidia.com/gpu=0, nvidia.com/gpu=all',
      },
    ],
    [
      'Podman without a CDI spec',
      podmanInfo(crun),
      [],
      {
        nvidia: false,
        cdi: false,
        detail:
          "Podman's OCI runtime is crun and there is no nvidia*.yaml CDI spec in /etc/cdi, /var/run/cdi",
      },
    ],
    [
      'Podman with the spec nvidia-cdi-refresh writes',
      podmanInfo(crun),
      ['/var/run/cdi/nvidia.yaml'],
      { nvidia: false, cdi: true, detail: 'CDI spec /var/run/cdi/nvidia.yaml' },
    ],
    [
      'Podman with a spec somewhere it does not read',
      podmanInfo(crun),
      ['/home/me/nvidia.yaml'],
      {
        nvidia: false,
        cdi: false,
        detail:
          "Podman's OCI runtime is crun and there is no nvidia*.yaml CDI spec in /etc/cdi, /var/run/cdi",
      },
    ],
    [
      'Podman running nvidia-container-runtime',
      podmanInfo({
        name: 'nvidia',
        path: '/usr/bin/nvidia-container-runtime',
      }),
      [],
      { nvidia: true, cdi: false, detail: 'OCI runtime nvidia' },
    ],
    [
      'text that is not JSON',
      'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.',
      [],
      {
        nvidia: false,
        cdi: false,
        detail: 'the engine info is not the JSON of docker/podman info',
      },
    ],
    [
      'JSON that is not an object',
      '[]',
      [],
      {
        nvidia: false,
        cdi: false,
        detail: 'the engine info is not the JSON of docker/podman info',
      },
    ],
  ])('%s', (_, info, specFiles, expected) => {
    expect(gpuSupport(info, specFiles)).toEqual(expected);
  });
});

describe('cdiSpecDirs', () => {
  it.each<[string, unknown, string[]]>([
    ['Docker with CDI disabled', docker27Nvidia, []],
    ['Docker 20 (no CDI)', docker20NoGpu, []],
    ['Docker with CDI', docker28Cdi, ['/etc/cdi', '/var/run/cdi']],
    ['Podman', podmanInfo(crun), ['/etc/cdi', '/var/run/cdi']],
    ['not JSON', 'oops', []],
  ])('%s', (_, info, dirs) => {
    expect(cdiSpecDirs(info)).toEqual(dirs);
  });
});

describe('gpuRunArgs', () => {
  const none: GpuSupport = { nvidia: false, cdi: false, detail: 'no GPU' };
  it.each<['docker' | 'podman', GpuSupport, string[]]>([
    ['docker', { nvidia: true, cdi: false, detail: '' }, ['--gpus', 'all']],
    ['docker', { nvidia: true, cdi: true, detail: '' }, ['--gpus', 'all']],
    [
      'docker',
      { nvidia: false, cdi: true, detail: '' },
      ['--device', 'nvidia.com/gpu=all'],
    ],
    [
      'podman',
      { nvidia: false, cdi: true, detail: '' },
      ['--device', 'nvidia.com/gpu=all'],
    ],
    [
      'podman',
      { nvidia: true, cdi: true, detail: '' },
      ['--device', 'nvidia.com/gpu=all'],
    ],
    [
      'podman',
      { nvidia: true, cdi: false, detail: '' },
      ['--env', 'NVIDIA_VISIBLE_DEVICES=all'],
    ],
  ])('%s %j', (kind, support, args) => {
    expect(gpuRunArgs(kind, support)).toEqual(args);
  });

  it.each([
    [
      'docker' as const,
      'Cannot give the container a GPU: no GPU. Install the NVIDIA Container Toolkit, then run "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker".',
    ],
    [
      'podman' as const,
      'Cannot give the container a GPU: no GPU. Install the NVIDIA Container Toolkit, then run "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml".',
    ],
  ])('refuses %s without GPU support', (kind, message) => {
    expect(() => gpuRunArgs(kind, none)).toThrow(new UserFacingError(message));
  });
});

describe('gpuCheckCommand', () => {
  const [file, flag, script] = gpuCheckCommand('torch');

  it('runs python -c with a one-line torch check', () => {
    expect([file, flag]).toEqual(['python', '-c']);
    expect(script).toContain('torch.cuda.is_available()');
    expect(script).toContain('torch.cuda.get_device_name(0)');
    expect(script).toContain('sys.exit(0 if ok else 1)');
    expect(script).not.toContain('\n');
  });

  // The script runs inside the image, where a syntax error would read as "no
  // GPU"; compile it here with whatever Python the machine has.
  const python = ['python3', 'python'].find(
    (p) => spawnSync(p, ['--version']).status === 0,
  );
  (python ? it : it.skip)('is valid Python', () => {
    const r = spawnSync(
      python as string,
      ['-c', 'import sys; compile(sys.argv[1], "<check>", "exec")', script],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('gpuDecision', () => {
  const gpu = gpuSupport(docker27Nvidia);
  const noGpu = gpuSupport(docker20NoGpu);
  const why =
    'Docker has no nvidia runtime (runtimes: io.containerd.runc.v2, io.containerd.runtime.v1.linux, runc) and CDI is disabled';

  it.each<
    [string, Parameters<typeof gpuDecision>[0], ReturnType<typeof gpuDecision>]
  >([
    [
      'a CPU image ignores the GPU question',
      {
        isCudaImage: false,
        support: noGpu,
        requireGpu: true,
        image: 'inference',
      },
      { run: 'cpu', message: 'inference: CPU image' },
    ],
    [
      'a CUDA image with a GPU runs on it',
      { isCudaImage: true, support: gpu, image: 'inference-cuda' },
      {
        run: 'gpu',
        message: 'inference-cuda: on the GPU (nvidia runtime "nvidia")',
      },
    ],
    [
      'no GPU and a CPU variant: test that',
      {
        isCudaImage: true,
        support: noGpu,
        hasCpuVariant: true,
        image: 'inference-cuda',
      },
      {
        run: 'cpu-variant',
        message: `inference-cuda: built, not run: no GPU on this engine (${why}); testing the CPU variant instead`,
      },
    ],
    [
      'no GPU and no CPU variant: skip',
      { isCudaImage: true, support: noGpu, image: 'training' },
      {
        run: 'skip',
        message: `training: built, not run: no GPU on this engine (${why})`,
      },
    ],
    [
      'no image name',
      { isCudaImage: true, support: noGpu },
      {
        run: 'skip',
        message: `CUDA image: built, not run: no GPU on this engine (${why})`,
      },
    ],
  ])('%s', (_, input, expected) => {
    expect(gpuDecision(input)).toEqual(expected);
  });

  it('fails when the GPU is required, saying how to get one', () => {
    expect(() =>
      gpuDecision({
        isCudaImage: true,
        support: noGpu,
        requireGpu: true,
        hasCpuVariant: true,
        image: 'inference-cuda',
      }),
    ).toThrow(
      new UserFacingError(
        `inference-cuda needs a GPU (requireGpu is set) but this engine has none: ${why}. On a host with an NVIDIA GPU: install the NVIDIA Container Toolkit, then "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker" (Podman: "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml"); or unset requireGpu to build the image without running it.`,
      ),
    );
  });
});
