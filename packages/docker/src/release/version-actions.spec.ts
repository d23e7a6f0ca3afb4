import type { ProjectGraphProjectNode, Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseRecordPath } from '../names/names';
import MlImageVersionActions, {
  afterAllProjectsVersioned,
} from './version-actions';

const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
jest.mock('../process/process', () => ({
  run: jest.fn(async (program: string, args: string[]) => ({
    exitCode: program === 'git' && args[0] === 'rev-parse' ? 0 : 1,
    stdout: `${SHA}\n`,
  })),
}));

type Ctor = ConstructorParameters<typeof MlImageVersionActions>;

function actionsFor(
  tree: Tree,
  root: string,
  options: {
    versionSchemes?: Record<string, string>;
    relationship?: 'fixed' | 'independent';
  } = {},
) {
  const node = {
    name: root.split('/').pop(),
    type: 'app',
    data: { root, targets: {} },
  } as unknown as ProjectGraphProjectNode;
  const group = {
    name: 'ml-images',
    projectsRelationship: options.relationship ?? 'independent',
  } as unknown as Ctor[0];
  const config = {
    versionActionsOptions: { versionSchemes: options.versionSchemes },
    manifestRootsToUpdate: [],
    adjustSemverBumpsForZeroMajorVersion: false,
  } as unknown as Ctor[2];
  const actions = new MlImageVersionActions(group, node, config);
  return { actions, init: () => actions.init(tree) };
}

const bump = (
  a: MlImageVersionActions,
  current: string | null,
  input: string,
) => a.calculateNewVersion(current, input, 'USER_SPECIFIER', {}, '');

