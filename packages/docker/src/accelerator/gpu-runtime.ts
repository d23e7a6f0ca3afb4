/**
 * docker-test's GPU decision, kept pure: whether the engine can hand a GPU to
 * a container (from `docker info --format '{{json .}}'` or `podman info
 * --format json`, plus the CDI spec files the caller listed), the run flags
 * that do it, the in-container check, and what to do with a CUDA image when
 * there is no GPU. The caller runs the commands and lists the directories.
 */
import { basename, dirname } from 'node:path';
import { fail } from '../errors/errors';

export type EngineKind = 'docker' | 'podman';

export interface GpuSupport {
  /** The engine runs containers through NVIDIA's container runtime. */
  nvidia: boolean;
  /** NVIDIA devices are available as CDI devices (nvidia.com/gpu=all). */
  cdi: boolean;
  /** For messages: what was found, or what is missing. */
  detail: string;
}

export interface GpuDecisionInput {
  isCudaImage: boolean;
  support: GpuSupport;
  requireGpu?: boolean;
  hasCpuVariant?: boolean;
  /** Image name for messages, e.g. inference-cuda. */
  image?: string;
}

export interface GpuDecision {
  /**
   * gpu: run it with gpuRunArgs and gpuCheckCommand; cpu: not a CUDA image,
   * run it as usual; cpu-variant: leave the CUDA image unrun and test its CPU
   * variant; skip: leave it unrun, report message.
   */
  run: 'gpu' | 'cpu' | 'cpu-variant' | 'skip';
  message: string;
}

/**
 * Where NVIDIA's toolkit writes CDI specs (nvidia-ctk cdi generate, the
 * nvidia-cdi-refresh service) and where Docker and Podman read them by default.
 */
export const DEFAULT_CDI_SPEC_DIRS = ['/etc/cdi', '/var/run/cdi'];

const NVIDIA_SPEC = /^nvidia.*\.(ya?ml|json)$/i;

/**
 * The directories whose files the caller should list for gpuSupport. Docker
 * reports them (CDISpecDirs, Docker 25+; empty while CDI is disabled);
 * Podman always reads CDI specs and does not report where.
 */
export function cdiSpecDirs(info: unknown): string[] {
  const parsed = parseInfo(info);
  if (!parsed) return [];
  if (isPodmanInfo(parsed)) return [...DEFAULT_CDI_SPEC_DIRS];
  return stringArray(parsed.CDISpecDirs);
}

/**
 * @param info `docker info --format '{{json .}}'` or `podman info --format
 *   json`, as text or parsed.
 * @param cdiSpecFiles Paths of the files in cdiSpecDirs(info).
 */
export function gpuSupport(
  info: unknown,
  cdiSpecFiles: string[] = [],
): GpuSupport {
  const parsed = parseInfo(info);
  if (!parsed) {
    return {
      nvidia: false,
      cdi: false,
      detail: 'the engine info is not the JSON of docker/podman info',
    };
  }
  return isPodmanInfo(parsed)
    ? podmanSupport(parsed, cdiSpecFiles)
    : dockerSupport(parsed, cdiSpecFiles);
}

function dockerSupport(
  info: Record<string, unknown>,
  specFiles: string[],
): GpuSupport {
  const runtimes = isRecord(info.Runtimes) ? info.Runtimes : {};
  const nvidiaRuntime = Object.entries(runtimes).find(
    ([name, r]) => name === 'nvidia' || isNvidiaBinary(runtimePath(r)),
  )?.[0];
  const dirs = stringArray(info.CDISpecDirs);
  // Docker 28.3+ lists the CDI devices it found; older ones only the dirs.
  const devices = Array.isArray(info.DiscoveredDevices)
    ? info.DiscoveredDevices.filter(
        (d): d is { Source: string; ID: string } =>
          isRecord(d) &&
          d.Source === 'cdi' &&
          typeof d.ID === 'string' &&
          d.ID.startsWith('nvidia.com/gpu'),
      ).map((d) => d.ID)
    : [];
  const specs = nvidiaSpecs(specFiles, dirs);
  const cdi = dirs.length > 0 && (devices.length > 0 || specs.length > 0);

  const found: string[] = [];
  if (nvidiaRuntime) found.push(`nvidia runtime "${nvidiaRuntime}"`);
  if (cdi)
    found.push(
      `CDI ${devices.length > 0 ? `devices ${devices.join(', ')}` : `spec ${specs.join(', ')}`}`,
    );
  if (found.length > 0)
    return { nvidia: !!nvidiaRuntime, cdi, detail: found.join(' and ') };

  const names = Object.keys(runtimes);
  const cdiPart =
    dirs.length === 0
      ? 'CDI is disabled'
      : `no nvidia*.yaml CDI spec in ${dirs.join(', ')}`;
  return {
    nvidia: false,
    cdi: false,
    detail: `Docker has no nvidia runtime (runtimes: ${names.length > 0 ? names.join(', ') : 'none listed'}) and ${cdiPart}`,
  };
}

