/**
 * setup.cfg read the way setuptools reads it: Python's configparser rules
 * (continuation lines, full-line # and ; comments, = or :) and setuptools'
 * list rules. Hand-written: configparser has no maintained JavaScript port
 * (the `ini` package differs on continuations and comments), and these rules
 * are few and stable; setup-cfg.spec.ts pins them.
 */

/** Section → option → value, values joined as configparser joins them. */
export type Ini = Record<string, Record<string, string>>;

export interface SetupCfgRead {
  sections: Ini;
  /** Lines setuptools refuses, each naming file:line and what to do. */
  warnings: string[];
}

// setuptools reads option names in these sections with - as _ and in lower
// case, except in the sections whose keys are names (extras, entry point groups…).
const KEYS_AS_WRITTEN = new Set([
  'options.extras_require',
  'options.data_files',
  'options.entry_points',
  'options.package_data',
  'options.exclude_package_data',
]);
const normalizedKeys = (section: string) =>
  (section === 'metadata' || section.startsWith('options')) &&
  !KEYS_AS_WRITTEN.has(section);

export function readSetupCfg(text: string, file = 'setup.cfg'): SetupCfgRead {
  const sections: Ini = {};
  const warnings: string[] = [];
  const refuse = (line: number, what: string) =>
    warnings.push(
      `${file}:${line}: ${what}, which setuptools (configparser) refuses: pip install . would fail. Fix it, then rerun.`,
    );
  let section: Record<string, string> | undefined;
  let sectionName = '';
  let option: string | undefined;
  let keyIndent = 0;
  const seen = new Set<string>();
  const lines = new Map<Record<string, string>, Record<string, number>>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const value = raw.trim();
    if (value.startsWith('#') || value.startsWith(';')) return;
    if (!value) {
      // Blank lines inside a value stay (setuptools' lists drop them).
      if (section && option !== undefined) section[option] += '\n';
      return;
    }
    const indent = raw.length - raw.trimStart().length;
    if (section && option !== undefined && indent > keyIndent) {
      section[option] += `\n${value}`;
      return;
    }
    keyIndent = indent;
    const header = /^\[(.+)\]/.exec(value);
    if (header) {
      sectionName = header[1];
      option = undefined;
      if (seen.has(`[${sectionName}]`))
        refuse(line, `the section [${sectionName}] appears twice`);
      seen.add(`[${sectionName}]`);
      section = sections[sectionName] ??= {};
      return;
    }
    if (!section) {
      refuse(line, `"${value}" comes before any [section] header`);
      return;
    }
    const kv = /^(.*?)\s*[=:]\s*(.*)$/.exec(value);
    if (!kv || !kv[1]) {
      refuse(line, `"${value}" is not an option = value line`);
      option = undefined;
      return;
    }
    option = normalizedKeys(sectionName)
      ? kv[1].toLowerCase().replace(/-/g, '_')
      : kv[1];
    if (seen.has(`${sectionName}\0${option}`))
      refuse(line, `${option} appears twice in [${sectionName}]`);
    seen.add(`${sectionName}\0${option}`);
    section[option] = kv[2];
    const at = lines.get(section) ?? {};
    at[option] = line;
    lines.set(section, at);
  });
  // setuptools reads values through configparser's % interpolation.
  for (const options of Object.values(sections))
    for (const key of Object.keys(options)) {
      const value = options[key].replace(/\s+$/, '');
      const line = lines.get(options)?.[key];
      if (/%(?!\()/.test(value.replace(/%%/g, '')))
        refuse(
          line ?? 1,
          `${key} has a lone % (configparser reads % as interpolation; write %%)`,
        );
      else if (value.replace(/%%/g, '').includes('%('))
        warnings.push(
          `${file}:${line}: ${key} uses %(…)s interpolation, which the inspection does not expand: check the images install what it names.`,
        );
      options[key] = value.replace(/%%/g, '%');
    }
  const requirementLists: Array<[string, string, string]> = [
    ['options', 'install_requires', 'install_requires'],
    ...Object.keys(sections['options.extras_require'] ?? {}).map(
      (k): [string, string, string] => [
        'options.extras_require',
        k,
        `extras_require ${k}`,
      ],
    ),
  ];
  for (const [name, key, label] of requirementLists) {
    const value = sections[name]?.[key];
    if (!value || value.includes('\n')) continue;
    const marker = setuptoolsRequirements(value).find((item) =>
      MARKER_START.test(item),
    );
    if (marker)
      warnings.push(
        `${file}:${lines.get(sections[name])?.[key]}: ${label} = ${value} is on one line, so setuptools splits it at ";" and reads "${marker}" as a requirement: pip install . would fail. Put each requirement on its own line below the key (a marker stays after its requirement's ";"), then rerun.`,
      );
  }
  return { sections, warnings };
}

const MARKER_START =
  /^(python_(full_)?version|os_name|sys_platform|platform_\w+|implementation_\w+|extra)\s*(==|!=|<|>|~=|in\b|not\b)/;

/**
 * setuptools' list rule: a value on several lines is one item a line; a
 * value on one line is split on the separator (',' for most options).
 */
export function setuptoolsList(
  value: string | undefined,
  separator = ',',
): string[] {
  if (!value) return [];
  return (value.includes('\n') ? value.split('\n') : value.split(separator))
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * install_requires and extras_require: the list rule with ';' as the
 * one-line separator, comment lines dropped. A `file:` value names the
 * files to read instead; see setuptoolsFiles.
 */
export function setuptoolsRequirements(value: string | undefined): string[] {
  if (setuptoolsFiles(value)) return [];
  return setuptoolsList(value, ';').filter((s) => !s.startsWith('#'));
}

/** The files a `file: a.txt, b.txt` value names, or undefined for another value. */
export function setuptoolsFiles(
  value: string | undefined,
): string[] | undefined {
  const m = /^file:([\s\S]*)$/.exec(value?.trim() ?? '');
  return m
    ? m[1]
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
}
