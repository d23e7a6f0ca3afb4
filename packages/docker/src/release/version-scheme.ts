/**
 * Image versions from a scheme such as `{currentDate|YYMM.DD}.{shortCommitSha}`,
 * configured and chosen the way @nx/docker's are (named `versionSchemes`,
 * picked with `nx release --dockerVersionScheme=<name>`, or bypassed with
 * `--dockerVersion=<exact>`), so a team that knows one knows the other.
 */
import { fail } from '../errors/errors';
import { assertTag } from '../registry/image-ref';

/** The options a release group gives our version actions (release.version.versionActionsOptions). */
export interface MlVersionActionsOptions {
  /** Named version patterns; with one entry it is always used. */
  versionSchemes?: Record<string, string>;
  /** The build target whose record names the images (default docker-build). */
  buildTarget?: string;
}

export interface SchemeTokens {
  projectName: string;
  currentDate: Date;
  commitSha: string;
  /** The semver version nx release derived from the project's manifest, when the scheme asks for it. */
  versionActionsVersion?: string;
  env: NodeJS.ProcessEnv;
}

export const VERSION_ACTIONS_VERSION = '{versionActionsVersion}';

const TOKEN = /\{([^{}]+)\}/g;
const KNOWN =
  '{projectName}, {currentDate}, {currentDate|FORMAT}, {commitSha}, {shortCommitSha}, {versionActionsVersion}, {env.NAME}';

/**
 * The pattern with its tokens replaced. Dates are UTC, so two CI runners in
 * different zones cut the same tag; FORMAT knows YYYY YY MM DD HH mm ss.
 * The result must be a valid image tag.
 */
export function interpolateScheme(
  pattern: string,
  tokens: SchemeTokens,
  where: string,
): string {
  const value = pattern.replace(TOKEN, (_, raw: string) => {
    const [name, format] = raw.split('|').map((s) => s.trim());
    if (name === 'projectName') return tokens.projectName;
    if (name === 'commitSha') return tokens.commitSha;
    if (name === 'shortCommitSha') return tokens.commitSha.slice(0, 7);
    if (name === 'currentDate')
      return formatDate(tokens.currentDate, format ?? 'YY.MM.DD');
    if (name === 'versionActionsVersion') {
      if (!tokens.versionActionsVersion)
        fail(
          `${where} uses {versionActionsVersion}, but no version was derived from the project's manifest: give nx release a specifier (e.g. nx release patch) and a version in pyproject.toml, setup.cfg or package.json.`,
        );
      return tokens.versionActionsVersion;
    }
    if (name.startsWith('env.')) {
      const v = tokens.env[name.slice(4)];
      if (v === undefined || v === '')
        fail(
          `${where} uses {${name}}, but ${name.slice(4)} is not set: set it, then rerun.`,
        );
      return v;
    }
    fail(`${where} has an unknown token {${raw}}. Known tokens: ${KNOWN}.`);
  });
  if (!tokens.commitSha && /\{(short)?commitSha\}/i.test(pattern))
    fail(
      `${where} uses the commit SHA, but the workspace is not a git repository with a commit: commit first.`,
    );
  assertTag(value, where);
  return value;
}

function formatDate(date: Date, format: string): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const parts: Record<string, string> = {
    YYYY: String(date.getUTCFullYear()),
    YY: String(date.getUTCFullYear()).slice(-2),
    MM: pad(date.getUTCMonth() + 1),
    DD: pad(date.getUTCDate()),
    HH: pad(date.getUTCHours()),
    mm: pad(date.getUTCMinutes()),
    ss: pad(date.getUTCSeconds()),
  };
  return format.replace(/YYYY|YY|MM|DD|HH|mm|ss/g, (t) => parts[t]);
}

/** What the command line asked for, read with nx release's own flag names. */
export interface SchemeChoice {
  scheme?: string;
  exact?: string;
}

/**
 * `--dockerVersionScheme` and `--dockerVersion` as nx release accepts them
 * (`--x=v`, `--x v`, kebab case). Nx parses them but hands them only to
 * @nx/docker, so they are read from the command line of this process.
 */
export function schemeChoiceFromArgv(argv: readonly string[]): SchemeChoice {
  const value = (names: string[]) => {
    for (let i = 0; i < argv.length; i++) {
      for (const n of names) {
        if (argv[i] === `--${n}`) return argv[i + 1];
        if (argv[i].startsWith(`--${n}=`)) return argv[i].slice(n.length + 3);
      }
    }
    return undefined;
  };
  return {
    scheme: value(['dockerVersionScheme', 'docker-version-scheme']),
    exact: value(['dockerVersion', 'docker-version']),
  };
}

/**
 * The pattern to use, or undefined when the group versions images with the
 * manifest's version. The flags only concern groups with versionSchemes: in
 * a workspace where @nx/docker releases other images, they are meant for
 * its groups, and a group without schemes keeps its semver version.
 */
export function chooseScheme(
  schemes: Record<string, string> | undefined,
  choice: SchemeChoice,
  group: string,
): { name: string; pattern: string } | undefined {
  const entries = Object.entries(schemes ?? {});
  if (entries.length === 0) return undefined;
  if (choice.exact !== undefined)
    return { name: '--dockerVersion', pattern: escapeBraces(choice.exact) };
  if (choice.scheme !== undefined) {
    const pattern = schemes?.[choice.scheme];
    if (pattern === undefined)
      fail(
        `--dockerVersionScheme=${choice.scheme} is not a version scheme of release group "${group}" (it has ${entries.map(([n]) => n).join(', ')}).`,
      );
    return { name: choice.scheme, pattern };
  }
  if (entries.length === 1)
    return { name: entries[0][0], pattern: entries[0][1] };
  fail(
    `Release group "${group}" has several version schemes (${entries.map(([n]) => n).join(', ')}): choose one with nx release --dockerVersionScheme=<name>.`,
  );
}

// An exact version is taken literally, never as a pattern.
function escapeBraces(s: string): string {
  if (/[{}]/.test(s))
    fail(
      `--dockerVersion=${s} is not a valid image tag: use A-Z a-z 0-9 _ . -`,
    );
  return s;
}
