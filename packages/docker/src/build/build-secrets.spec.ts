import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertNoCredentialArgs,
  credentialShape,
  resolveSecrets,
  secretMountIds,
} from './build-secrets';

describe('build secrets', () => {
  describe('credentialShape', () => {
    it.each<[string, string, string | undefined]>([
      ['HF_TOKEN', 'hf_x', 'its name ends in TOKEN'],
      ['github_token', 'x', 'its name ends in TOKEN'],
      ['DB_PASSWORD', 'x', 'its name ends in PASSWORD'],
      ['CLIENT_SECRET', 'x', 'its name ends in SECRET'],
      ['API_KEY', 'x', 'its name ends in KEY'],
      [
        'GOOGLE_APPLICATION_CREDENTIALS',
        '/x.json',
        'its name ends in CREDENTIALS',
      ],
      [
        'PIP_EXTRA_INDEX_URL',
        'https://ci-bot:tok@pypi.example.invalid/simple',
        'its value is a URL with a user name or password in it',
      ],
      [
        'PIP_FIND_LINKS',
        'https://oauth2accesstoken@europe-python.pkg.dev/p/r/simple/',
        'its value is a URL with a user name or password in it',
      ],
      [
        'EXTRA',
        'see git+https://u:p@host/repo.git',
        'its value is a URL with a user name or password in it',
      ],
      ['PIP_INDEX_URL', 'https://pypi.example.invalid/simple', undefined],
      ['BASE_IMAGE', '127.0.0.1:5000/ml-images/base@sha256:abc', undefined],
      ['MAINTAINER', 'me@example.invalid', undefined],
      ['KEYRING_PROVIDER', 'import', undefined],
      ['BUILDKIT_INLINE_CACHE', '1', undefined],
    ])('%s=%s: %s', (name, value, expected) => {
      expect(credentialShape(name, value)).toBe(expected);
    });

    it('names the arg and the fix, never the value', () => {
      const value = 'https://ci-bot:do-not-print@pypi.example.invalid/simple';
      let message = '';
      try {
        assertNoCredentialArgs({ A: '1', PIP_EXTRA_INDEX_URL: value });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toBe(
        'Build arg PIP_EXTRA_INDEX_URL looks like a credential (its value is a URL with a user name or password in it): build args stay readable in the image history and in the cache images pushed beside it. Pass it as a build secret instead, e.g. "secrets": { "pip-index-url": { "env": "PIP_EXTRA_INDEX_URL" } }, and remove it from buildArgs (see README "Private package index").',
      );
      expect(message).not.toContain('do-not-print');
    });
  });

  describe('resolveSecrets', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'ml-docker-secrets-'));
      writeFileSync(join(dir, '.netrc'), 'machine x login u password p\n');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each<[string, Record<string, { env?: string; src?: string }>, unknown]>([
      [
        'a set variable',
        { 'pip-index-url': { env: 'IDX' } },
        { given: [{ id: 'pip-index-url', env: 'IDX' }], absent: [] },
      ],
      [
        'an unset variable',
        { 'pip-index-url': { env: 'UNSET_VAR' } },
        {
          given: [],
          absent: [{ id: 'pip-index-url', why: 'UNSET_VAR is not set' }],
        },
      ],
      [
        'a file under ~',
        { netrc: { src: '~/.netrc' } },
        { given: [{ id: 'netrc', src: '<dir>/.netrc' }], absent: [] },
      ],
      [
        'a file relative to the workspace root',
        { netrc: { src: '.netrc' } },
        { given: [{ id: 'netrc', src: '<dir>/.netrc' }], absent: [] },
      ],
      [
        'a missing file',
        { netrc: { src: '/no/such/netrc' } },
        {
          given: [],
          absent: [{ id: 'netrc', why: '/no/such/netrc does not exist' }],
        },
      ],
    ])('%s', (_l, secrets, expected) => {
      const got = resolveSecrets(
        secrets,
        dir,
        { IDX: 'https://u:p@h/simple' },
        dir,
      );
      expect(JSON.parse(JSON.stringify(got).split(dir).join('<dir>'))).toEqual(
        expected,
      );
    });

    it.each([
      [
        'an id with a space',
        { 'pip index': { env: 'X' } },
        /^Build secret id "pip index" is not valid/,
      ],
      [
        'neither env nor src',
        { a: {} },
        /^Build secret "a" needs exactly one of env .* or src/,
      ],
      [
        'both env and src',
        { a: { env: 'X', src: 'y' } },
        /^Build secret "a" needs exactly one of/,
      ],
      [
        'a value where a variable name belongs',
        { a: { env: 'https://u:p@h/simple' } },
        /^Build secret "a": env must name an environment variable \(letters, digits, _\), not hold the value\. Put the value in a variable and name it here\.$/,
      ],
    ])('refuses %s', (_l, secrets, message) => {
      expect(() => resolveSecrets(secrets, dir, {}, dir)).toThrow(message);
    });
  });

  it.each([
    [
      'RUN --mount=type=secret,id=pip-index-url pip install x',
      ['pip-index-url'],
    ],
    [
      'RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=netrc,target=/root/.netrc pip install x',
      ['netrc'],
    ],
    ['RUN --mount=type=bind,source=a,target=b pip install x', []],
    ['RUN pip install x', []],
  ])('secretMountIds(%s)', (step, ids) => {
    expect(secretMountIds(step)).toEqual(ids);
  });
});
