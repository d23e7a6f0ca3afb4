/**
 * A training image's run under docker-test or docker-train: the container
 * must exit 0 within the timeout and leave its artifacts in the folders
 * mounted for them; they are copied out when asked.
 */
import { logger } from '@nx/devkit';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { ImageRecord } from '../record/build-record';
import { containerName, ContainerSession } from './container-session';
import { runFlags } from '../engine/commands';
import { docker } from '../engine/engine';
import { ImageInfo } from '../engine/image-inspection';
import { fail } from '../errors/errors';
import { OUTPUTS_LABEL } from '../names/names';
import { ProjectInfo } from '../record/project-images';
import { jobRunArgs } from './run-args';
import { NormalizedTestOptions } from './test-options';
import { withLogs } from './service-check';

export async function runJob(
  session: ContainerSession,
  project: ProjectInfo,
  image: ImageRecord,
  info: ImageInfo,
  opts: NormalizedTestOptions,
  workspaceRoot: string,
  gpuFlags: string[] = [],
): Promise<void> {
  const j = opts.job;
  const artifacts = j.artifacts.length
    ? j.artifacts
    : outputsOf(info.labels[OUTPUTS_LABEL]);
  const name = containerName(project.name, image.image);
  const scratch = mkdtempSync(join(tmpdir(), 'ml-docker-job-'));
  // The container runs as a non-root UID: the mounted folders must be writable by it.
  chmodSync(scratch, 0o755);
  const mounts: Array<[string, string]> = [];
  for (const dir of new Set(artifacts.map((a) => a.split('/')[0]))) {
    const host = join(scratch, dir);
    mkdirSync(host);
    chmodSync(host, 0o777);
    mounts.push([host, posix.join(info.workingDir, dir)]);
  }
  session.track(name);
  try {
    logger.info(
      `@ml/docker: running ${image.image} as ${name} (timeout ${j.timeout} s)`,
    );
    const started = Date.now();
    const r = await docker(
      session.engine,
      jobRunArgs(name, image.imageId, mounts, j.env, j.command, [
        ...runFlags(session.engine),
        ...gpuFlags,
      ]),
      { stream: true, timeoutMs: j.timeout * 1000 },
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (r.timedOut)
      throw await withLogs(
        session,
        name,
        `${image.image} did not finish within ${j.timeout} s. Raise job.timeout or make the run smaller.`,
      );
    if (r.exitCode !== 0)
      throw await withLogs(
        session,
        name,
        `${image.image} exited with code ${r.exitCode} after ${seconds} s.`,
      );
    const missing = artifacts.filter((a) => !produced(join(scratch, a)));
    if (missing.length) {
      fail(
        `${image.image} exited 0 but did not write ${missing.join(', ')} (looked under ${info.workingDir}). Check where the pipeline writes its outputs, or the job.artifacts option.`,
      );
    }
    if (j.artifactsOutputPath) {
      const dest = join(workspaceRoot, j.artifactsOutputPath);
      for (const a of artifacts) {
        // A folder output is replaced whole, as Nx replaces a restored output.
        if (a.endsWith('/'))
          rmSync(join(dest, a), { recursive: true, force: true });
        mkdirSync(dirname(join(dest, a)), { recursive: true });
        cpSync(join(scratch, a), join(dest, a), { recursive: true });
      }
      logger.info(
        `@ml/docker: copied ${artifacts.join(', ')} to ${j.artifactsOutputPath}`,
      );
    }
    logger.info(
      artifacts.length
        ? `@ml/docker: ${image.image} passed: exit 0 in ${seconds} s, wrote ${artifacts.join(', ')}`
        : `@ml/docker: ${image.image} passed: exit 0 in ${seconds} s (no outputs declared: neither job.artifacts nor an ${OUTPUTS_LABEL} label, so only the exit status was checked)`,
    );
  } finally {
    await session.remove(name);
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The folders an image's outputs label names ("models/ metrics/"). */
export function outputsOf(label: string | undefined): string[] {
  return (label ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((p) => (p.endsWith('/') ? p : `${p}/`));
}

/** A file exists; a folder (trailing /) exists and is not empty. */
function produced(path: string): boolean {
  if (!path.endsWith('/')) return existsSync(path);
  return existsSync(path) && readdirSync(path).length > 0;
}
