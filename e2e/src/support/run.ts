/**
 * Test harness helpers. The plugin's own code spawns through execa; Jest
 * cannot load execa (ESM), so the suites drive programs with spawnSync.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * This process's environment without Nx's own variables. The suites run inside
 * an nx task (nx run docker-e2e:e2e), and variables such as NX_SKIP_NX_CACHE or
 * NX_TASK_HASH would otherwise leak into the nx of the workspaces under test.
 */
export function inheritedEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('NX_')),
  );
}

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
  all: string;
}

export function run(
  file: string,
  args: string[],
  opts: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    allowFail?: boolean;
    input?: string;
    timeoutMs?: number;
  } = {},
): Ran {
  const r = spawnSync(file, args, {
    cwd: opts.cwd,
    env: { ...inheritedEnv(), ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: opts.timeoutMs ?? 15 * 60_000,
  });
  const plain = (t: string | null) => (t ?? '').replace(ANSI, '');
  const out: Ran = {
    status: r.status,
    stdout: plain(r.stdout),
    stderr: plain(r.stderr),
    all: `${plain(r.stdout)}${plain(r.stderr)}`,
  };
  if (!opts.allowFail && r.status !== 0) {
    throw new Error(
      `${file} ${args.join(' ')} exited ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${out.all.slice(-6000)}`,
    );
  }
  return out;
}

/** Debian's 20.10 client builds with the engine's BuildKit; the machine's newer client has no buildx. */
export const DOCKER =
  process.env.ML_DOCKER_CLIENT ??
  (existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker');

/** Label on every container a suite starts itself; the plugin's own carry ml-docker.owner. */
export const SUITE_LABEL = 'ml-docker.e2e';
const OWNER_LABEL = 'ml-docker.owner';

export function docker(
  args: string[],
  opts: Parameters<typeof run>[2] = {},
): Ran {
  const creates = args[0] === 'run' || args[0] === 'create';
  return run(
    DOCKER,
    creates ? [args[0], '--label', SUITE_LABEL, ...args.slice(1)] : args,
    opts,
  );
}

export const REGISTRY = process.env.ML_DOCKER_REGISTRY ?? '127.0.0.1:5000';
export const BASE_IMAGE =
  process.env.ML_DOCKER_BASE_IMAGE ?? 'python:3.10-slim';

export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Containers carrying the plugin's owner label (every container it starts). */
export function ownedContainers(): string[] {
  return containersLabelled(OWNER_LABEL);
}

/**
 * The plugin's containers for one project (it names them mld-<project>-…),
 * running or not. Other checkouts may be running the plugin on the same
 * engine at the same time: a suite counts only its own project's containers.
 */
export function ownedContainersOf(
  project: string,
  /** Only containers of these images: other suites run projects of the same name at the same time. */
  imageIds?: ReadonlySet<string>,
): string[] {
  return docker([
    'ps',
    '-a',
    '--no-trunc',
    '--filter',
    `label=${OWNER_LABEL}`,
    '--format',
    '{{.ID}} {{.Names}} {{.Image}}',
  ])
    .stdout.split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '))
    .filter(([, name]) => name.startsWith(`mld-${project}-`))
    .filter(([, , image]) => !imageIds || imageIds.has(image))
    .map(([id]) => id);
}

/** Set by the global setup: the suite containers that existed before this run. */
export const CONTAINERS_BEFORE_ENV = 'ML_DOCKER_E2E_CONTAINERS_BEFORE';
/** A folder holding one marker file per suite running now (e2e/suite-environment.cjs). */
export const RUNNING_SUITES_ENV = 'ML_DOCKER_E2E_RUNNING_DIR';

/** Every container, running or not, that the plugin or a suite created. */
export function suiteContainers(): string[] {
  // Two label filters in one `docker ps` must both match: ask twice.
  return [
    ...new Set([...ownedContainers(), ...containersLabelled(SUITE_LABEL)]),
  ];
}

function containersLabelled(label: string): string[] {
  return docker(['ps', '-aq', '--no-trunc', '--filter', `label=${label}`])
    .stdout.split('\n')
    .filter(Boolean);
}

export async function registryManifest(
  repository: string,
  tag: string,
): Promise<{ status: number; digest?: string; configDigest?: string }> {
  const res = await fetch(
    `http://${REGISTRY}/v2/${repository}/manifests/${tag}`,
    {
      headers: {
        accept:
          'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
      },
    },
  );
  if (res.status !== 200) return { status: res.status };
  const body = (await res.json()) as { config?: { digest?: string } };
  return {
    status: 200,
    digest: res.headers.get('docker-content-digest') ?? undefined,
    configDigest: body.config?.digest,
  };
}

/** Polls a condition every 200 ms, bounded; false when the deadline passes. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return condition();
}

/**
 * Runs fn while holding a lock shared by every process on this machine (a
 * folder under the temp dir; mkdir is atomic). A holder that died leaves it
 * behind: after timeoutMs the wait fails and names the folder to remove.
 */
export async function withFileLock<T>(
  name: string,
  fn: () => Promise<T>,
  timeoutMs = 25 * 60_000,
): Promise<T> {
  const lock = join(tmpdir(), `${name}.lock`);
  const take = () => {
    try {
      mkdirSync(lock);
      return true;
    } catch {
      return false;
    }
  };
  if (!(await until(take, timeoutMs)))
    throw new Error(
      `Waited ${timeoutMs / 60_000} min for ${lock}: remove it if no test run holds it.`,
    );
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The HTTP status of one GET on 127.0.0.1 (0 when nothing answers), body consumed, 1 s timeout. */
export async function statusOf(url: string): Promise<number> {
  return fetch(url, { signal: AbortSignal.timeout(1000) }).then(
    async (r) => (await r.arrayBuffer(), r.status),
    () => 0,
  );
}

/** The image ID a reference points to in the engine. */
export function imageIdOf(ref: string): string {
  return docker(['image', 'inspect', '--format', '{{.Id}}', ref]).stdout.trim();
}

/** Every local tag (repository:tag) of images under a registry repository of this name. */
export function imagesOf(repository: string): string[] {
  return docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])
    .stdout.split('\n')
    .filter((i) => i.includes(`/${repository}/`));
}

/**
 * A folder standing for PATH with every program on it except these: with
 * podman gone, the plugin's auto engine has nothing to fall back to when no
 * Docker engine answers (the machine this runs on may have podman installed).
 * The caller removes the folder.
 */
export function pathWithout(programs: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ml-docker-path-'));
  const seen = new Set(programs);
  for (const d of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const name of names) {
      if (seen.has(name)) continue;
      seen.add(name);
      symlinkSync(join(d, name), join(dir, name));
    }
  }
  return dir;
}
