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
 * (relative to its working directory, as its label names them). Docker
 * mounts a tmpfs over a folder the image has with that folder's mode but
 * root as owner, which a non-root user cannot write: each is given to the
 * image's user when USER is numeric (the generator's is), and mode 1777,
 * an emptyDir's, otherwise.
 */
export function readOnlyArgs(
  workingDir: string,
  writable: string[],
  user: string,
): string[] {
  const [uid, gid] = user.split(':').map((p) => p.trim());
  const owner = /^\d+$/.test(uid ?? '')
    ? `,uid=${uid}${/^\d+$/.test(gid ?? '') ? `,gid=${gid}` : ''}`
    : '';
  const dirs = writable
    .map((w) => posix.resolve(workingDir || '/', w).replace(/(.)\/+$/, '$1'))
    .filter((d, i, all) => d !== '/tmp' && all.indexOf(d) === i);
  return [
    '--read-only',
    '--tmpfs',
    '/tmp:mode=1777',
    ...dirs.flatMap((d) => ['--tmpfs', `${d}:mode=1777${owner}`]),
  ];
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