function podmanSupport(
  info: Record<string, unknown>,
  specFiles: string[],
): GpuSupport {
  const host = info.host as Record<string, unknown>;
  const oci = isRecord(host.ociRuntime) ? host.ociRuntime : {};
  const ociName = typeof oci.name === 'string' ? oci.name : '';
  const ociPath = typeof oci.path === 'string' ? oci.path : '';
  const nvidia = /nvidia/i.test(ociName) || isNvidiaBinary(ociPath);
  const specs = nvidiaSpecs(specFiles, DEFAULT_CDI_SPEC_DIRS);
  const cdi = specs.length > 0;

  const found: string[] = [];
  if (cdi) found.push(`CDI spec ${specs.join(', ')}`);
  if (nvidia) found.push(`OCI runtime ${ociName || ociPath}`);
  if (found.length > 0) return { nvidia, cdi, detail: found.join(' and ') };
  return {
    nvidia: false,
    cdi: false,
    detail: `Podman's OCI runtime is ${ociName || ociPath || 'unknown'} and there is no nvidia*.yaml CDI spec in ${DEFAULT_CDI_SPEC_DIRS.join(', ')}`,
  };
}

/** Flags for `docker run` / `podman run` that give the container every GPU. */
export function gpuRunArgs(
  engineKind: EngineKind,
  support: GpuSupport,
): string[] {
  // --gpus goes through Docker's nvidia integration and works on every
  // Docker version that has it; CDI only where the engine enabled it.
  if (engineKind === 'docker' && support.nvidia) return ['--gpus', 'all'];
  if (support.cdi) return ['--device', 'nvidia.com/gpu=all'];
  // Podman with nvidia-container-runtime as its OCI runtime and no CDI spec:
  // the runtime's legacy mode attaches the GPUs this variable names.
  if (engineKind === 'podman' && support.nvidia)
    return ['--env', 'NVIDIA_VISIBLE_DEVICES=all'];
  fail(
    `Cannot give the container a GPU: ${support.detail}. ${TOOLKIT_HELP[engineKind]}`,
  );
}

const TOOLKIT_HELP: Record<EngineKind, string> = {
  docker:
    'Install the NVIDIA Container Toolkit, then run "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker".',
  podman:
    'Install the NVIDIA Container Toolkit, then run "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml".',
};

const CHECK_SCRIPTS: Record<'torch', string> = {
  // Prints the device on success and what torch was built for on failure:
  // a CPU-only wheel (torch.version.cuda is None) is the usual culprit.
  torch:
    "import sys, torch; ok = torch.cuda.is_available(); print(('GPU: ' + torch.cuda.get_device_name(0)) if ok else 'torch.cuda.is_available() is False', '(torch ' + torch.__version__ + ', CUDA ' + str(torch.version.cuda) + ')'); sys.exit(0 if ok else 1)",
};

/** The command to run in the image: exits 0 only when the framework sees a GPU. */
export function gpuCheckCommand(framework: 'torch'): string[] {
  return ['python', '-c', CHECK_SCRIPTS[framework]];
}

export function gpuDecision(input: GpuDecisionInput): GpuDecision {
  const image = input.image ?? 'CUDA image';
  if (!input.isCudaImage)
    return { run: 'cpu', message: `${input.image ?? 'image'}: CPU image` };
  const { support } = input;
  if (support.nvidia || support.cdi)
    return { run: 'gpu', message: `${image}: on the GPU (${support.detail})` };
  if (input.requireGpu) {
    fail(
      `${image} needs a GPU (requireGpu is set) but this engine has none: ${support.detail}. On a host with an NVIDIA GPU: install the NVIDIA Container Toolkit, then "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker" (Podman: "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml"); or unset requireGpu to build the image without running it.`,
    );
  }
  const notRun = `${image}: built, not run: no GPU on this engine (${support.detail})`;
  return input.hasCpuVariant
    ? {
        run: 'cpu-variant',
        message: `${notRun}; testing the CPU variant instead`,
      }
    : { run: 'skip', message: notRun };
}

function parseInfo(info: unknown): Record<string, unknown> | undefined {
  if (typeof info === 'string') {
    try {
      info = JSON.parse(info);
    } catch {
      return undefined;
    }
  }
  return isRecord(info) ? info : undefined;
}

// Podman's info nests everything under host/store/registries/version;
// Docker's is flat with capitalized keys.
function isPodmanInfo(info: Record<string, unknown>): boolean {
  return isRecord(info.host) && 'ociRuntime' in info.host;
}

function nvidiaSpecs(files: string[], dirs: string[]): string[] {
  const wanted = new Set(dirs.map(trimSlash));
  return files.filter(
    (f) => wanted.has(trimSlash(dirname(f))) && NVIDIA_SPEC.test(basename(f)),
  );
}

function trimSlash(dir: string): string {
  return dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
}

function runtimePath(runtime: unknown): string {
  return isRecord(runtime) && typeof runtime.path === 'string'
    ? runtime.path
    : '';
}

function isNvidiaBinary(path: string): boolean {
  return /(^|\/)nvidia-container-runtime(\.[a-z]+)?$/.test(path);
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string')
    : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