describe('MlImageVersionActions', () => {
  let tree: Tree;
  let cwd: string;

  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
    cwd = mkdtempSync(join(tmpdir(), 'ml-release-'));
  });
  afterEach(async () => {
    await afterAllProjectsVersioned(cwd, { dryRun: true });
    rmSync(cwd, { recursive: true, force: true });
  });

  it.each([
    [
      'pyproject.toml [project]',
      { 'pyproject.toml': '[project]\nname = "a"\nversion = "0.3.1"\n' },
      'apps/a/pyproject.toml',
      '0.3.1',
    ],
    [
      'setup.cfg when pyproject.toml declares no version',
      {
        'pyproject.toml': '[build-system]\nrequires = ["setuptools"]\n',
        'setup.cfg': '[metadata]\nversion = 2.0.0\n',
      },
      'apps/a/setup.cfg',
      '2.0.0',
    ],
    [
      "setup.cfg when pyproject.toml's version is dynamic (setuptools reads it there)",
      {
        'pyproject.toml': '[project]\nname = "a"\ndynamic = ["version"]\n',
        'setup.cfg': '[metadata]\nversion = 2.0.0\n',
      },
      'apps/a/setup.cfg',
      '2.0.0',
    ],
    [
      'package.json last',
      { 'package.json': '{"name": "a", "version": "1.1.1"}' },
      'apps/a/package.json',
      '1.1.1',
    ],
  ])('reads the current version from %s', async (_, files, path, version) => {
    for (const [f, text] of Object.entries(files))
      tree.write(`apps/a/${f}`, text);
    const { actions, init } = actionsFor(tree, 'apps/a');
    await init();
    await expect(
      actions.readCurrentVersionFromSourceManifest(),
    ).resolves.toEqual({ currentVersion: version, manifestPath: path });
    expect(actions.manifestsToUpdate.map((m) => m.manifestPath)).toEqual([
      path,
    ]);
  });

  it('bumps the manifest version, writes it in place, and records the image version after versioning', async () => {
    tree.write(
      'apps/a/pyproject.toml',
      '[project]\nname = "a"  # ours\nversion = "0.3.1"\n',
    );
    const { actions, init } = actionsFor(tree, 'apps/a');
    await init();
    const { newVersion } = await bump(actions, '0.3.1', 'minor');
    expect(newVersion).toBe('0.4.0');
    const logs = await actions.updateProjectVersion(tree, newVersion);
    expect(tree.read('apps/a/pyproject.toml', 'utf-8')).toBe(
      '[project]\nname = "a"  # ours\nversion = "0.4.0"\n',
    );
    expect(logs.join('\n')).toContain('Images will be tagged 0.4.0');

    const record = join(cwd, releaseRecordPath('apps/a'));
    await afterAllProjectsVersioned(cwd, { dryRun: false });
    expect(JSON.parse(readFileSync(record, 'utf8'))).toMatchObject({
      version: 1,
      project: 'a',
      imageVersion: '0.4.0',
      manifestVersion: '0.4.0',
    });
  });

  it('writes no release record on a dry run', async () => {
    tree.write('apps/a/package.json', '{"version": "1.0.0"}');
    const { actions, init } = actionsFor(tree, 'apps/a');
    await init();
    await actions.updateProjectVersion(
      tree,
      (await bump(actions, '1.0.0', 'patch')).newVersion,
    );
    await afterAllProjectsVersioned(cwd, { dryRun: true });
    expect(existsSync(join(cwd, releaseRecordPath('apps/a')))).toBe(false);
  });

  it('a scheme versions the images without a manifest version to read', async () => {
    tree.write('apps/a/requirements.txt', 'numpy\n');
    const { actions, init } = actionsFor(tree, 'apps/a', {
      versionSchemes: { production: '{currentDate|YYMM.DD}.{shortCommitSha}' },
    });
    await init();
    await expect(
      actions.readCurrentVersionFromSourceManifest(),
    ).resolves.toMatchObject({ currentVersion: '0.0.0' });
    const { newVersion, logText } = await bump(actions, '0.0.0', 'patch');
    expect(newVersion).toMatch(/^\d{4}\.\d{2}\.abcdef0$/);
    expect(logText).toContain('version scheme "production"');
  });

  it('a scheme without {versionActionsVersion} leaves the manifest as it is', async () => {
    const pyproject = '[project]\nname = "a"\nversion = "0.3.1"\n';
    tree.write('apps/a/pyproject.toml', pyproject);
    const { actions, init } = actionsFor(tree, 'apps/a', {
      versionSchemes: { production: '{currentDate|YYMM.DD}.{shortCommitSha}' },
    });
    await init();
    const { newVersion } = await bump(actions, '0.3.1', 'patch');
    await actions.updateProjectVersion(tree, newVersion);
    expect(tree.read('apps/a/pyproject.toml', 'utf-8')).toBe(pyproject);
    const record = join(cwd, releaseRecordPath('apps/a'));
    await afterAllProjectsVersioned(cwd, { dryRun: false });
    expect(JSON.parse(readFileSync(record, 'utf8'))).toMatchObject({
      imageVersion: newVersion,
      scheme: 'production',
    });
    expect(
      JSON.parse(readFileSync(record, 'utf8')).manifestVersion,
    ).toBeUndefined();
  });

  it('a scheme with {versionActionsVersion} writes the semver version to the manifest and tags the images with the scheme', async () => {
    tree.write('apps/a/setup.cfg', '[metadata]\nversion = 1.2.3\n');
    const { actions, init } = actionsFor(tree, 'apps/a', {
      versionSchemes: { release: 'v{versionActionsVersion}' },
    });
    await init();
    const { newVersion } = await bump(actions, '1.2.3', 'major');
    expect(newVersion).toBe('v2.0.0');
    await actions.updateProjectVersion(tree, newVersion);
    expect(tree.read('apps/a/setup.cfg', 'utf-8')).toBe(
      '[metadata]\nversion = 2.0.0\n',
    );
  });

  it('in a fixed group every project gets the version computed once', async () => {
    tree.write('apps/a/pyproject.toml', '[project]\nversion = "1.0.0"\n');
    tree.write('apps/b/package.json', '{"version": "1.0.0"}\n');
    const a = actionsFor(tree, 'apps/a', { relationship: 'fixed' });
    const b = actionsFor(tree, 'apps/b', { relationship: 'fixed' });
    await a.init();
    await b.init();
    const { newVersion } = await bump(a.actions, '1.0.0', 'patch');
    await a.actions.updateProjectVersion(tree, newVersion);
    await b.actions.updateProjectVersion(tree, newVersion);
    expect(tree.read('apps/b/package.json', 'utf-8')).toBe(
      '{\n  "version": "1.0.1"\n}\n',
    );
  });

  it.each([
    [
      'no version anywhere and no scheme',
      {},
      {},
      /Project a declares no version in apps\/a\/pyproject.toml, apps\/a\/setup.cfg, apps\/a\/package.json. Add one/,
    ],
    [
      'a dynamic version and no scheme',
      { 'pyproject.toml': '[project]\nname = "a"\ndynamic = ["version"]\n' },
      {},
      /lists version in \[project\] dynamic/,
    ],
    [
      '{versionActionsVersion} with no version to bump',
      {},
      { versionSchemes: { r: '{versionActionsVersion}' } },
      /declares no version/,
    ],
  ])('refuses %s', async (_, files, options, message) => {
    for (const [f, text] of Object.entries(files))
      tree.write(`apps/a/${f}`, text as string);
    const { actions, init } = actionsFor(tree, 'apps/a', options);
    await init();
    await expect(
      actions.readCurrentVersionFromSourceManifest(),
    ).rejects.toThrow(message);
  });

  it.each([
    [
      '{projectName} in a fixed group',
      {
        versionSchemes: { p: '{projectName}-{currentDate}' },
        relationship: 'fixed' as const,
      },
      /uses \{projectName\}, but the group is fixed/,
    ],
    [
      'a semver version with build metadata (no image tag holds "+")',
      {},
      /an image tag cannot hold "\+"/,
    ],
  ])('refuses %s', async (_, options, message) => {
    tree.write('apps/a/package.json', '{"version": "1.0.0"}');
    const { actions, init } = actionsFor(tree, 'apps/a', options);
    await init();
    await expect(bump(actions, '1.0.0', '1.0.1+build.5')).rejects.toThrow(
      message,
    );
  });
});
