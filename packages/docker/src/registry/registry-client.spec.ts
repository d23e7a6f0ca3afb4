import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserFacingError } from '../errors/errors';
import { run } from '../process/process';
import {
  Credentials,
  dockerCredentials,
  RegistryClient,
  registryBaseUrl,
} from './registry-client';

jest.mock('../process/process');

const runMock = jest.mocked(run);

const USERNAME = 'ci-bot-7f3a';
const SECRET = 'S3cr3t-P@ss-91c2';
const BASIC = `Basic ${Buffer.from(`${USERNAME}:${SECRET}`).toString('base64')}`;
const creds = async (): Promise<Credentials> => ({
  username: USERNAME,
  secret: SECRET,
});
const noCreds = async (): Promise<Credentials | undefined> => undefined;

function response(
  status: number,
  body: unknown = '',
  headers: Record<string, string> = {},
): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers,
  });
}

function connectionError(code: string): Error {
  // What undici's fetch rejects with: the system error is the cause.
  return Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error(`connect ${code} 127.0.0.1:5000`), { code }),
  });
}

describe('registry-client', () => {
  const realFetch = global.fetch;
  let fetchMock: jest.Mock;

  beforeEach(() => {
    fetchMock = jest.fn();
    global.fetch = fetchMock as unknown as typeof fetch;
    runMock.mockReset();
  });

  afterEach(() => {
    global.fetch = realFetch;
  });

  /** What the code under test sent: URL as a string, and the headers. */
  const sent = () =>
    fetchMock.mock.calls.map(([url, init]) => ({
      url: String(url),
      headers: (init?.headers ?? {}) as Record<string, string>,
    }));

  describe('registryBaseUrl', () => {
    it.each([
      ['127.0.0.1:5000', 'http://127.0.0.1:5000'],
      ['127.0.0.2', 'http://127.0.0.2'],
      ['localhost', 'http://localhost'],
      ['localhost:5000', 'http://localhost:5000'],
      ['[::1]:5000', 'http://[::1]:5000'],
      ['us-central1-docker.pkg.dev', 'https://us-central1-docker.pkg.dev'],
      ['registry.example.com:5000', 'https://registry.example.com:5000'],
      ['10.0.0.5:5000', 'https://10.0.0.5:5000'],
      ['localhost.example.com', 'https://localhost.example.com'],
    ])('talks to %s at %s', (host, url) => {
      expect(registryBaseUrl(host)).toBe(url);
    });
  });

  describe('RegistryClient.manifest', () => {
    it('asks for the tag with every manifest media type', async () => {
      fetchMock.mockResolvedValue(response(404));
      await new RegistryClient('127.0.0.1:5000', noCreds).manifest(
        'ml-images/synth-training',
        'nx-abc',
      );
      expect(sent()).toEqual([
        {
          url: 'http://127.0.0.1:5000/v2/ml-images/synth-training/manifests/nx-abc',
          headers: {
            accept: [
              'application/vnd.docker.distribution.manifest.v2+json',
              'application/vnd.oci.image.manifest.v1+json',
              'application/vnd.docker.distribution.manifest.list.v2+json',
              'application/vnd.oci.image.index.v1+json',
            ].join(', '),
          },
        },
      ]);
    });

    it('returns undefined for a tag the registry does not hold (404)', async () => {
      fetchMock.mockResolvedValue(
        response(404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] }),
      );
      await expect(
        new RegistryClient('127.0.0.1:5000', noCreds).manifest(
          'ml-images/a',
          'latest',
        ),
      ).resolves.toBeUndefined();
    });

    it('returns the manifest digest header and the config digest of a held tag', async () => {
      fetchMock.mockResolvedValue(
        response(
          200,
          {
            schemaVersion: 2,
            config: {
              mediaType: 'application/vnd.oci.image.config.v1+json',
              digest: 'sha256:c0ffee',
            },
          },
          { 'docker-content-digest': 'sha256:d1gest' },
        ),
      );
      await expect(
        new RegistryClient('127.0.0.1:5000', noCreds).manifest(
          'ml-images/a',
          'latest',
        ),
      ).resolves.toEqual({
        digest: 'sha256:d1gest',
        configDigest: 'sha256:c0ffee',
      });
    });

    it('returns an empty digest and no config digest for an index without them', async () => {
      fetchMock.mockResolvedValue(
        response(200, { schemaVersion: 2, manifests: [] }),
      );
      await expect(
        new RegistryClient('127.0.0.1:5000', noCreds).manifest(
          'ml-images/a',
          'latest',
        ),
      ).resolves.toEqual({
        digest: '',
        configDigest: undefined,
      });
    });

    it('fetches a bearer token with Basic auth, then retries with it', async () => {
      fetchMock
        .mockResolvedValueOnce(
          response(401, '', {
            'www-authenticate':
              'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:ml-images/synth-training:pull"',
          }),
        )
        .mockResolvedValueOnce(response(200, { token: 'tok-123' }))
        .mockResolvedValueOnce(
          response(
            200,
            { config: { digest: 'sha256:cfg' } },
            { 'docker-content-digest': 'sha256:man' },
          ),
        );

      const manifest = await new RegistryClient(
        'registry.example.com',
        creds,
      ).manifest('ml-images/synth-training', 'v1');

      expect(manifest).toEqual({
        digest: 'sha256:man',
        configDigest: 'sha256:cfg',
      });
      const [first, token, retry] = sent();
      expect(first.url).toBe(
        'https://registry.example.com/v2/ml-images/synth-training/manifests/v1',
      );
      expect(first.headers.authorization).toBeUndefined();
      expect(token).toEqual({
        url: 'https://auth.example.com/token?service=registry.example.com&scope=repository%3Aml-images%2Fsynth-training%3Apull',
        headers: { authorization: BASIC },
      });
      expect(retry.url).toBe(first.url);
      expect(retry.headers.authorization).toBe('Bearer tok-123');
    });

    it('accepts a token endpoint that answers access_token', async () => {
      fetchMock
        .mockResolvedValueOnce(
          response(401, '', {
            'www-authenticate': 'Bearer realm="https://auth.example.com/token"',
          }),
        )
        .mockResolvedValueOnce(response(200, { access_token: 'at-456' }))
        .mockResolvedValueOnce(response(404));
      await new RegistryClient('registry.example.com', creds).manifest(
        'ml-images/a',
        'v1',
      );
      expect(sent()[1].url).toBe('https://auth.example.com/token');
      expect(sent()[2].headers.authorization).toBe('Bearer at-456');
    });

    it('answers a Basic challenge with the credentials directly', async () => {
      fetchMock
        .mockResolvedValueOnce(
          response(401, '', {
            'www-authenticate': 'Basic realm="Registry Realm"',
          }),
        )
        .mockResolvedValueOnce(response(404));
      await expect(
        new RegistryClient('127.0.0.1:5000', creds).manifest(
          'ml-images/a',
          'v1',
        ),
      ).resolves.toBeUndefined();
      expect(sent()).toHaveLength(2);
      expect(sent()[1].headers.authorization).toBe(BASIC);
    });

    it('reuses the token for the next request', async () => {
      fetchMock
        .mockResolvedValueOnce(
          response(401, '', { 'www-authenticate': 'Basic realm="r"' }),
        )
        .mockResolvedValueOnce(response(404))
        .mockResolvedValueOnce(response(404));
      const client = new RegistryClient('127.0.0.1:5000', creds);
      await client.manifest('ml-images/a', 'v1');
      await client.manifest('ml-images/a', 'v2');
      expect(sent()).toHaveLength(3);
      expect(sent()[2].headers.authorization).toBe(BASIC);
    });

    it('refuses with a docker login hint when the registry wants credentials and there are none', async () => {
      fetchMock.mockResolvedValue(
        response(401, '', {
          'www-authenticate':
            'Bearer realm="https://auth.example.com/token",service="r"',
        }),
      );
      const error = await new RegistryClient('127.0.0.1:5000', noCreds)
        .manifest('ml-images/a', 'v1')
        .catch((e) => e);
      expect(error).toBeInstanceOf(UserFacingError);
      expect(error.message).toContain(
        'Registry 127.0.0.1:5000 refused authentication (HTTP 401)',
      );
      expect(error.message).toContain('docker login 127.0.0.1:5000');
      expect(sent()).toHaveLength(1);
    });

    it('names the host, not the path prefix, in the login hint', async () => {
      fetchMock.mockResolvedValue(
        response(403, { errors: [{ code: 'DENIED' }] }),
      );
      await expect(
        new RegistryClient(
          'us-central1-docker.pkg.dev/my-gcp-project',
          noCreds,
        ).manifest('my-gcp-project/ml-images/a', 'v1'),
      ).rejects.toThrow(
        'Log in first: docker login us-central1-docker.pkg.dev (for Artifact Registry: gcloud auth configure-docker us-central1-docker.pkg.dev)',
      );
    });

    it.each<[string, Array<() => Response>]>([
      [
        'the token endpoint refuses them',
        [
          () =>
            response(401, '', {
              'www-authenticate':
                'Bearer realm="https://auth.example.com/token",service="s"',
            }),
          () => response(401, 'invalid username/password'),
        ],
      ],
      [
        'the registry refuses the token',
        [
          () =>
            response(401, '', {
              'www-authenticate':
                'Bearer realm="https://auth.example.com/token",service="s"',
            }),
          () => response(200, { token: 'tok' }),
          () =>
            response(401, '', {
              'www-authenticate':
                'Bearer realm="https://auth.example.com/token",error="insufficient_scope"',
            }),
        ],
      ],
      [
        'the registry refuses Basic auth',
        [
          () => response(401, '', { 'www-authenticate': 'Basic realm="r"' }),
          () => response(403),
        ],
      ],
    ])(
      'never puts the credentials in the error when %s',
      async (_label, answers) => {
        for (const answer of answers) fetchMock.mockResolvedValueOnce(answer());
        const error = await new RegistryClient('registry.example.com', creds)
          .manifest('ml-images/a', 'v1')
          .catch((e) => e);
        expect(error).toBeInstanceOf(UserFacingError);
        expect(error.message).toContain('refused authentication');
        for (const secret of [
          USERNAME,
          SECRET,
          BASIC,
          Buffer.from(`${USERNAME}:${SECRET}`).toString('base64'),
        ]) {
          expect(error.message).not.toContain(secret);
        }
      },
    );

    it('fails on an unexpected status with the repository and tag', async () => {
      fetchMock.mockResolvedValue(response(500, 'oops'));
      await expect(
        new RegistryClient('127.0.0.1:5000', noCreds).manifest(
          'ml-images/a',
          'v1',
        ),
      ).rejects.toThrow(
        'Registry 127.0.0.1:5000 answered HTTP 500 for ml-images/a:v1',
      );
    });

    it('encodes the tag in the URL', async () => {
      fetchMock.mockResolvedValue(response(404));
      await new RegistryClient('127.0.0.1:5000', noCreds).manifest(
        'ml-images/a',
        'a/b?c',
      );
      expect(sent()[0].url).toBe(
        'http://127.0.0.1:5000/v2/ml-images/a/manifests/a%2Fb%3Fc',
      );
    });
  });

  describe('RegistryClient.tags', () => {
    it('follows the Link header through every page', async () => {
      fetchMock
        .mockResolvedValueOnce(
          response(
            200,
            { name: 'ml/a-buildcache', tags: ['k1', 'k2'] },
            { link: '</v2/ml/a-buildcache/tags/list?n=2&last=k2>; rel="next"' },
          ),
        )
        .mockResolvedValueOnce(
          response(200, { name: 'ml/a-buildcache', tags: ['k3'] }),
        );
      await expect(
        new RegistryClient('127.0.0.1:5000', noCreds).tags('ml/a-buildcache'),
      ).resolves.toEqual(['k1', 'k2', 'k3']);
      expect(sent().map((r) => r.url)).toEqual([
        'http://127.0.0.1:5000/v2/ml/a-buildcache/tags/list',
        'http://127.0.0.1:5000/v2/ml/a-buildcache/tags/list?n=2&last=k2',
      ]);
    });

    it.each([
      ['a repository nobody pushed yet (404)', response(404)],
      [
        'a repository whose tags were all deleted (tags: null)',
        response(200, { tags: null }),
      ],
    ])('has no tags for %s', async (_label, answer) => {
      fetchMock.mockResolvedValue(answer);
      await expect(
        new RegistryClient('127.0.0.1:5000', noCreds).tags('ml/new'),
      ).resolves.toEqual([]);
    });

    it('refuses with the login hint when the registry wants credentials', async () => {
      fetchMock.mockResolvedValue(response(401));
      await expect(
        new RegistryClient('127.0.0.1:5000', noCreds).tags('ml/a'),
      ).rejects.toThrow(
        'Registry 127.0.0.1:5000 refused authentication (HTTP 401). Log in first: docker login 127.0.0.1:5000',
      );
    });
  });

  describe('RegistryClient.imageConfig', () => {
    const config = {
      history: [{ created_by: '/bin/sh -c #(nop) ARG X', empty_layer: true }],
      rootfs: { type: 'layers', diff_ids: ['sha256:l1'] },
    };

    it('reads the manifest of a single image, then its config blob', async () => {
      fetchMock
        .mockResolvedValueOnce(
          response(200, { schemaVersion: 2, config: { digest: 'sha256:cf9' } }),
        )
        .mockResolvedValueOnce(response(200, config));
      await expect(
        new RegistryClient('127.0.0.1:5000', noCreds).imageConfig(
          'ml/a-buildcache',
          'k1',
        ),
      ).resolves.toEqual(config);
      expect(sent()).toEqual([
        {
          url: 'http://127.0.0.1:5000/v2/ml/a-buildcache/manifests/k1',
          headers: {
            accept: [
              'application/vnd.docker.distribution.manifest.v2+json',
              'application/vnd.oci.image.manifest.v1+json',
            ].join(', '),
          },
        },
        {
          url: 'http://127.0.0.1:5000/v2/ml/a-buildcache/blobs/sha256:cf9',
          headers: {},
        },
      ]);
    });

    it.each([
      ['the tag is gone', [response(404)]],
      [
        'the tag names an index (no config)',
        [response(200, { manifests: [] })],
      ],
      [
        'the config blob is gone',
        [response(200, { config: { digest: 'sha256:cf9' } }), response(404)],
      ],
    ])('is undefined when %s', async (_label, answers) => {
      for (const a of answers) fetchMock.mockResolvedValueOnce(a);
      await expect(
        new RegistryClient('127.0.0.1:5000', noCreds).imageConfig('ml/a', 'k'),
      ).resolves.toBeUndefined();
    });
  });

  describe('reachability', () => {
    it.each([
      ['ECONNREFUSED', connectionError('ECONNREFUSED'), 'ECONNREFUSED'],
      ['a DNS failure', connectionError('ENOTFOUND'), 'ENOTFOUND'],
      [
        'a timeout',
        new DOMException(
          'The operation was aborted due to timeout',
          'TimeoutError',
        ),
        'TimeoutError',
      ],
    ])(
      'says the registry is unreachable on %s',
      async (_label, error, cause) => {
        fetchMock.mockRejectedValue(error);
        const thrown = await new RegistryClient('127.0.0.1:5000', noCreds)
          .ping()
          .catch((e) => e);
        expect(thrown).toBeInstanceOf(UserFacingError);
        expect(thrown.message).toBe(
          `Registry 127.0.0.1:5000 is unreachable (${cause} on http://127.0.0.1:5000/v2/). Start the registry, or point the registry option (or ML_DOCKER_REGISTRY) at one that runs.`,
        );
      },
    );

    it('says so for a manifest lookup too', async () => {
      fetchMock.mockRejectedValue(connectionError('ECONNREFUSED'));
      await expect(
        new RegistryClient('127.0.0.1:5000', noCreds).manifest(
          'ml-images/a',
          'v1',
        ),
      ).rejects.toThrow('Registry 127.0.0.1:5000 is unreachable (ECONNREFUSED');
    });

    it('pings /v2/ of the host', async () => {
      fetchMock.mockResolvedValue(response(200, {}));
      await new RegistryClient('localhost:5000/team', noCreds).ping();
      expect(sent()).toEqual([
        { url: 'http://localhost:5000/v2/', headers: {} },
      ]);
    });
  });

  describe('dockerCredentials', () => {
    const savedDockerConfig = process.env.DOCKER_CONFIG;
    let dir: string;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'ml-docker-config-'));
      process.env.DOCKER_CONFIG = dir;
    });

    afterEach(() => {
      if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
      else process.env.DOCKER_CONFIG = savedDockerConfig;
      rmSync(dir, { recursive: true, force: true });
    });

    const writeConfig = (config: unknown) =>
      writeFileSync(
        join(dir, 'config.json'),
        typeof config === 'string' ? config : JSON.stringify(config),
      );
    const auth = (s: string) => Buffer.from(s).toString('base64');

    it.each([
      ['the bare host', '127.0.0.1:5000', '127.0.0.1:5000'],
      [
        'the https:// host',
        'https://registry.example.com',
        'registry.example.com',
      ],
      ['the http:// host', 'http://127.0.0.1:5000', '127.0.0.1:5000'],
      [
        'the host of a registry with a path',
        'us-central1-docker.pkg.dev',
        'us-central1-docker.pkg.dev/my-gcp-project',
      ],
    ])(
      'reads the auths entry stored under %s',
      async (_label, key, registry) => {
        writeConfig({
          auths: { [key]: { auth: auth(`${USERNAME}:${SECRET}`) } },
        });
        await expect(dockerCredentials(registry)).resolves.toEqual({
          username: USERNAME,
          secret: SECRET,
        });
        expect(runMock).not.toHaveBeenCalled();
      },
    );

    it('keeps colons in the secret', async () => {
      writeConfig({
        auths: { '127.0.0.1:5000': { auth: auth('bot:pa:ss:word') } },
      });
      await expect(dockerCredentials('127.0.0.1:5000')).resolves.toEqual({
        username: 'bot',
        secret: 'pa:ss:word',
      });
    });

    it.each([
      ['there is no config.json', undefined],
      ['config.json is not JSON', '{ not json'],
      [
        'there is no entry for the host',
        { auths: { 'other.example.com': { auth: auth('a:b') } } },
      ],
      [
        'the entry has no auth',
        { auths: { '127.0.0.1:5000': { identitytoken: 'x' } } },
      ],
      [
        'the auth has no colon',
        { auths: { '127.0.0.1:5000': { auth: auth('justauser') } } },
      ],
    ])('returns undefined when %s', async (_label, config) => {
      if (config !== undefined) writeConfig(config);
      await expect(
        dockerCredentials('127.0.0.1:5000'),
      ).resolves.toBeUndefined();
    });

    it.each([
      [
        'a credHelper for the host',
        { credHelpers: { 'us-central1-docker.pkg.dev': 'gcloud' } },
        'docker-credential-gcloud',
      ],
      ['a credsStore', { credsStore: 'pass' }, 'docker-credential-pass'],
    ])('asks %s', async (_label, config, helper) => {
      writeConfig(config);
      runMock.mockResolvedValue({
        command: '',
        exitCode: 0,
        stdout: JSON.stringify({
          ServerURL: 'us-central1-docker.pkg.dev',
          Username: 'oauth2accesstoken',
          Secret: 'ya29.tok',
        }),
        stderr: '',
        all: '',
        timedOut: false,
      });
      await expect(
        dockerCredentials('us-central1-docker.pkg.dev/my-gcp-project'),
      ).resolves.toEqual({
        username: 'oauth2accesstoken',
        secret: 'ya29.tok',
      });
      expect(runMock).toHaveBeenCalledWith(helper, ['get'], {
        input: 'us-central1-docker.pkg.dev',
        timeoutMs: 20_000,
      });
    });

    it.each([
      [
        'fails',
        { exitCode: 1, stdout: 'credentials not found in native keychain' },
      ],
      ['prints no JSON', { exitCode: 0, stdout: 'nope' }],
    ])('falls back to auths when the helper %s', async (_label, answer) => {
      writeConfig({
        credsStore: 'desktop',
        auths: { '127.0.0.1:5000': { auth: auth(`${USERNAME}:${SECRET}`) } },
      });
      runMock.mockResolvedValue({
        command: '',
        stderr: '',
        all: '',
        timedOut: false,
        ...answer,
      });
      await expect(dockerCredentials('127.0.0.1:5000')).resolves.toEqual({
        username: USERNAME,
        secret: SECRET,
      });
    });

    it('gives the RegistryClient the stored credentials by default', async () => {
      writeConfig({
        auths: { '127.0.0.1:5000': { auth: auth(`${USERNAME}:${SECRET}`) } },
      });
      fetchMock
        .mockResolvedValueOnce(
          response(401, '', { 'www-authenticate': 'Basic realm="r"' }),
        )
        .mockResolvedValueOnce(response(404));
      await new RegistryClient('127.0.0.1:5000').manifest('ml-images/a', 'v1');
      expect(sent()[1].headers.authorization).toBe(BASIC);
    });
  });
});
