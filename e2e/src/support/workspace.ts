/**
 * Fresh Nx workspaces with the packed plugin installed. The global setup packs
 * the plugin and creates one workspace with create-nx-workspace; each suite
 * gets its own copy (its node_modules shared through a symlink).
 */
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run';

export const NX_ENV = {
  CI: 'true',
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  FORCE_COLOR: '0',
};
export const TEMPLATE_ENV = 'ML_DOCKER_E2E_TEMPLATE';

export interface Workspace {
  root: string;
  nx(
    args: string[],
    opts?: { allowFail?: boolean; env?: NodeJS.ProcessEnv },
  ): ReturnType<typeof run>;
  commitAll(message: string): void;
  write(path: string, content: string): void;
  dispose(): void;
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
  const git = (args: string[]) =>
    run(
      'git',
      ['-c', 'user.email=e2e@example.invalid', '-c', 'user.name=e2e', ...args],
      { cwd: root },
    );
  git(['init', '-q']);
  const ws: Workspace = {
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
    commitAll: (message) => {
      git(['add', '-A']);
      git(['commit', '-qm', message, '--allow-empty']);
    },
    write: (path, content) => {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), content);
    },
    dispose: () => rmSync(parent, { recursive: true, force: true }),
  };
  ws.commitAll('init');
  return ws;
}
