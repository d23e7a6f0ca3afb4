/**
 * A small client for the OCI distribution API, enough to ask a registry
 * whether it already holds a tag and which image config it points to. It uses
 * the same credentials as `docker login` (config.json auths and credential
 * helpers) and never prints them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fail, UserFacingError } from '../errors/errors';
import { splitRegistry } from './image-ref';
import { run } from '../process/process';

export interface Credentials {
  username: string;
  secret: string;
}

export interface RemoteManifest {
  /** Digest of the manifest itself (what `docker push` prints). */
  digest: string;
  /** Digest of the image config: equals the local image ID. */
  configDigest?: string;
}

export const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** A single image's manifest, not an index: its config is what a build step left. */
const IMAGE_MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
].join(', ');

/** The parts of an image config (OCI image spec) the plugin reads. */
export interface ImageConfig {
  history?: Array<{ created_by?: string; empty_layer?: boolean }>;
  rootfs?: { diff_ids?: string[] };
}

/** Nothing answered (refused, reset, timed out): worth a retry, unlike an answer. */
export class RegistryUnreachableError extends UserFacingError {}

export interface SendOptions {
  method?: string;
  accept?: string;
  headers?: Record<string, string>;
  /** A stream is sent once: a 401 on it is not retried, so authenticate first. */
  body?: BodyInit | ReadableStream<Uint8Array>;
  timeoutMs?: number;
}

/** Docker talks plain HTTP to loopback registries; everything else is HTTPS. */
export function registryBaseUrl(host: string): string {
  const hostname = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const loopback =
    hostname === 'localhost' || hostname === '::1' || /^127\./.test(hostname);
  return `${loopback ? 'http' : 'https'}://${host}`;
}

export class RegistryClient {
  private token?: string;
  constructor(
    readonly registry: string,
    private readonly credentials: () => Promise<Credentials | undefined> = () =>
      dockerCredentials(registry),
    private readonly timeoutMs = 10_000,
  ) {}

  /** The last sentence of the unreachable message: what the user changes to point elsewhere. */
  unreachableFix =
    'Start the registry, or point the registry option (or ML_DOCKER_REGISTRY) at one that runs.';

  get host(): string {
    return splitRegistry(this.registry).host;
  }

  /** Fails with an actionable message when nothing answers. */
  async ping(): Promise<void> {
    await this.request('/v2/');
  }

  async manifest(
    repositoryPath: string,
    tag: string,
  ): Promise<RemoteManifest | undefined> {
    const res = await this.request(
      `/v2/${repositoryPath}/manifests/${encodeURIComponent(tag)}`,
      {
        accept: MANIFEST_TYPES,
      },
    );
    if (res.status === 404) return undefined;
    this.check(res, `${repositoryPath}:${tag}`);
    const body = (await res.json()) as { config?: { digest?: string } };
    return {
      digest: res.headers.get('docker-content-digest') ?? '',
      configDigest: body.config?.digest,
    };
  }

  /** Every tag of a repository; none when the repository does not exist yet. */
  async tags(repositoryPath: string): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = `/v2/${repositoryPath}/tags/list`;
    // Registries page long lists (the Link header); a bound keeps a broken one from looping.
    for (let page = 0; next && page < 100; page++) {
      const res = await this.request(next);
      if (res.status === 404) return tags;
      this.check(res, `the tags of ${repositoryPath}`);
      const body = (await res.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(
        res.headers.get('link') ?? '',
      )?.[1];
      // The Link target may be a path or a whole URL; the request adds the origin.
      next = link
        ? (({ pathname, search }) => pathname + search)(
            new URL(link, registryBaseUrl(this.host)),
          )
        : undefined;
    }
    return tags;
  }

  /**
   * The image config of a tag (history, layer diff IDs), read without pulling
   * a layer; undefined when the tag is gone or names an index.
   */
  async imageConfig(
    repositoryPath: string,
    tag: string,
  ): Promise<ImageConfig | undefined> {
    const res = await this.request(
      `/v2/${repositoryPath}/manifests/${encodeURIComponent(tag)}`,
      { accept: IMAGE_MANIFEST_TYPES },
    );
    if (res.status === 404) return undefined;
    this.check(res, `${repositoryPath}:${tag}`);
    const digest = ((await res.json()) as { config?: { digest?: string } })
      .config?.digest;
    if (!digest) return undefined;
    const blob = await this.request(`/v2/${repositoryPath}/blobs/${digest}`);
    if (blob.status === 404) return undefined;
    this.check(blob, `the config of ${repositoryPath}:${tag}`);
    return (await blob.json()) as ImageConfig;
  }

