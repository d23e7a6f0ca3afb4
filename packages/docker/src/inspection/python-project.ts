/**
 * The project's Python modules for one inspection run: each file parsed
 * once, names resolved to the project's own modules, and the files an entry
 * reaches through its imports. No process-wide state: a new run reads anew.
 */
import {
  evaluate,
  EvalOptions,
  Evaluated,
  ModuleResolver,
  parsePython,
  PyModule,
} from './readers/python';
import type { SyntaxNode } from '@lezer/common';

export interface PythonSources {
  read(file: string): string | undefined;
  /** The dotted module of a file (undefined outside the import root). */
  moduleOf(file: string): string | undefined;
  /** The file of a project module, undefined for third-party ones. */
  fileOfModule(module: string): string | undefined;
}

/** Expressions that can evaluate to a string; numbers, lists, lambdas… are not tried. */
const MAYBE_STRING = new Set([
  'String',
  'ContinuedString',
  'FormatString',
  'VariableName',
  'MemberExpression',
  'BinaryExpression',
  'CallExpression',
  'ParenthesizedExpression',
]);

export interface StringValue {
  value: string;
  line: number;
  /** Written as a literal, not computed (a bare word in a literal is no path clue). */
  literal: boolean;
}

export class PythonProject {
  private readonly parsed = new Map<string, PyModule>();
  private readonly values = new Map<string, StringValue[]>();
  private readonly imported = new Map<string, string[]>();
  private readonly byModule = new Map<string, PyModule | null>();
  readonly resolve: ModuleResolver = (module) => {
    let hit = this.byModule.get(module);
    if (hit === undefined) {
      const file = this.sources.fileOfModule(module);
      hit = file ? this.module(file) : null;
      this.byModule.set(module, hit);
    }
    return hit ?? undefined;
  };

  constructor(private readonly sources: PythonSources) {}

  /** The file's text, without parsing it (to skip files that cannot matter). */
  source(file: string): string {
    return this.parsed.get(file)?.source ?? this.sources.read(file) ?? '';
  }

  module(file: string): PyModule {
    let mod = this.parsed.get(file);
    if (!mod) {
      mod = parsePython(
        file,
        this.sources.moduleOf(file),
        this.sources.read(file) ?? '',
      );
      this.parsed.set(file, mod);
    }
    return mod;
  }

  evaluate(
    mod: PyModule,
    node: SyntaxNode,
    scope: string,
    options?: EvalOptions,
  ): Evaluated {
    return evaluate(mod, node, scope, this.resolve, options);
  }

  /** Modules the file imports (absolute), incl. import_module("x") and "pkg.mod:app" strings handed to uvicorn. */
  importedModules(file: string): string[] {
    let hit = this.imported.get(file);
    if (!hit) {
      hit = this.readImports(file);
      this.imported.set(file, hit);
    }
    return hit;
  }

  private readImports(file: string): string[] {
    const mod = this.module(file);
    const out: string[] = [];
    for (const i of mod.imports) {
      out.push(i.module);
      if (i.name) out.push(`${i.module}.${i.name}`);
    }
    for (const c of mod.calls)
      if (
        (c.callee === '__import__' || c.callee?.endsWith('import_module')) &&
        c.args[0]?.name === 'String'
      )
        out.push(mod.text(c.args[0]).slice(1, -1));
    if (/uvicorn|factory|app/i.test(mod.source))
      for (const s of mod.strings) {
        const m = /^([A-Za-z_][\w.]*):[A-Za-z_]\w*$/.exec(s.value);
        if (m) out.push(m[1]);
      }
    return out;
  }

  /** The project files the entries reach through imports, entries first. */
  reachable(entries: string[]): string[] {
    const key = entries.join('\n');
    let hit = this.reached.get(key);
    if (!hit) {
      hit = this.follow(entries);
      this.reached.set(key, hit);
    }
    return [...hit];
  }

  // Routes and writable folders both follow the app's imports.
  private readonly reached = new Map<string, string[]>();
  private follow(entries: string[]): string[] {
    const seen = new Set<string>();
    const queue = [...entries];
    while (queue.length) {
      const file = queue.shift() as string;
      if (seen.has(file) || !file.endsWith('.py')) continue;
      seen.add(file);
      for (const m of this.importedModules(file)) {
        const parts = m.split('.');
        // Importing a.b.c runs a/__init__.py and a/b/__init__.py too.
        for (let k = 1; k <= parts.length; k++) {
          const f = this.sources.fileOfModule(parts.slice(0, k).join('.'));
          if (f && !seen.has(f)) queue.push(f);
        }
      }
    }
    return [...seen];
  }

  /**
   * The string values the file's code holds: literals, assignments and call
   * arguments that evaluate to a string (constants, settings defaults,
   * Path(...) / "x", os.getenv defaults), each with its line.
   */
  stringValues(file: string): StringValue[] {
    let cached = this.values.get(file);
    if (cached) return cached;
    const mod = this.module(file);
    const out: StringValue[] = mod.strings.map((s) => ({
      value: s.value,
      line: s.line,
      literal: true,
    }));
    const tryNode = (
      node: SyntaxNode | undefined,
      scope: string,
      evenLiteral = false,
    ) => {
      if (!node || (node.name === 'String' && !evenLiteral)) return;
      if (!MAYBE_STRING.has(node.name)) return;
      const v = this.evaluate(mod, node, scope);
      if (v.value !== undefined)
        out.push({
          value: v.value,
          line: mod.lineOf(node.from),
          literal: false,
        });
    };
    for (const a of mod.assigns) tryNode(a.value, a.scope);
    for (const c of mod.calls) {
      for (const a of c.args) tryNode(a, c.scope);
      for (const [k, a] of c.kwargs) tryNode(a, c.scope, k === 'default');
    }
    cached = out;
    this.values.set(file, out);
    return out;
  }
}

export type { PyModule };
