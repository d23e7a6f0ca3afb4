/**
 * Build secrets: what a build may read while it runs (a private index's URL
 * with its token, a .netrc) but must never keep. Build args are kept: in the
 * image's history and in every cache image pushed beside it, where anyone who
 * can pull reads them. So credentials go through BuildKit's and Podman's
 * `--secret` (by environment variable name or file path, never by value), and
 * build args that look like credentials are refused before any build.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { BuildSecretSource } from './build-options';
import { fail } from '../errors/errors';

/** One secret handed to the engine: its id and where the engine's client reads the value. */
export interface BuildSecret {
  id: string;
  env?: string;
  /** Absolute path. */
  src?: string;
}

export interface ResolvedSecrets {
  given: BuildSecret[];
  /** Configured but absent here (variable unset, file missing): built without, and said so. */
  absent: Array<{ id: string; why: string }>;
}

/** The ids the generated Dockerfiles mount while pip installs (see partials/builder.ejs). */
export const PIP_SECRET_IDS = ['pip-index-url', 'pip-extra-index-url', 'netrc'];

const README_SECTION = 'README "Private package index"';

/**
 * The secrets option checked and resolved against this machine. A secret
 * whose variable is unset or whose file is missing is left out, not fatal:
 * the Dockerfiles build without it (public index), and a build that needed it
 * names it in its failure line.
 */
export function resolveSecrets(
  secrets: Record<string, BuildSecretSource> | undefined,
  workspaceRoot: string,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): ResolvedSecrets {
  const given: BuildSecret[] = [];
  const absent: ResolvedSecrets['absent'] = [];
  for (const [id, source] of Object.entries(secrets ?? {})) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id))
      fail(
        `Build secret id "${id}" is not valid: use letters, digits, . _ - (e.g. "pip-index-url"). Fix the secrets option.`,
      );
    const kinds = (['env', 'src'] as const).filter((k) => source?.[k]);
    if (kinds.length !== 1)
      fail(
        `Build secret "${id}" needs exactly one of env (a variable name) or src (a file): e.g. "secrets": { "${id}": { "env": "PIP_INDEX_URL" } }. Fix the secrets option.`,
      );
    if (source.env !== undefined) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(source.env))
        fail(
          `Build secret "${id}": env must name an environment variable (letters, digits, _), not hold the value. Put the value in a variable and name it here.`,
        );
      if (env[source.env]) given.push({ id, env: source.env });
      else absent.push({ id, why: `${source.env} is not set` });
    } else {
      const src = expandPath(source.src!, workspaceRoot, home);
      if (existsSync(src)) given.push({ id, src });
      else absent.push({ id, why: `${src} does not exist` });
    }
  }
  return { given, absent };
}

function expandPath(path: string, root: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return isAbsolute(path) ? path : join(root, path);
}

const CREDENTIAL_NAME = /(TOKEN|PASSWORD|SECRET|KEY|CREDENTIALS)$/i;
// scheme://user@ or scheme://user:password@, anywhere in the value.
const URL_WITH_USERINFO = /[a-z][a-z0-9+.-]*:\/\/[^\s/?#@]+@/i;

/** Why a build arg looks like a credential, or undefined. Never quotes the value. */
export function credentialShape(
  name: string,
  value: string,
): string | undefined {
  if (CREDENTIAL_NAME.test(name))
    return `its name ends in ${CREDENTIAL_NAME.exec(name)![1].toUpperCase()}`;
  if (URL_WITH_USERINFO.test(value))
    return 'its value is a URL with a user name or password in it';
  return undefined;
}

/** Refuses the first credential-shaped build arg, before anything is built. */
export function assertNoCredentialArgs(
  buildArgs: Record<string, string> | undefined,
): void {
  for (const [name, value] of Object.entries(buildArgs ?? {})) {
    const why = credentialShape(name, String(value));
    if (why)
      fail(
        `Build arg ${name} looks like a credential (${why}): build args stay readable in the image history and in the cache images pushed beside it. Pass it as a build secret instead, e.g. "secrets": { "pip-index-url": { "env": "${name}" } }, and remove it from buildArgs (see ${README_SECTION}).`,
      );
  }
}

/** The ids of the secret mounts in a RUN step (`--mount=type=secret,id=…`). */
export function secretMountIds(text: string): string[] {
  const ids: string[] = [];
  for (const m of text.matchAll(/--mount=(\S+)/g)) {
    const fields = new Map(
      m[1].split(',').map((f) => f.split('=') as [string, string]),
    );
    if (fields.get('type') === 'secret' && fields.get('id'))
      ids.push(fields.get('id')!);
  }
  return ids;
}

/** The option that would supply a missing secret, for the failure line. */
export function secretRemedy(ids: string[]): string {
  const example =
    ids[0] === 'netrc'
      ? `"netrc": { "src": "~/.netrc" }`
      : `"${ids[0]}": { "env": "${ids[0].toUpperCase().replace(/[^A-Z0-9]+/g, '_')}" }`;
  return `the build secret ${ids.join(' or ')} was not given: if the package comes from a private index, add "secrets": { ${example} } to the build options (see ${README_SECTION})`;
}
