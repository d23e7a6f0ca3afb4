/**
 * Asks the engine whether it can hand a GPU to a container, and proves it:
 * the framework inside a CUDA image must see the device. The decisions
 * themselves are pure (accelerator/gpu-runtime); this runs the commands.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  cdiSpecDirs,
  gpuCheckCommand,
  gpuRunArgs,
  gpuSupport,
  GpuSupport,
} from './gpu-runtime';
import {
  ContainerSession,
  containerName,
  ownerLabelArgs,
} from '../containers/container-session';
import { runFlags } from '../engine/commands';
import { docker, Engine, firstLine } from '../engine/engine';
import { fail } from '../errors/errors';

export async function engineGpuSupport(engine: Engine): Promise<GpuSupport> {
  const info = await docker(
    engine,
    ['info', '--format', engine.kind === 'podman' ? 'json' : '{{json .}}'],
    {
      timeoutMs: 30_000,
    },
  );
  const text = info.exitCode === 0 ? info.stdout : '';
  const files = cdiSpecDirs(text).flatMap((dir) => {
    try {
      return readdirSync(dir).map((f) => join(dir, f));
    } catch {
      return [];
    }
  });
  return gpuSupport(text, files);
}

/** Runs the framework's check in a fresh container of the image, with the GPU flags docker-test runs it with. */
export async function proveGpu(
  session: ContainerSession,
  project: string,
  image: { image: string; imageId: string },
  support: GpuSupport,
): Promise<string[]> {
  const flags = gpuRunArgs(session.engine.kind, support);
  const name = containerName(project, `${image.image}-gpu`);
  session.track(name);
  try {
    const r = await docker(
      session.engine,
      [
        'run',
        '--name',
        name,
        ...ownerLabelArgs('test'),
        ...runFlags(session.engine),
        ...flags,
        '--entrypoint',
        '',
        image.imageId,
        ...gpuCheckCommand('torch'),
      ],
      { timeoutMs: 5 * 60_000 },
    );
    if (r.exitCode !== 0)
      fail(
        `${image.image} got a GPU from the engine but torch does not see it: ${firstLine(r.all) || `exit ${r.exitCode}`}. Check that the image installs the CUDA build of torch (its TORCH_INDEX_URL) and that the host's driver supports its CUDA version.`,
      );
    return flags;
  } finally {
    await session.remove(name);
  }
}
