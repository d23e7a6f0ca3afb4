/**
 * What setup.py's setup(...) call declares, read through the syntax tree:
 * install_requires as a list literal, a module variable, or
 * open("requirements.txt").read().splitlines() (then the file is named).
 */
import type { SyntaxNode } from '@lezer/common';
import { parsePython, PyModule } from './readers/python';

export interface SetupPy {
  installRequires?: string[];
  /** install_requires reads these requirement files. */
  requirementFiles: string[];
  extras: string[];
  consoleScripts: Record<string, string>;
  srcLayout: boolean;
  packages?: string[];
  findPackages: boolean;
  pyModules?: string[];
  fileRefs: string[];
  warnings: string[];
}

export function readSetupPy(source: string): SetupPy {
  const mod = parsePython('setup.py', undefined, source);
  const setup = mod.calls.find((c) => /(^|\.)setup$/.test(c.callee ?? ''));
  const kw = (name: string) => setup?.kwargs.get(name);
  const out: SetupPy = {
    requirementFiles: [],
    extras: [],
    consoleScripts: {},
    srcLayout: false,
    findPackages: false,
    fileRefs: mod.strings
      .map((s) => s.value)
      .filter((s) => /^[\w./-]+\.\w+$/.test(s)),
    warnings: [],
  };
  const reqs = kw('install_requires');
  if (reqs) {
    const files = readFiles(mod, reqs, setup?.scope ?? '');
    if (files.length) out.requirementFiles = files;
    else {
      const list = strings(mod, reqs, '');
      if (list) out.installRequires = list;
      else
        out.warnings.push(
          `setup.py:${mod.lineOf(reqs.from)}: install_requires=${mod.text(reqs).slice(0, 60)} is not read, so its dependencies are unknown: list them in requirements.txt (the images install it) or as a literal list.`,
        );
    }
  }
  const extras = resolved(mod, kw('extras_require'), '');
  if (extras?.name === 'DictionaryExpression')
    out.extras = pairs(mod, extras)
      .map(([k]) => k)
      .filter((k): k is string => k !== undefined);
  const entry = resolved(mod, kw('entry_points'), '');
  if (entry?.name === 'DictionaryExpression')
    for (const [k, v] of pairs(mod, entry))
      if (k === 'console_scripts' && v)
        for (const line of strings(mod, v, '') ?? []) {
          const m = /^\s*([\w.-]+)\s*=\s*(\S+)\s*$/.exec(line);
          if (m) out.consoleScripts[m[1]] = m[2];
        }
  const pkgs = resolved(mod, kw('packages'), '');
  const find =
    pkgs?.name === 'CallExpression' &&
    /find(_namespace)?_packages$/.test(mod.text(pkgs.firstChild as SyntaxNode));
  out.findPackages = !!find;
  if (find) {
    const c = mod.calls.find((x) => x.node.from === pkgs.from);
    const w = c && (c.kwargs.get('where') ?? c.args[0]);
    if (w && (strings(mod, w, '')?.[0] ?? '').replace(/\/$/, '') === 'src')
      out.srcLayout = true;
  } else if (pkgs) out.packages = strings(mod, pkgs, '');
  const dir = resolved(mod, kw('package_dir'), '');
  if (dir?.name === 'DictionaryExpression')
    for (const [k, v] of pairs(mod, dir))
      if (k === '' && v && /^src\/?$/.test(strings(mod, v, '')?.[0] ?? ''))
        out.srcLayout = true;
  const mods = kw('py_modules');
  if (mods) out.pyModules = strings(mod, mods, '');
  return out;
}

/** A name is followed to its module-level assignment. */
function resolved(
  mod: PyModule,
  node: SyntaxNode | undefined,
  scope: string,
  depth = 0,
): SyntaxNode | undefined {
  if (node?.name !== 'VariableName' || depth > 8) return node;
  const name = mod.text(node);
  const a = [...mod.assigns]
    .reverse()
    .find(
      (x) =>
        x.target === name && (x.scope === scope || x.scope === '') && x.value,
    );
  return a ? resolved(mod, a.value, scope, depth + 1) : undefined;
}

/** The strings of a list/tuple literal (or one string, or a + of lists); undefined when not literal. */
function strings(
  mod: PyModule,
  node: SyntaxNode,
  scope: string,
): string[] | undefined {
  const n = resolved(mod, node, scope);
  if (!n) return undefined;
  if (n.name === 'String') {
    const s = mod.text(n).replace(/^[rRuU]*(['"]{1,3})([\s\S]*)\1$/, '$2');
    return [s];
  }
  if (n.name === 'BinaryExpression') {
    const [l, op, r] = kids(n);
    if (mod.text(op) !== '+') return undefined;
    const a = strings(mod, l, scope);
    const b = strings(mod, r, scope);
    return a && b ? [...a, ...b] : undefined;
  }
  if (n.name !== 'ArrayExpression' && n.name !== 'TupleExpression')
    return undefined;
  const out: string[] = [];
  for (const c of kids(n)) {
    if (['[', ']', '(', ')', ','].includes(c.name)) continue;
    const s = strings(mod, c, scope);
    if (!s) return undefined;
    out.push(...s);
  }
  return out;
}

/** open("requirements.txt").read().splitlines() and the like, anywhere in the expression (or the variable it names). */
function readFiles(mod: PyModule, node: SyntaxNode, scope: string): string[] {
  const n = resolved(mod, node, scope) ?? node;
  const text = mod.text(n);
  if (!/\b(open|read_text|read)\b/.test(text)) {
    // A helper: install_requires=read_requirements("requirements.txt").
    const m = /^[\w.]+\(\s*(['"])([\w./-]+\.(txt|in))\1/.exec(text);
    return m ? [m[2]] : [];
  }
  const direct = [...text.matchAll(/(['"])([\w./-]+\.(txt|in))\1/g)].map(
    (m) => m[2],
  );
  if (direct.length) return direct;
  // open(REQS_FILE): the file's name is a constant.
  const names = [
    ...text.matchAll(/\b(?:open|Path)\(\s*([A-Za-z_]\w*)\s*\)/g),
  ].map((m) => m[1]);
  return names.flatMap((name) => {
    const a = mod.assigns.find(
      (x) => x.target === name && x.value?.name === 'String',
    );
    return a?.value ? (strings(mod, a.value, '') ?? []) : [];
  });
}

function pairs(
  mod: PyModule,
  dict: SyntaxNode,
): Array<[string | undefined, SyntaxNode | undefined]> {
  const items = kids(dict).filter((c) => !['{', '}', ','].includes(c.name));
  const out: Array<[string | undefined, SyntaxNode | undefined]> = [];
  for (let i = 0; i < items.length; i++) {
    if (items[i + 1]?.name === ':') {
      const k =
        items[i].name === 'String'
          ? strings(mod, items[i], '')?.[0]
          : undefined;
      out.push([k, items[i + 2]]);
      i += 2;
    }
  }
  return out;
}

function kids(n: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling)
    if (c.name !== 'Comment') out.push(c);
  return out;
}
