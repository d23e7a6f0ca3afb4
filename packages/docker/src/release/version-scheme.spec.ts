import {
  chooseScheme,
  interpolateScheme,
  schemeChoiceFromArgv,
  SchemeTokens,
} from './version-scheme';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const tokens: SchemeTokens = {
  projectName: 'synth',
  // 23:30 UTC on 31 Dec 2026: local time in most zones would be another day.
  currentDate: new Date('2026-12-31T23:30:05Z'),
  commitSha: SHA,
  versionActionsVersion: '1.4.0',
  env: { BUILD_NUMBER: '42' },
};

describe('interpolateScheme', () => {
  it.each([
    ['{currentDate|YYMM.DD}.{shortCommitSha}', '2612.31.0123456'],
    ['{currentDate|YYMM.DD}.{shortCommitSha}-hotfix', '2612.31.0123456-hotfix'],
    ['{currentDate}', '26.12.31'],
    ['{currentDate|YYYYMMDD-HHmmss}', '20261231-233005'],
    ['{versionActionsVersion}-{shortCommitSha}', '1.4.0-0123456'],
    ['{projectName}-{commitSha}', `synth-${SHA}`],
    ['v{versionActionsVersion}.{env.BUILD_NUMBER}', 'v1.4.0.42'],
    ['plain', 'plain'],
  ])('%s -> %s', (pattern, expected) => {
    expect(interpolateScheme(pattern, tokens, 'scheme')).toBe(expected);
  });

  it.each([
    ['{nope}', {}, /scheme has an unknown token \{nope\}. Known tokens:/],
    ['{env.MISSING}', {}, /uses \{env.MISSING\}, but MISSING is not set/],
    [
      '{versionActionsVersion}',
      { versionActionsVersion: undefined },
      /no version was derived from the project's manifest/,
    ],
    [
      '{shortCommitSha}',
      { commitSha: '' },
      /not a git repository with a commit/,
    ],
    ['a/b', {}, /Invalid tag "a\/b" in scheme/],
    ['{projectName}', { projectName: 'Very Bad' }, /Invalid tag "Very Bad"/],
  ])('refuses %s', (pattern, override, message) => {
    expect(() =>
      interpolateScheme(pattern, { ...tokens, ...override }, 'scheme'),
    ).toThrow(message);
  });
});

describe('schemeChoiceFromArgv', () => {
  it.each([
    [['release', '--dockerVersionScheme=hotfix'], { scheme: 'hotfix' }],
    [['release', '--dockerVersionScheme', 'hotfix'], { scheme: 'hotfix' }],
    [['release', '--docker-version-scheme=hotfix'], { scheme: 'hotfix' }],
    [['release', '--dockerVersion=2.0.0'], { exact: '2.0.0' }],
    [['release', '--docker-version', '2.0.0'], { exact: '2.0.0' }],
    [['release', 'patch'], {}],
  ])('%j', (argv, expected) => {
    expect(schemeChoiceFromArgv(argv)).toEqual({
      scheme: undefined,
      exact: undefined,
      ...expected,
    });
  });
});

describe('chooseScheme', () => {
  const two = { production: '{currentDate}', hotfix: '{currentDate}-hotfix' };
  it.each([
    ['no schemes: the manifest version', undefined, {}, undefined],
    // The flags are then meant for @nx/docker's groups in the same workspace.
    [
      'no schemes, whatever the flags say',
      undefined,
      { scheme: 'production', exact: '3.0.0' },
      undefined,
    ],
    [
      'one scheme is used without asking',
      { production: 'p' },
      {},
      { name: 'production', pattern: 'p' },
    ],
    [
      'the named scheme',
      two,
      { scheme: 'hotfix' },
      { name: 'hotfix', pattern: '{currentDate}-hotfix' },
    ],
    [
      'an exact version wins',
      two,
      { exact: '3.0.0' },
      { name: '--dockerVersion', pattern: '3.0.0' },
    ],
  ])('%s', (_, schemes, choice, expected) => {
    expect(chooseScheme(schemes, choice, 'ml')).toEqual(expected);
  });

  it.each([
    [
      'several schemes and none chosen',
      two,
      {},
      /Release group "ml" has several version schemes \(production, hotfix\): choose one with nx release --dockerVersionScheme=<name>/,
    ],
    [
      'an unknown scheme',
      two,
      { scheme: 'nightly' },
      /--dockerVersionScheme=nightly is not a version scheme of release group "ml" \(it has production, hotfix\)/,
    ],
    [
      'braces in an exact version',
      two,
      { exact: '{x}' },
      /--dockerVersion=\{x\} is not a valid image tag/,
    ],
  ])('refuses %s', (_, schemes, choice, message) => {
    expect(() => chooseScheme(schemes, choice, 'ml')).toThrow(message);
  });
});
