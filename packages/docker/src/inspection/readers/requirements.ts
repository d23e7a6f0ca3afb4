/**
 * pip requirements: the logical lines of a requirements file (pip's
 * continuation and comment rules) and the PEP 508 requirement on each.
 * Hand-written: no maintained JavaScript PEP 508 parser exists, and the
 * grammar is small and frozen; the table in requirements.spec.ts pins it.
 */

export interface RequirementsLine {
  /** The 1-based line the logical line starts on. */
  line: number;
  /** The text, continuations joined and the comment removed. */
  text: string;
}

export interface Requirement {
  /** The PEP 503 normalized name. */
  name: string;
  extras: string[];
  /** Version specifiers as written, parentheses removed ('' for none). */
  specifier: string;
  url?: string;
  marker?: string;
}

/** PEP 503: runs of -, _ and . are one -, and case does not count. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * Logical lines as pip reads them: a line ending in a backslash continues
 * on the next, and `#` starts a comment at the line start or after
 * whitespace (so a URL's #fragment stays). Blank results are left out.
 */
export function requirementsLines(text: string): RequirementsLine[] {
  const out: RequirementsLine[] = [];
  let pending: RequirementsLine | undefined;
  text.split(/\r?\n/).forEach((physical, index) => {
    const continues = /\\$/.test(physical) && !/(^|\s)#/.test(physical);
    const part = continues ? physical.slice(0, -1) : physical;
    pending = pending
      ? { line: pending.line, text: pending.text + part }
      : { line: index + 1, text: part };
    if (continues) return;
    const content = pending.text.replace(/(^|\s)#.*$/, '').trim();
    if (content) out.push({ line: pending.line, text: content });
    pending = undefined;
  });
  if (pending) {
    const content = pending.text.replace(/(^|\s)#.*$/, '').trim();
    if (content) out.push({ line: pending.line, text: content });
  }
  return out;
}

/** The requirement part of a line: pip stops at the first word starting with - (--hash, --config-settings…). */
function withoutOptions(line: string): string {
  const words = line.split(/\s+/);
  const first = words.findIndex((w) => w.startsWith('-'));
  return (first < 0 ? words : words.slice(0, first)).join(' ');
}

const PEP508 =
  /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*(.*)$/;

/**
 * The requirement a line names: PEP 508 (`name[extras] (specifier) ; marker`,
 * `name @ url`), or a wheel, archive or VCS URL/path whose name is in its
 * file name or #egg=. undefined for options and nameless paths.
 */
export function parseRequirement(line: string): Requirement | undefined {
  const text = withoutOptions(line.trim());
  if (!text) return undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\/|^[a-z]+\+|^\.{0,2}\/|^file:/i.test(text))
    return fromLocation(text);
  const m = PEP508.exec(text);
  if (!m) return undefined;
  const [, rawName, extras, rest] = m;
  const name = normalizeName(rawName);
  const extraList = (extras ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (rest.startsWith('@')) {
    // A marker after a URL needs whitespace before its ;.
    const u = /^@\s*(\S+)(?:\s+;\s*(.*))?$/.exec(rest);
    if (!u) return undefined;
    return {
      name,
      extras: extraList,
      specifier: fileVersion(u[1], name) ? `==${fileVersion(u[1], name)}` : '',
      url: u[1],
      ...(u[2] ? { marker: u[2].trim() } : {}),
    };
  }
  const semi = rest.indexOf(';');
  const spec = (semi < 0 ? rest : rest.slice(0, semi)).trim();
  if (spec && !/^\(?\s*(?:[<>=!~]=?|===)/.test(spec)) return undefined;
  return {
    name,
    extras: extraList,
    specifier: spec.replace(/^\(\s*|\s*\)$/g, '').replace(/\s+/g, ''),
    ...(semi >= 0 ? { marker: rest.slice(semi + 1).trim() } : {}),
  };
}

/** A wheel or sdist location: the name from #egg= or the file name. */
function fromLocation(location: string): Requirement | undefined {
  const egg = /#(?:.*&)?egg=([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(location);
  const file = decodeURIComponent(
    location
      .replace(/[#?].*$/, '')
      .split('/')
      .pop() ?? '',
  );
  const wheel = /^([A-Za-z0-9_.]+)-(\d[^-]*)-.*\.whl$/.exec(file);
  const sdist = /^(.+?)-(\d[\w.!+]*)\.(tar\.gz|zip|tar\.bz2|tgz)$/.exec(file);
  const found = egg?.[1] ?? wheel?.[1] ?? sdist?.[1];
  if (!found) return undefined;
  const name = normalizeName(found);
  const version = fileVersion(location, name);
  return {
    name,
    extras: [],
    specifier: version ? `==${version}` : '',
    url: location,
  };
}

/** The version in a wheel or sdist file name, when the name matches. */
function fileVersion(location: string, name: string): string | undefined {
  const file = decodeURIComponent(
    location
      .replace(/[#?].*$/, '')
      .split('/')
      .pop() ?? '',
  );
  const m =
    /^([A-Za-z0-9_.]+)-(\d[^-]*)-.*\.whl$/.exec(file) ??
    /^(.+?)-(\d[\w.!+]*)\.(?:tar\.gz|zip|tar\.bz2|tgz)$/.exec(file);
  return m && normalizeName(m[1]) === name ? m[2] : undefined;
}

/** The PEP 503 name a requirement line names; undefined for options and nameless paths. */
export function requirementName(line: string): string | undefined {
  return parseRequirement(line)?.name;
}

/** See ProjectInspection.torchPin; a range (>=, <) pins nothing. */
export function torchPinOf(requirements: string[]): string | undefined {
  for (const line of requirements) {
    const r = parseRequirement(line.replace(/(^|\s)#.*$/, ''));
    if (r?.name !== 'torch') continue;
    const exact = /^===?(\d+\.\d+(?:\.\d+)?)(?:\+[\w.]+)?$/.exec(r.specifier);
    if (exact) return exact[1];
    const wildcard = /^==(\d+\.\d+)\.\*$/.exec(r.specifier);
    if (wildcard) return wildcard[1];
    // ~=2.5.0 allows 2.5.x; ~=2.5 allows 2.x, which is no pin of a release line.
    const compatible = /^~=(\d+\.\d+)\.\d+$/.exec(r.specifier);
    if (compatible) return compatible[1];
  }
  return undefined;
}
