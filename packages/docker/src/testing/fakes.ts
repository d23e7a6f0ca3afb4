/**
 * What the specs share: the engine value a detection would hand over, the
 * results the mocked process layer answers with, an executor context, and
 * environment variables put back after each test. Spec support only: not
 * part of the published package.
 */
import type { ExecutorContext, TargetConfiguration } from '@nx/devkit';
import type { Engine } from '../engine/engine';
import type { RunResult } from '../process/process';

/** The Docker client the fake engine calls. */
export const CLIENT = '/opt/docker/bin/docker';

/** The engine as detectEngine finds a Docker engine with buildx; `over` changes what a test needs. */
export function fakeEngine(over: Partial<Engine> = {}): Engine {
  return {
    kind: 'docker',
    client: CLIENT,
    host: 'unix:///var/run/docker.sock',
    mode: 'buildx',
    clientVersion: '28.3.2',
    serverVersion: '28.3.2',
    ...over,
  };
}

/** A command that succeeded with this output. */
export function ok(stdout = '', stderr = ''): RunResult {
  return {
    command: '',
    exitCode: 0,
    stdout,
    stderr,
    all: [stdout, stderr].filter(Boolean).join('\n'),
    timedOut: false,
  };
}

/** A command that exited with this code, saying `all` on stderr. */
export function exited(exitCode: number, all = ''): RunResult {
  return { ...ok(), exitCode, stderr: all, all };
}

/** A command that failed (exit 1) saying `all`. */
export function failed(all: string): RunResult {
  return exited(1, all);
}

/** Puts these environment variables back as they were after each test of the enclosing describe. */
export function restoreEnvAfterEach(keys: readonly string[]): void {
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

/** An executor context for one project of a workspace at `root`. */
export function executorContext(
  root: string,
  project: { name: string; root: string },
  targets: Record<string, TargetConfiguration>,
  targetName: string,
): ExecutorContext {
  return {
    root,
    cwd: root,
    isVerbose: false,
    projectName: project.name,
    targetName,
    projectsConfigurations: {
      version: 2,
      projects: { [project.name]: { root: project.root, targets } },
    },
    nxJsonConfiguration: {},
    projectGraph: { nodes: {}, dependencies: {} },
  };
}
