/** The exact `docker run` / `docker exec` lines docker-test uses: pure, unit-tested. */
import { posix } from 'node:path';
import { ownerLabelArgs } from './container-session';

function envArgs(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
}

export function serviceRunArgs(
  name: string,
  imageId: string,
  port: number,
  env: Record<string, string>,
  engineFlags: string[] = [],
): string[] {
  return [
    'run',
    '--detach',
    '--name',
    name,
    ...ownerLabelArgs('test'),
    ...engineFlags,
    '--publish',
    `127.0.0.1::${port}`,
    ...envArgs(env),
    imageId,
  ];
}

/**
 * A read-only root filesystem, as Kubernetes readOnlyRootFilesystem gives:
 * a tmpfs over /tmp and over each folder the image declares writable
 * (relative to its working directory, as its label names them).
 */
export function readOnlyArgs(workingDir: string, writable: string[]): string[] {
  const dirs = [
    '/tmp',
    ...writable.map((w) =>
      posix.resolve(workingDir || '/', w).replace(/(.)\/+$/, '$1'),
    ),
  ];
  return ['--read-only', ...[...new Set(dirs)].flatMap((d) => ['--tmpfs', d])];
}

export function jobRunArgs(
  name: string,
  imageId: string,
  mounts: Array<[string, string]>,
  env: Record<string, string>,
  command?: string[],
  engineFlags: string[] = [],
): string[] {
  return [
    'run',
    '--name',
    name,
    ...ownerLabelArgs('test'),
    ...engineFlags,
    ...mounts.flatMap(([host, ctr]) => ['--volume', `${host}:${ctr}`]),
    ...envArgs(env),
    imageId,
    ...(command ?? []),
  ];
}

/** `docker exec` arguments that run an image's HEALTHCHECK test as Docker would. */
export function healthcheckExecArgs(
  name: string,
  test: string[],
): string[] | undefined {
  const [kind, ...rest] = test;
  if (kind === 'CMD') return ['exec', name, ...rest];
  if (kind === 'CMD-SHELL')
    return ['exec', name, '/bin/sh', '-c', rest.join(' ')];
  return undefined;
}

export function isRootUser(user: string): boolean {
  const u = user.split(':')[0].trim();
  return u === '' || u === '0' || u === 'root';
}
