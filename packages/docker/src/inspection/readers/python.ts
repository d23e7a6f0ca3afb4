// Python read through a real syntax tree: @lezer/python is pure JS, synchronous and error-tolerant
// (CodeMirror maintains it), so there is no WASM to ship as web-tree-sitter would need.
import type { SyntaxNode } from '@lezer/common';
import { parser } from '@lezer/python';
import { posix } from 'node:path';

/** `import a.b` binds a (module a); `import a.b as c` binds c (module a.b); `from m import n as l` binds l. */
export interface PyImport {
  /** The absolute module (relative imports resolved against the file's package). */
  module: string;
  /** The imported attribute, for from-imports. */
  name?: string;
  local: string;
  line: number;
}

export interface PyAssign {
  /** A name, or a dotted target such as self.x. */
  target: string;
  value?: SyntaxNode;
  line: number;
  /** '' at module level, else the dotted names of the enclosing defs and classes. */
  scope: string;
}

export interface PyCall {
  /** The dotted callee (app.include_router, os.makedirs); undefined when it is no dotted name. */
  callee?: string;
  /** The last attribute of a method call (mkdir in Path(x).mkdir()). */
  method?: string;
  /** What the method is called on. */
  receiver?: SyntaxNode;
  node: SyntaxNode;
  args: SyntaxNode[];
  kwargs: Map<string, SyntaxNode>;
  /** Some argument is *args or **kwargs. */
  spread: boolean;
  line: number;
  scope: string;
}

export interface PyDecorator {
  callee: string;
  call?: Pick<PyCall, 'args' | 'kwargs' | 'spread'>;
  line: number;
  scope: string;
  /** The decorated def or class. */
  target: string;
}

export interface PyFunction {
  name: string;
  line: number;
  scope: string;
  /** The values of its own return statements (not those of nested defs). */
  returns: SyntaxNode[];
  returnType?: string;
}

export interface PyClass {
  name: string;
  line: number;
  scope: string;
  bases: string[];
  /** Class-level assignments and annotated fields, by name. */
  fields: Map<string, PyAssign>;
}

export interface PyModule {
  file: string;
  module?: string;
  source: string;
  imports: PyImport[];
  assigns: PyAssign[];
  calls: PyCall[];
  decorators: PyDecorator[];
  functions: PyFunction[];
  classes: PyClass[];
  /** Every string literal that is not a docstring, with its line (for path search). */
  strings: Array<{ value: string; line: number }>;
  hasMainGuard: boolean;
  text(node: SyntaxNode): string;
  lineOf(pos: number): number;
}