  /**
   * Any request of the distribution API, with the credentials attached;
   * `path` may be a whole URL on this registry (an upload's Location).
   */
  send(path: string, opts: SendOptions = {}): Promise<Response> {
    return this.request(path, opts);
  }

  /** Fails with the actionable line for a refused login or an error status. */
  check(res: Response, what: string): void {
    if (res.status === 401 || res.status === 403) {
      fail(
        `Registry ${this.registry} refused authentication (HTTP ${res.status}). Log in first: docker login ${this.host} (for Artifact Registry: gcloud auth configure-docker ${this.host}).`,
      );
    }
    if (!res.ok)
      fail(
        `Registry ${this.registry} answered HTTP ${res.status} for ${what}. Check the registry's logs and retry.`,
      );
  }

  private async request(
    path: string,
    opts: SendOptions = {},
    retried = false,
  ): Promise<Response> {
    const url = /^https?:\/\//.test(path)
      ? path
      : `${registryBaseUrl(this.host)}${path}`;
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.accept) headers.accept = opts.accept;
    if (this.token) headers.authorization = this.token;
    const streamed = opts.body instanceof ReadableStream;
    let res: Response;
    try {
      res = await fetch(url, {
        method: opts.method,
        headers,
        body: opts.body as BodyInit | undefined,
        // Node's fetch sends a stream only half-duplex.
        ...(streamed ? { duplex: 'half' } : {}),
        signal: AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs),
      } as RequestInit);
    } catch (e) {
      const cause =
        (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      throw new RegistryUnreachableError(
        `Registry ${this.registry} is unreachable (${cause} on ${registryBaseUrl(this.host)}/v2/). ${this.unreachableFix}`,
      );
    }
    if (res.status === 401 && !retried && !streamed) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      const creds = await this.credentials();
      if (creds) {
        this.token = await this.authorize(challenge, creds);
        if (this.token) return this.request(path, opts, true);
      }
    }
    return res;
  }

  private async authorize(
    challenge: string,
    creds: Credentials,
  ): Promise<string | undefined> {
    const basic = `Basic ${Buffer.from(`${creds.username}:${creds.secret}`).toString('base64')}`;
    if (/^basic/i.test(challenge)) return basic;
    if (!/^bearer/i.test(challenge)) return undefined;
    const params = Object.fromEntries(
      [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (!params.realm) return undefined;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    if (params.scope) url.searchParams.set('scope', params.scope);
    const res = await fetch(url, {
      headers: { authorization: basic },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) return undefined;
    const body = (await res.json()) as {
      token?: string;
      access_token?: string;
    };
    const token = body.token ?? body.access_token;
    return token ? `Bearer ${token}` : undefined;
  }
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/**
 * Where `docker login` and `podman login` keep credentials, in the order
 * Podman reads them (its own auth file first, then Docker's config).
 */
export function credentialFiles(
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR)
    files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(
    join(
      env.XDG_CONFIG_HOME || join(homedir(), '.config'),
      'containers',
      'auth.json',
    ),
  );
  files.push(
    join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json'),
  );
  return files;
}

/** The credentials `docker login` or `podman login` stored for this registry, if any. */
export async function dockerCredentials(
  registry: string,
): Promise<Credentials | undefined> {
  for (const file of credentialFiles()) {
    const found = await credentialsIn(file, registry);
    if (found) return found;
  }
  return undefined;
}

async function credentialsIn(
  file: string,
  registry: string,
): Promise<Credentials | undefined> {
  const host = splitRegistry(registry).host;
  if (!existsSync(file)) return undefined;
  let config: DockerConfig;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const helper = config.credHelpers?.[host] ?? config.credsStore;
  if (helper) {
    const r = await run(`docker-credential-${helper}`, ['get'], {
      input: host,
      timeoutMs: 20_000,
    });
    if (r.exitCode === 0) {
      try {
        const { Username, Secret } = JSON.parse(r.stdout);
        if (Secret) return { username: Username, secret: Secret };
      } catch {
        // fall through to auths
      }
    }
  }
  const entry =
    config.auths?.[host] ??
    config.auths?.[`https://${host}`] ??
    config.auths?.[`http://${host}`];
  if (entry?.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0)
      return { username: decoded.slice(0, i), secret: decoded.slice(i + 1) };
  }
  return undefined;
}
