/**
 * A Python ML project's own version, where its packaging declares it:
 * pyproject.toml ([project] or [tool.poetry]), setup.cfg ([metadata]) or
 * package.json. Read with the inspection's readers; written back by editing
 * the one value in the text, so comments, order and quoting stay as the team
 * wrote them (a TOML or INI serializer would rewrite the whole file).
 */
import { fail } from '../errors/errors';
import { readSetupCfg } from '../inspection/readers/setup-cfg';
import { isTable, parseToml, TomlError } from '../inspection/readers/toml';

/** Where a version can live, in the order a project's files are asked. */
export const MANIFEST_FILES = [
  'pyproject.toml',
  'setup.cfg',
  'package.json',
] as const;
export type ManifestFile = (typeof MANIFEST_FILES)[number];

export interface ManifestVersion {
  file: ManifestFile;
  version: string;
  /** The table and key, for messages: "[project] version". */
  key: string;
}

const DYNAMIC_HINT =
  'nx release cannot write a version computed at build time. Write a literal version there, or set a versionSchemes entry in versionActionsOptions that does not use {versionActionsVersion} (see the README, Releasing)';

/**
 * The version the file declares, or undefined when it declares none (the
 * next file is asked). `path` names the file in messages.
 */
export function readManifestVersion(
  file: ManifestFile,
  text: string,
  path: string,
): ManifestVersion | undefined {
  switch (file) {
    case 'pyproject.toml':
      return pyprojectVersion(text, path);
    case 'setup.cfg':
      return setupCfgVersion(text, path);
    case 'package.json':
      return packageJsonVersion(text, path);
  }
}

/** The file's text with its version replaced and nothing else changed. */
export function writeManifestVersion(
  file: ManifestFile,
  text: string,
  path: string,
  newVersion: string,
): string {
  const current = readManifestVersion(file, text, path);
  if (!current)
    fail(`${path} declares no version to update: add one, then rerun.`);
  const updated =
    file === 'package.json'
      ? replaceJsonVersion(text, newVersion)
      : replaceInSection(
          text,
          file === 'setup.cfg'
            ? ['metadata']
            : current.key.startsWith('[tool.poetry]')
              ? ['tool.poetry']
              : ['project'],
          file === 'setup.cfg'
            ? /^(\s*version\s*[=:]\s*)(\S.*?)(\s*)$/i
            : /^(\s*version\s*=\s*)(["'])(.*?)\2(.*)$/,
          newVersion,
        );
  // The edit is textual: read it back, so a file it could not follow fails here, not in pip.
  if (readManifestVersion(file, updated, path)?.version !== newVersion)
    fail(
      `Could not write version ${newVersion} into ${path} (${current.key} is written in a form the release does not edit): write it there by hand, or use a version scheme.`,
    );
  return updated;
}

function pyprojectVersion(
  text: string,
  path: string,
): ManifestVersion | undefined {
  let doc;
  try {
    doc = parseToml(text);
  } catch (e) {
    if (e instanceof TomlError)
      fail(`${path} is not valid TOML (${e.message}): fix it, then rerun.`);
    throw e;
  }
  const project = isTable(doc.project) ? doc.project : undefined;
  if (project) {
    if (typeof project.version === 'string')
      return {
        file: 'pyproject.toml',
        version: project.version,
        key: '[project] version',
      };
    const dynamic = Array.isArray(project.dynamic) ? project.dynamic : [];
    if (dynamic.includes('version'))
      fail(
        `${path} lists version in [project] dynamic (set at build time, e.g. by setuptools-scm): ${DYNAMIC_HINT}.`,
      );
  }
  const tool = isTable(doc.tool) ? doc.tool : undefined;
  const poetry = tool && isTable(tool.poetry) ? tool.poetry : undefined;
  if (poetry && typeof poetry.version === 'string')
    return {
      file: 'pyproject.toml',
      version: poetry.version,
      key: '[tool.poetry] version',
    };
  return undefined;
}

function setupCfgVersion(
  text: string,
  path: string,
): ManifestVersion | undefined {
  const version = readSetupCfg(text, path).sections.metadata?.version?.trim();
  if (!version) return undefined;
  if (/^(attr|file):/.test(version))
    fail(
      `${path} reads [metadata] version from "${version}": ${DYNAMIC_HINT}.`,
    );
  return { file: 'setup.cfg', version, key: '[metadata] version' };
}

function packageJsonVersion(
  text: string,
  path: string,
): ManifestVersion | undefined {
  let json: { version?: unknown };
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(
      `${path} is not valid JSON (${(e as Error).message}): fix it, then rerun.`,
    );
  }
  return typeof json?.version === 'string'
    ? { file: 'package.json', version: json.version, key: '"version"' }
    : undefined;
}

/**
 * Replaces the value on the `version` line of the first of `sections` that
 * has one. Section headers are INI/TOML `[name]` lines; a TOML value is kept
 * in the quotes it had.
 */
function replaceInSection(
  text: string,
  sections: string[],
  line: RegExp,
  newVersion: string,
): string {
  const lines = text.split('\n');
  let inSection = false;
  for (let i = 0; i < lines.length; i++) {
    const header = /^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?\r?$/.exec(lines[i]);
    if (header) {
      inSection = sections.includes(header[1]);
      continue;
    }
    if (!inSection) continue;
    const cr = lines[i].endsWith('\r') ? '\r' : '';
    const m = line.exec(cr ? lines[i].slice(0, -1) : lines[i]);
    if (!m) continue;
    lines[i] =
      m.length === 5
        ? `${m[1]}${m[2]}${newVersion}${m[2]}${m[4]}${cr}`
        : `${m[1]}${newVersion}${m[3]}${cr}`;
    return lines.join('\n');
  }
  return text;
}

/** The top-level "version" of package.json, found by parsing so a nested one is never touched. */
function replaceJsonVersion(text: string, newVersion: string): string {
  const indent = /^[ \t]+(?=")/m.exec(text)?.[0] ?? '  ';
  const json = JSON.parse(text);
  json.version = newVersion;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const body = JSON.stringify(json, null, indent).replace(/\n/g, eol);
  return text.endsWith('\n') ? body + eol : body;
}
