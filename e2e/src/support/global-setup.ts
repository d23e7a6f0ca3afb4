/**
 * Builds the plugin with tsc, packs it with npm pack, and creates one Nx
 * workspace (create-nx-workspace, the version we pin) with the tarball
 * installed: what a user gets from the registry.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONTAINERS_BEFORE_ENV,
  run,
  RUNNING_SUITES_ENV,
  suiteContainers,
} from './run';
import { NX_ENV, TEMPLATE_ENV } from './workspace';

export default async function globalSetup(): Promise<void> {
  // What existed before this run is not ours: the last suite counts only the
  // containers created since (no-leaked-containers.e2e.spec.ts).
  process.env[CONTAINERS_BEFORE_ENV] = suiteContainers().join(',');
  // Each suite marks itself running here (e2e/suite-environment.cjs).
  process.env[RUNNING_SUITES_ENV] = mkdtempSync(
    join(tmpdir(), 'ml-docker-e2e-running-'),
  );
  // For a quick run of suites that need no packed plugin (e.g. the drift check).
  if (process.env.ML_DOCKER_E2E_NO_PACK === '1') return;
  const repoRoot = join(__dirname, '..', '..', '..');
  const tmp = mkdtempSync(join(tmpdir(), 'ml-docker-e2e-'));
  run('npx', ['nx', 'run', 'docker:build', '--skip-nx-cache'], {
    cwd: repoRoot,
    env: NX_ENV,
  });
  const packed = run('npm', ['pack', '--pack-destination', tmp, '--silent'], {
    cwd: join(repoRoot, 'dist', 'packages', 'docker'),
  })
    .stdout.trim()
    .split('\n')
    .pop()!;
  run(
    'npx',
    [
      '--yes',
      'create-nx-workspace@23.2.1',
      'template',
      '--preset=apps',
      '--nxCloud=skip',
      '--packageManager=npm',
      '--no-interactive',
      '--skipGit',
    ],
    { cwd: tmp, env: NX_ENV },
  );
  const template = join(tmp, 'template');
  // @nx/docker too, at the version of nx, for the suite that registers both plugins.
  run(
    'npm',
    [
      'install',
      '--save-dev',
      '--no-audit',
      '--no-fund',
      join(tmp, packed),
      '@nx/docker@23.2.1',
    ],
    { cwd: template },
  );
  process.env[TEMPLATE_ENV] = template;
  process.env.ML_DOCKER_E2E_TMP = tmp;
}