/** Parses one file; module is its dotted name (undefined outside the import root). */
export function parsePython(
  file: string,
  module: string | undefined,
  source: string,
): PyModule {
  const tree = parser.parse(source);
  const starts = [0];
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1))
    starts.push(i + 1);
  const lineOf = (pos: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const text = (n: SyntaxNode) => source.slice(n.from, n.to);
  const mod: PyModule = {
    file,
    module,
    source,
    imports: [],
    assigns: [],
    calls: [],
    decorators: [],
    functions: [],
    classes: [],
    strings: [],
    hasMainGuard: false,
    text,
    lineOf,
  };
  const isPackage = file === '__init__.py' || file.endsWith('/__init__.py');
  const pkgParts = module ? module.split('.') : [];
  if (!isPackage) pkgParts.pop();

  const dotted = (n: SyntaxNode | null): string | undefined => {
    if (!n) return undefined;
    if (n.name === 'VariableName') return text(n);
    if (n.name === 'MemberExpression') {
      const obj = n.firstChild;
      const prop = n.lastChild;
      if (!obj || prop?.name !== 'PropertyName') return undefined;
      const head = dotted(obj);
      return head === undefined ? undefined : `${head}.${text(prop)}`;
    }
    return undefined;
  };

  const argList = (list: SyntaxNode | null) => {
    const args: SyntaxNode[] = [];
    const kwargs = new Map<string, SyntaxNode>();
    let spread = false;
    let pendingName: string | undefined;
    let star = false;
    for (const c of list ? children(list) : []) {
      if (c.name === '(' || c.name === ')' || c.name === ',') continue;
      if (c.name === '*' || c.name === '**') {
        star = true;
        continue;
      }
      if (c.name === 'AssignOp') continue;
      if (
        c.name === 'VariableName' &&
        c.nextSibling?.name === 'AssignOp' &&
        !star
      ) {
        pendingName = text(c);
        continue;
      }
      if (star) {
        spread = true;
        star = false;
        continue;
      }
      if (pendingName !== undefined) {
        kwargs.set(pendingName, c);
        pendingName = undefined;
      } else args.push(c);
    }
    return { args, kwargs, spread };
  };

  const importStatement = (n: SyntaxNode) => {
    const line = lineOf(n.from);
    const kids: SyntaxNode[] = [];
    kids.push(...children(n));
    if (kids[0]?.name === 'from') {
      let dots = 0;
      let k = 1;
      const base: string[] = [];
      for (; k < kids.length && kids[k].name !== 'import'; k++) {
        const c = kids[k];
        if (c.name === 'Ellipsis') dots += 3;
        else if (c.name === '.' && !base.length) dots += 1;
        else if (c.name === 'VariableName') base.push(text(c));
      }
      let from = base.join('.');
      if (dots) {
        const up = dots - 1;
        if (up > pkgParts.length) return;
        from = [...pkgParts.slice(0, pkgParts.length - up), ...base].join('.');
      }
      if (!from) return;
      const names = kids.slice(k + 1).filter((c) => c.name === 'VariableName');
      for (let i = 0; i < names.length; i++) {
        const name = text(names[i]);
        const next = names[i].nextSibling;
        let local = name;
        if (next?.name === 'as' && names[i + 1]) local = text(names[++i]);
        mod.imports.push({ module: from, name, local, line });
      }
      if (!names.length) mod.imports.push({ module: from, local: '', line });
      return;
    }
    let parts: string[] = [];
    let alias: string | undefined;
    let afterAs = false;
    const flush = () => {
      if (!parts.length) return;
      const module = parts.join('.');
      mod.imports.push({
        module: alias ? module : parts[0],
        local: alias ?? parts[0],
        line,
      });
      if (!alias && parts.length > 1)
        mod.imports.push({ module, local: '', line });
      parts = [];
      alias = undefined;
      afterAs = false;
    };
    for (const c of kids.slice(1)) {
      if (c.name === ',') flush();
      else if (c.name === 'as') afterAs = true;
      else if (c.name === 'VariableName') {
        if (afterAs) alias = text(c);
        else parts.push(text(c));
      }
    }
    flush();
  };

  const assignStatement = (n: SyntaxNode, scope: string, cls?: PyClass) => {
    const groups: SyntaxNode[][] = [[]];
    for (const c of children(n)) {
      if (c.name === 'AssignOp') groups.push([]);
      else if (c.name !== ',' && c.name !== 'TypeDef')
        groups[groups.length - 1].push(c);
    }
    const line = lineOf(n.from);
    const flat = (items: SyntaxNode[]) =>
      items.length === 1 &&
      [
        'TupleExpression',
        'ArrayExpression',
        'ParenthesizedExpression',
      ].includes(items[0].name)
        ? children(items[0]).filter(
            (c) => !['(', ')', '[', ']', ','].includes(c.name),
          )
        : items;
    const values = groups.length > 1 ? groups[groups.length - 1] : [];
    const targetGroups = groups.length > 1 ? groups.slice(0, -1) : groups;
    for (const group of targetGroups) {
      const targets = flat(group);
      const vals = targets.length > 1 ? flat(values) : values;
      targets.forEach((t, i) => {
        const target = dotted(t);
        if (!target) return;
        const value =
          targets.length === 1
            ? vals.length === 1
              ? vals[0]
              : undefined
            : vals.length === targets.length
              ? vals[i]
              : undefined;
        const a: PyAssign = { target, value, line, scope };
        mod.assigns.push(a);
        if (cls && !target.includes('.')) cls.fields.set(target, a);
      });
    }
  };

  const isMainGuard = (test: SyntaxNode | null) => {
    if (test?.name !== 'BinaryExpression') return false;
    const t = text(test).replace(/\s+/g, '');
    return /^(__name__==(['"])__main__\2|(['"])__main__\3==__name__)$/.test(t);
  };

  // One pass over the tree with a cursor: SyntaxNode objects are made only
  // for the statements and expressions kept, which keeps a large project's
  // inspection fast. Frames track the def/class a node sits in (from its
  // Body on: a def's decorators and defaults belong to the outer scope).
  interface Frame {
    scope: string;
    fn?: PyFunction;
    cls?: PyClass;
    from: number;
    to: number;
  }
  const frames: Frame[] = [{ scope: '', from: -1, to: -1 }];
  let pending: { scope: string; fn?: PyFunction; cls?: PyClass } | undefined;
  const top = () => frames[frames.length - 1];
  const innerFn = () => {
    for (let k = frames.length - 1; k >= 0; k--)
      if (frames[k].fn) return frames[k].fn;
    return undefined;
  };
  tree.iterate({
    enter: (ref) => {
      // Most nodes are tokens and plain expressions: a lookup by type id skips them cheaply.
      if (!KEPT[ref.type.id]) return undefined;
      const { scope, cls } = top();
      switch (ref.name) {
        case 'ImportStatement':
          importStatement(ref.node);
          return false;
        case 'Body':
          if (pending) {
            frames.push({ ...pending, from: ref.from, to: ref.to });
            pending = undefined;
          }
          return undefined;
        case 'FunctionDefinition': {
          const n = ref.node;
          const name = n.getChild('VariableName');
          const t = n.getChild('TypeDef');
          const f: PyFunction = {
            name: name ? text(name) : '',
            line: lineOf(n.from),
            scope,
            returns: [],
            returnType: t ? text(t).replace(/^\s*->\s*/, '') : undefined,
          };
          mod.functions.push(f);
          pending = { scope: scope ? `${scope}.${f.name}` : f.name, fn: f };
          return undefined;
        }
        case 'ClassDefinition': {
          const n = ref.node;
          const name = n.getChild('VariableName');
          const bases = n.getChild('ArgList');
          const c: PyClass = {
            name: name ? text(name) : '',
            line: lineOf(n.from),
            scope,
            bases: bases
              ? argList(bases)
                  .args.map((b) => dotted(b))
                  .filter((b): b is string => !!b)
              : [],
            fields: new Map(),
          };
          mod.classes.push(c);
          pending = { scope: scope ? `${scope}.${c.name}` : c.name, cls: c };
          return undefined;
        }
        case 'DecoratedStatement': {
          const n = ref.node;
          const def =
            n.getChild('FunctionDefinition') ?? n.getChild('ClassDefinition');
          const defName = def?.getChild('VariableName');
          for (const d of n.getChildren('Decorator')) {
            const list = d.getChild('ArgList');
            mod.decorators.push({
              callee: source
                .slice(d.from, list ? list.from : d.to)
                .replace(/^@/, '')
                .replace(/\s+/g, ''),
              call: list ? argList(list) : undefined,
              line: lineOf(d.from),
              scope,
              target: defName ? text(defName) : '',
            });
          }
          return undefined;
        }
        case 'AssignStatement':
          assignStatement(ref.node, scope, cls);
          return undefined;
        case 'ReturnStatement': {
          const value = ref.node.lastChild;
          const fn = innerFn();
          if (fn && value && value.name !== 'return') fn.returns.push(value);
          return undefined;
        }
        case 'IfStatement':
          if (!scope && isMainGuard(ref.node.firstChild?.nextSibling ?? null))
            mod.hasMainGuard = true;
          return undefined;
        case 'CallExpression': {
          const n = ref.node;
          const callee = n.firstChild;
          const member = callee?.name === 'MemberExpression' ? callee : null;
          const prop = member?.lastChild;
          mod.calls.push({
            callee: dotted(callee),
            method: prop?.name === 'PropertyName' ? text(prop) : undefined,
            receiver: member?.firstChild ?? undefined,
            node: n,
            ...argList(n.getChild('ArgList')),
            line: lineOf(n.from),
            scope,
          });
          return undefined;
        }
        case 'ExpressionStatement': {
          // A statement that is only a string is a docstring, not a path.
          const only = ref.node.firstChild;
          if (
            only &&
            !only.nextSibling &&
            (only.name === 'String' || only.name === 'ContinuedString')
          )
            return false;
          return undefined;
        }
        case 'String': {
          const value = stringValue(source.slice(ref.from, ref.to));
          if (value !== undefined)
            mod.strings.push({ value, line: lineOf(ref.from) });
          return false;
        }
      }
      return undefined;
    },
    leave: (ref) => {
      const f = top();
      if (ref.name === 'Body' && f.from === ref.from && f.to === ref.to)
        frames.pop();
    },
  });
  return mod;
}

const KEPT: boolean[] = (() => {
  const names = new Set([
    'ImportStatement',
    'Body',
    'FunctionDefinition',
    'ClassDefinition',
    'DecoratedStatement',
    'AssignStatement',
    'ReturnStatement',
    'IfStatement',
    'CallExpression',
    'ExpressionStatement',
    'String',
  ]);
  return parser.nodeSet.types.map((t) => names.has(t.name));
})();

function children(n: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  // Comments are nodes too in lezer trees: no statement or argument needs them.
  for (let c = n.firstChild; c; c = c.nextSibling)
    if (c.name !== 'Comment') out.push(c);
  return out;
}

/** The text of a string literal; undefined for bytes. */
export function stringValue(literal: string): string | undefined {
  const m = /^([rRuUbBfF]*)('''|"""|'|")([\s\S]*)\2$/.exec(literal);
  if (!m || /[bB]/.test(m[1])) return undefined;
  return /[rR]/.test(m[1]) ? m[3] : unescape(m[3]);
}

function unescape(s: string): string {
  return s.replace(/\\(\r?\n|.)/g, (_, c: string) =>
    c === 'n'
      ? '\n'
      : c === 't'
        ? '\t'
        : c === '\n' || c === '\r\n'
          ? ''
          : c === '\\' || c === "'" || c === '"'
            ? c
            : `\\${c}`,
  );
}

// ---------------------------------------------------------------------------
// Evaluating string expressions

/** Finds the project's module of a dotted name; undefined for third-party and stdlib modules. */
export type ModuleResolver = (module: string) => PyModule | undefined;

/** A string, or why it is not known, with the line that stopped it. */
export type Evaluated =
  { value: string } | { value?: undefined; reason: string; where: string };

// Not an Error: thrown often while evaluating, and a stack trace costs.
class Unresolved {
  constructor(
    readonly reason: string,
    readonly where: string,
  ) {}
}

/** Marks the unknown part of a partly known string (partial mode). */
export const UNKNOWN = '\u0000';

type Value =
  | { kind: 'str'; s: string }
  | { kind: 'module'; mod: PyModule }
  | { kind: 'class'; mod: PyModule; cls: PyClass }
  | { kind: 'instance'; mod: PyModule; cls: PyClass }
  | { kind: 'function'; mod: PyModule; fn: PyFunction }
  /** Something outside the project, by its qualified name (os.getenv, pathlib.Path, str). */
  | { kind: 'external'; name: string; called?: boolean }
  /** A method of a known string or path, applied when called. */
  | { kind: 'method'; of: string; name: string }
  | { kind: 'none' };

const MAX_DEPTH = 24;

export interface EvalOptions {
  /** Unknown parts of f-strings, + and path joins become UNKNOWN instead of failing the whole. */
  partial?: boolean;
}

/**
 * Evaluates node (in mod, inside scope) to a string: literals, constants in
 * scope and across the project's modules, +, f-strings, os.getenv defaults,
 * settings attributes (class field defaults), Path(...) / "x", str(...).
 * Paths relative to a file (__file__) come out relative to the project root.
 */
export function evaluate(
  mod: PyModule,
  node: SyntaxNode,
  scope: string,
  resolve: ModuleResolver,
  options: EvalOptions = {},
): Evaluated {
  try {
    return { value: new Evaluator(resolve, options).str(mod, node, scope, 0) };
  } catch (e) {
    if (e instanceof Unresolved) return { reason: e.reason, where: e.where };
    throw e;
  }
}

/** The qualified name of a dotted expression through the module's imports (FastAPI → fastapi.FastAPI). */
export function qualify(
  mod: PyModule,
  dotted: string,
  resolve: ModuleResolver,
): string {
  const [head, ...rest] = dotted.split('.');
  const target = lookupBinding(mod, head, '', resolve, 0);
  const base =
    target?.kind === 'external'
      ? target.name
      : target?.kind === 'module'
        ? (target.mod.module ?? head)
        : target && 'mod' in target && target.kind !== 'instance'
          ? `${target.mod.module}.${target.kind === 'class' ? target.cls.name : target.kind === 'function' ? target.fn.name : head}`
          : mod.module && definedAtTop(mod, head)
            ? `${mod.module}.${head}`
            : head;
  return [base, ...rest].join('.');
}

/** What a name is bound to in mod (scope chain, then module level, then imports); undefined when unbound. */
function lookupBinding(
  mod: PyModule,
  name: string,
  scope: string,
  resolve: ModuleResolver,
  depth: number,
  evaluator?: Evaluator,
): Value | undefined {
  if (depth > MAX_DEPTH) return undefined;
  if (name === '__file__') return { kind: 'str', s: mod.file };
  const scopes: string[] = [];
  for (
    let s = scope;
    ;
    s = s.includes('.') ? s.slice(0, s.lastIndexOf('.')) : ''
  ) {
    scopes.push(s);
    if (!s) break;
  }
  for (const s of scopes) {
    const fn = lastOf(mod.functions, (f) => f.scope === s && f.name === name);
    if (fn) return { kind: 'function', mod, fn };
    const cls = lastOf(mod.classes, (c) => c.scope === s && c.name === name);
    if (cls) return { kind: 'class', mod, cls };
    const assign = lastOf(
      mod.assigns,
      (a) => a.scope === s && a.target === name && !!a.value,
    );
    if (assign?.value) {
      if (!evaluator) return undefined;
      return evaluator.value(mod, assign.value, s, depth + 1);
    }
  }
  const imp = lastOf(mod.imports, (i) => i.local === name);
  if (!imp) return undefined;
  if (imp.name === undefined) {
    const target = resolve(imp.module);
    return target
      ? { kind: 'module', mod: target }
      : { kind: 'external', name: imp.module };
  }
  const from = resolve(imp.module);
  if (from && from !== mod) {
    const found = lookupBinding(
      from,
      imp.name,
      '',
      resolve,
      depth + 1,
      evaluator,
    );
    if (found) return found;
  }
  const sub = resolve(`${imp.module}.${imp.name}`);
  if (sub) return { kind: 'module', mod: sub };
  if (from && !evaluator) return undefined;
  return from
    ? undefined
    : { kind: 'external', name: `${imp.module}.${imp.name}` };
}

function definedAtTop(mod: PyModule, name: string): boolean {
  return (
    mod.assigns.some((a) => a.scope === '' && a.target === name) ||
    mod.functions.some((f) => f.scope === '' && f.name === name) ||
    mod.classes.some((c) => c.scope === '' && c.name === name)
  );
}

function lastOf<T>(items: T[], test: (t: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--)
    if (test(items[i])) return items[i];
  return undefined;
}

const ENV_GETTERS = new Set([
  'os.getenv',
  'os.environ.get',
  'os.environ.setdefault',
]);
const PATH_CTORS = new Set([
  'pathlib.Path',
  'pathlib.PurePath',
  'pathlib.PosixPath',
  'pathlib.PurePosixPath',
]);
const FIELD_CTORS = new Set([
  'pydantic.Field',
  'pydantic.fields.Field',
  'pydantic_settings.Field',
  'dataclasses.field',
]);

class Evaluator {
  constructor(
    private readonly resolve: ModuleResolver,
    private readonly options: EvalOptions,
  ) {}

  private fail(mod: PyModule, node: SyntaxNode, reason: string): never {
    throw new Unresolved(reason, `${mod.file}:${mod.lineOf(node.from)}`);
  }

  str(mod: PyModule, node: SyntaxNode, scope: string, depth: number): string {
    const v = this.value(mod, node, scope, depth);
    if (v.kind === 'str') return v.s;
    return this.fail(
      mod,
      node,
      v.kind === 'external'
        ? `${mod.text(node)} comes from ${v.name}${v.called ? '()' : ''}, outside the project`
        : `${mod.text(node)} is no string`,
    );
  }

  /** Like str, but in partial mode an unknown part becomes UNKNOWN. */
  private part(
    mod: PyModule,
    node: SyntaxNode,
    scope: string,
    depth: number,
  ): string {
    if (!this.options.partial) return this.str(mod, node, scope, depth);
    try {
      return this.str(mod, node, scope, depth);
    } catch (e) {
      if (e instanceof Unresolved) return UNKNOWN;
      throw e;
    }
  }

  value(mod: PyModule, node: SyntaxNode, scope: string, depth: number): Value {
    if (depth > MAX_DEPTH) this.fail(mod, node, 'too deep a chain of names');
    const text = mod.text(node);
    switch (node.name) {
      case 'String': {
        const s = stringValue(text);
        if (s === undefined) this.fail(mod, node, `${text} is bytes`);
        return { kind: 'str', s };
      }
      case 'ContinuedString':
        return {
          kind: 'str',
          s: childrenOf(node)
            .map((c) => this.part(mod, c, scope, depth + 1))
            .join(''),
        };
      case 'FormatString':
        return { kind: 'str', s: this.formatString(mod, node, scope, depth) };
      case 'ParenthesizedExpression': {
        const inner = childrenOf(node).filter(
          (c) => c.name !== '(' && c.name !== ')',
        );
        if (inner.length === 1)
          return this.value(mod, inner[0], scope, depth + 1);
        break;
      }
      case 'None':
        return { kind: 'none' };
      case 'VariableName': {
        const bound = lookupBinding(
          mod,
          text,
          scope,
          this.resolve,
          depth + 1,
          this,
        );
        if (bound) return bound;
        if (mod.assigns.some((a) => a.target === text))
          this.fail(
            mod,
            node,
            `${text} is assigned only inside a function or from something unknown`,
          );
        // Neither assigned nor imported: a builtin (str, open).
        return { kind: 'external', name: text };
      }
      case 'MemberExpression': {
        const obj = node.firstChild;
        const prop = node.lastChild;
        if (!obj || prop?.name !== 'PropertyName') break;
        return this.attribute(
          mod,
          node,
          this.value(mod, obj, scope, depth + 1),
          mod.text(prop),
          depth,
        );
      }
      case 'BinaryExpression': {
        const [left, op, right] = childrenOf(node);
        const o = op && mod.text(op);
        if (left && right && (o === '+' || o === '/')) {
          const l = this.part(mod, left, scope, depth + 1);
          const r = this.part(mod, right, scope, depth + 1);
          return { kind: 'str', s: o === '+' ? l + r : joinPath(l, r) };
        }
        break;
      }
      case 'CallExpression':
        return this.call(mod, node, scope, depth);
    }
    return this.fail(
      mod,
      node,
      `${text.length > 60 ? `${text.slice(0, 57)}...` : text} is computed`,
    );
  }

  private formatString(
    mod: PyModule,
    node: SyntaxNode,
    scope: string,
    depth: number,
  ): string {
    const raw = mod.text(node);
    const prefix = /^[A-Za-z]*/.exec(raw)?.[0] ?? '';
    const quote =
      raw.startsWith('"""', prefix.length) ||
      raw.startsWith("'''", prefix.length)
        ? 3
        : 1;
    const start = node.from + prefix.length + quote;
    const end = node.to - quote;
    let out = '';
    let pos = start;
    const literal = (s: string) =>
      (/[rR]/.test(prefix) ? s : unescape(s))
        .replace(/\{\{/g, '{')
        .replace(/\}\}/g, '}');
    for (const r of childrenOf(node)) {
      if (r.name !== 'FormatReplacement') continue;
      out += literal(mod.source.slice(pos, r.from));
      const expr = childrenOf(r).find(
        (c) => !['{', '}', 'FormatConversion', 'FormatSpec'].includes(c.name),
      );
      const spec = childrenOf(r).some(
        (c) => c.name === 'FormatSpec' && mod.text(c).length > 1,
      );
      if (!expr || spec)
        out += this.options.partial
          ? UNKNOWN
          : this.fail(mod, r, `${mod.text(r)} has a format spec`);
      else out += this.part(mod, expr, scope, depth + 1);
      pos = r.to;
    }
    return out + literal(mod.source.slice(pos, end));
  }

  private attribute(
    mod: PyModule,
    node: SyntaxNode,
    obj: Value,
    name: string,
    depth: number,
  ): Value {
    switch (obj.kind) {
      case 'module': {
        const bound = lookupBinding(
          obj.mod,
          name,
          '',
          this.resolve,
          depth + 1,
          this,
        );
        if (bound) return bound;
        const sub = obj.mod.module && this.resolve(`${obj.mod.module}.${name}`);
        if (sub) return { kind: 'module', mod: sub };
        break;
      }
      case 'class':
      case 'instance':
        return this.field(mod, node, obj.mod, obj.cls, name, depth);
      case 'str':
        if (name === 'parent') return { kind: 'str', s: parentOf(obj.s) };
        // Methods are applied by call().
        return { kind: 'method', of: obj.s, name };
      case 'external':
        return {
          kind: 'external',
          name: `${obj.name}${obj.called ? '()' : ''}.${name}`,
        };
    }
    return this.fail(mod, node, `${mod.text(node)} is not found`);
  }

  /** A class attribute: its default, through the bases in the project. */
  private field(
    mod: PyModule,
    node: SyntaxNode,
    owner: PyModule,
    cls: PyClass,
    name: string,
    depth: number,
  ): Value {
    const f = cls.fields.get(name);
    const scope = cls.scope ? `${cls.scope}.${cls.name}` : cls.name;
    if (f?.value) {
      const v = f.value;
      if (v.name === 'CallExpression') {
        const callee = v.firstChild && owner.text(v.firstChild);
        if (callee && FIELD_CTORS.has(qualify(owner, callee, this.resolve))) {
          const list = v.getChild('ArgList');
          const args = list ? childrenOf(list) : [];
          const kw = args.findIndex(
            (a) =>
              a.name === 'VariableName' &&
              owner.text(a) === 'default' &&
              a.nextSibling?.name === 'AssignOp',
          );
          const first = args.find((a) => !['(', ')', ','].includes(a.name));
          const def =
            kw >= 0
              ? args[kw + 2]
              : first && first.nextSibling?.name !== 'AssignOp'
                ? first
                : undefined;
          if (!def || owner.text(def) === '...')
            this.fail(
              owner,
              v,
              `${cls.name}.${name} has no default (it is required from the environment)`,
            );
          return this.value(owner, def, scope, depth + 1);
        }
      }
      return this.value(owner, v, scope, depth + 1);
    }
    if (f)
      this.fail(
        owner,
        node,
        `${cls.name}.${name} has no default (it is required from the environment)`,
      );
    for (const base of cls.bases) {
      const b = lookupBinding(
        owner,
        base.split('.')[0],
        cls.scope,
        this.resolve,
        depth + 1,
        this,
      );
      if (b?.kind === 'class') {
        try {
          return this.field(mod, node, b.mod, b.cls, name, depth + 1);
        } catch (e) {
          if (!(e instanceof Unresolved)) throw e;
        }
      }
    }
    return this.fail(mod, node, `${cls.name} has no field ${name}`);
  }

  private call(
    mod: PyModule,
    node: SyntaxNode,
    scope: string,
    depth: number,
  ): Value {
    const calleeNode = node.firstChild;
    const list = node.getChild('ArgList');
    if (!calleeNode) return this.fail(mod, node, 'empty call');
    const all = list
      ? childrenOf(list).filter((c) => !['(', ')', ','].includes(c.name))
      : [];
    const args: SyntaxNode[] = [];
    const kwargs = new Map<string, SyntaxNode>();
    for (let i = 0; i < all.length; i++) {
      if (all[i].name === 'VariableName' && all[i + 1]?.name === 'AssignOp') {
        kwargs.set(mod.text(all[i]), all[i + 2]);
        i += 2;
      } else if (all[i].name === '*' || all[i].name === '**') {
        return this.fail(mod, node, `${mod.text(node)} spreads its arguments`);
      } else args.push(all[i]);
    }
    const callee = this.value(mod, calleeNode, scope, depth + 1);
    const arg = (i: number, kw?: string) => (kw && kwargs.get(kw)) || args[i];
    switch (callee.kind) {
      case 'class':
        return { kind: 'instance', mod: callee.mod, cls: callee.cls };
      case 'function': {
        const returns = callee.fn.returns;
        const inner = callee.fn.scope
          ? `${callee.fn.scope}.${callee.fn.name}`
          : callee.fn.name;
        if (returns.length === 1)
          return this.value(callee.mod, returns[0], inner, depth + 1);
        return this.fail(
          mod,
          node,
          `${callee.fn.name}() ${returns.length ? 'returns in several places' : 'returns nothing known'}`,
        );
      }
      case 'external': {
        const name = callee.name;
        if (
          ENV_GETTERS.has(name) ||
          (callee.called && name === 'starlette.config.Config')
        ) {
          const def = ENV_GETTERS.has(name)
            ? arg(1, 'default')
            : (kwargs.get('default') ?? args[1]);
          const key = args[0] ? mod.text(args[0]) : '?';
          if (!def)
            return this.fail(
              mod,
              node,
              `${mod.text(calleeNode)}(${key}) has no default`,
            );
          return this.value(mod, def, scope, depth + 1);
        }
        if (name === 'starlette.config.Config')
          return { kind: 'external', name, called: true };
        if (PATH_CTORS.has(name) || name === 'os.path.join') {
          const parts = args.map((a) => this.part(mod, a, scope, depth + 1));
          return {
            kind: 'str',
            s: parts.length ? parts.reduce(joinPath) : '.',
          };
        }
        if (
          name === 'str' ||
          name === 'os.fspath' ||
          /^os\.path\.(abspath|realpath|normpath|expanduser)$/.test(name)
        ) {
          if (args.length === 1)
            return { kind: 'str', s: this.str(mod, args[0], scope, depth + 1) };
          break;
        }
        if (name === 'os.path.dirname' && args.length === 1)
          return {
            kind: 'str',
            s: parentOf(this.str(mod, args[0], scope, depth + 1)),
          };
        return { kind: 'external', name, called: true };
      }
      case 'method': {
        const { of: s, name: m } = callee;
        if (['resolve', 'absolute', 'expanduser', 'as_posix'].includes(m))
          return { kind: 'str', s };
        if (m === 'joinpath')
          return {
            kind: 'str',
            s: args
              .map((a) => this.part(mod, a, scope, depth + 1))
              .reduce(joinPath, s),
          };
        if (m === 'format' && !kwargs.size) {
          const vals = args.map((a) => this.part(mod, a, scope, depth + 1));
          let k = 0;
          return {
            kind: 'str',
            s: s.replace(
              /\{(\d*)\}/g,
              (_, n: string) => vals[n ? Number(n) : k++] ?? UNKNOWN,
            ),
          };
        }
        break;
      }
    }
    return this.fail(mod, node, `${mod.text(node).slice(0, 60)} is computed`);
  }
}

function childrenOf(n: SyntaxNode): SyntaxNode[] {
  return children(n);
}

function joinPath(a: string, b: string): string {
  if (b.startsWith('/')) return b;
  if (a === '.' || a === '') return b;
  return `${a.replace(/\/+$/, '')}/${b}`;
}

function parentOf(p: string): string {
  const d = posix.dirname(p);
  // The parent of a path not known at all is not known either (not ".").
  if ((d === '.' || d === '') && p.includes(UNKNOWN)) return UNKNOWN;
  return d === '' ? '.' : d;
}
