import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerContextInputs } from './docker-context';

const ROOT = 'apps/synth';
const WHOLE_PROJECT = ['{projectRoot}/**/*'];

describe('dockerContextInputs', () => {
  let workspaceRoot: string;

  beforeEach(() => {
    workspaceRoot = mkdtempSync(join(tmpdir(), 'ml-docker-context-'));
    mkdirSync(join(workspaceRoot, ROOT), { recursive: true });
  });

  afterEach(() => {
    rmSync(workspaceRoot, { recursive: true, force: true });
  });

  const dockerignore = (text: string) =>
    writeFileSync(join(workspaceRoot, ROOT, '.dockerignore'), text);

  it.each(['docker/', 'docker', 'docker/*', '**/Dockerfile'])(
    'keeps the Dockerfiles as inputs even when .dockerignore says %s',
    (pattern) => {
      dockerignore(`${pattern}\ndata/\n`);
      expect(dockerContextInputs(workspaceRoot, ROOT)).toEqual([
        ...WHOLE_PROJECT,
        '!{projectRoot}/data',
        '!{projectRoot}/data/**',
      ]);
    },
  );

  it('counts the whole project folder when there is no .dockerignore', () => {
    expect(dockerContextInputs(workspaceRoot, ROOT)).toEqual(WHOLE_PROJECT);
  });

  it.each<[string, string, string[]]>([
    [
      'a folder with a trailing slash',
      'data/\n',
      ['!{projectRoot}/data', '!{projectRoot}/data/**'],
    ],
    [
      'a path anchored with a leading slash',
      '/mlruns\n',
      ['!{projectRoot}/mlruns', '!{projectRoot}/mlruns/**'],
    ],
    [
      'a leading and a trailing slash',
      '/.dvc/cache/\n',
      ['!{projectRoot}/.dvc/cache', '!{projectRoot}/.dvc/cache/**'],
    ],
    [
      'a glob',
      '**/*.md\n',
      ['!{projectRoot}/**/*.md', '!{projectRoot}/**/*.md/**'],
    ],
    [
      'the patterns among comments and blank lines',
      '# Data\n\ndata/\n   \n# MLflow\n  mlruns/  \n',
      [
        '!{projectRoot}/data',
        '!{projectRoot}/data/**',
        '!{projectRoot}/mlruns',
        '!{projectRoot}/mlruns/**',
      ],
    ],
    [
      'Windows line endings',
      'data/\r\n.git\r\n',
      [
        '!{projectRoot}/data',
        '!{projectRoot}/data/**',
        '!{projectRoot}/.git',
        '!{projectRoot}/.git/**',
      ],
    ],
  ])('derives the exclusions from %s', (_label, text, excluded) => {
    dockerignore(text);
    expect(dockerContextInputs(workspaceRoot, ROOT)).toEqual([
      ...WHOLE_PROJECT,
      ...excluded,
    ]);
  });

  it.each([
    ['patterns that would exclude the whole context', '*\n**\n.\n/\n'],
    ['a file of comments only', '# nothing ignored yet\n'],
    ['an empty file', ''],
  ])('excludes nothing for %s', (_label, text) => {
    dockerignore(text);
    expect(dockerContextInputs(workspaceRoot, ROOT)).toEqual(WHOLE_PROJECT);
  });

  it.each([
    ['first', '!keep.txt\ndata/\n'],
    ['last', 'data/\nmlruns/\n!data/keep.txt\n'],
    ['indented', 'data/\n  !data/keep.txt\n'],
  ])(
    'falls back to the whole project when a negated pattern comes %s',
    (_where, text) => {
      dockerignore(text);
      expect(dockerContextInputs(workspaceRoot, ROOT)).toEqual(WHOLE_PROJECT);
    },
  );

  it('reads the .dockerignore of the project asked for', () => {
    mkdirSync(join(workspaceRoot, 'apps/other'), { recursive: true });
    writeFileSync(join(workspaceRoot, 'apps/other/.dockerignore'), 'data/\n');
    expect(dockerContextInputs(workspaceRoot, ROOT)).toEqual(WHOLE_PROJECT);
    expect(dockerContextInputs(workspaceRoot, 'apps/other')).toEqual([
      ...WHOLE_PROJECT,
      '!{projectRoot}/data',
      '!{projectRoot}/data/**',
    ]);
  });

  it('reads the .dockerignore of a project at the workspace root', () => {
    writeFileSync(join(workspaceRoot, '.dockerignore'), 'mlruns/\n');
    expect(dockerContextInputs(workspaceRoot, '.')).toEqual([
      ...WHOLE_PROJECT,
      '!{projectRoot}/mlruns',
      '!{projectRoot}/mlruns/**',
    ]);
  });
});
