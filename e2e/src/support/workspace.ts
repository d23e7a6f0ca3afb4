/**
 * Fresh Nx workspaces with the packed plugin installed. The global setup packs
 * the plugin and creates one workspace with create-nx-workspace; each suite
 * gets its own copy (its node_modules shared through a symlink).
 */
import {
  cpSync,
  readFileSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { inheritedEnv, run } from './run';

export const NX_ENV = {
  CI: 'true',
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  FORCE_COLOR: '0',
};
export const TEMPLATE_ENV = 'ML_DOCKER_E2E_TEMPLATE';

export interface BackgroundNx {
  /** nx's exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Sends a signal to nx's whole process group. */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL to whatever is left of the group; for finally blocks. */
  stop(): void;
}

export interface Workspace {
  root: string;
  nx(
    args: string[],
    opts?: { allowFail?: boolean; env?: NodeJS.ProcessEnv },
  ): ReturnType<typeof run>;
  /**
   * nx started in its own process group, not waited for: a test can signal
   * the whole group, as Ctrl-C in a terminal or a CI cancel does.
   */
  nxInBackground(args: string[]): BackgroundNx;
  commitAll(message: string): void;
  write(path: string, content: string): void;
  /**
   * A project whose docker/<image>/Dockerfile builds FROM ${BASE_IMAGE} with
   * these further lines, and its project.json with these targets.
   */
  imageProject(
    root: string,
    image: string,
    dockerfileLines: string[],
    targets: Record<string, unknown>,
  ): void;
  dispose(): void;
}

/** A second clone of a workspace's git repository: what another CI agent checks out. */
export function cloneWorkspace(source: Workspace): Workspace {
  const parent = mkdtempSync(join(tmpdir(), 'ml-docker-clone-'));
  const root = join(parent, 'ws');
  run('git', ['clone', '-q', source.root, root]);
  symlinkSync(
    join(process.env[TEMPLATE_ENV]!, 'node_modules'),
    join(root, 'node_modules'),
  );
  return workspaceAt(root, parent);
}

export function freshWorkspace(): Workspace {
  const template = process.env[TEMPLATE_ENV];
  if (!template)
    throw new Error(
      `${TEMPLATE_ENV} is not set: run the suites through e2e/jest.config.cts (its globalSetup packs the plugin)`,
    );
  const parent = mkdtempSync(join(tmpdir(), 'ml-docker-ws-'));
  const root = join(parent, 'ws');
  mkdirSync(root);
  for (const entry of readdirSync(template)) {
    if (entry === 'node_modules' || entry === '.nx') continue;
    cpSync(join(template, entry), join(root, entry), { recursive: true });
  }
  symlinkSync(join(template, 'node_modules'), join(root, 'node_modules'));
  // Nx 23 shares one cache between all checkouts of a repository under ~/.nx
  // unless nx.json names a cache directory: each workspace here stands for
  // another machine, so it keeps its own.
  const nxJsonPath = join(root, 'nx.json');
  writeFileSync(
    nxJsonPath,
    JSON.stringify(
      {
        ...JSON.parse(readFileSync(nxJsonPath, 'utf8')),
        cacheDirectory: '.nx/cache',
      },
      null,
      2,
    ),
  );
  const ws = workspaceAt(root, parent);
  run('git', ['init', '-q'], { cwd: root });
  ws.commitAll('init');
  return ws;
}

function workspaceAt(root: string, parent: string): Workspace {
  const git = (args: string[]) =>
    run(
      'git',
      ['-c', 'user.email=e2e@example.invalid', '-c', 'user.name=e2e', ...args],
      { cwd: root },
    );
  return {
    root,
    nx: (args, opts = {}) =>
      run(
        'npx',
        ['nx', ...args, ...(args[0] === 'run' ? ['--outputStyle=stream'] : [])],
        {
          cwd: root,
          env: { ...NX_ENV, ...opts.env },
          allowFail: opts.allowFail,
        },
      ),
    nxInBackground: (args) => {
      const child = spawn('npx', ['nx', ...args], {
        cwd: root,
        env: { ...inheritedEnv(), ...NX_ENV },
        detached: true,
        stdio: 'ignore',
      });
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => resolve(code)),
      );
      const signal = (sig: NodeJS.Signals) => process.kill(-child.pid!, sig);
      return {
        exited,
        signal,
        stop: () => {
          try {
            signal('SIGKILL');
          } catch {
            // the group is gone already
          }
        },
      };
    },
    commitAll: (message) => {
      git(['add', '-A']);
      git(['commit', '-qm', message, '--allow-empty']);
    },
    write: (path, content) => {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), content);
    },
    imageProject(projectRoot, image, dockerfileLines, targets) {
      const name = projectRoot.split('/').pop()!;
      this.write(
        `${projectRoot}/docker/${image}/Dockerfile`,
        ['ARG BASE_IMAGE', 'FROM ${BASE_IMAGE}', ...dockerfileLines, ''].join(
          '\n',
        ),
      );
      this.write(
        `${projectRoot}/project.json`,
        JSON.stringify({ name, root: projectRoot, targets }),
      );
    },
    dispose: () => rmSync(parent, { recursive: true, force: true }),
  };
}
