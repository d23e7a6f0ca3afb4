/**
 * What a dotted name in a module stands for among the project's objects:
 * `module:name` for module-level objects, `module:fn.name` for locals of a
 * function (an app built in a factory), following imports and re-exports.
 */
import type { SyntaxNode } from '@lezer/common';
import { qualify, PyModule } from './readers/python';
import { PythonProject } from './python-project';

export const FASTAPI_CTORS = new Set([
  'fastapi.FastAPI',
  'fastapi.applications.FastAPI',
]);
export const ROUTER_CTORS = new Set([
  'fastapi.APIRouter',
  'fastapi.routing.APIRouter',
]);

export type Ref =
  { kind: 'object'; key: string } | { kind: 'module'; mod: PyModule };

function scopesOf(scope: string): string[] {
  const out: string[] = [];
  for (
    let s = scope;
    s;
    s = s.includes('.') ? s.slice(0, s.lastIndexOf('.')) : ''
  )
    out.push(s);
  return out;
}

export function refOf(
  py: PythonProject,
  mod: PyModule,
  dotted: string,
  scope: string,
  depth = 0,
): Ref | undefined {
  if (depth > 16 || !mod.module) return undefined;
  const [head, ...rest] = dotted.split('.');
  let ref: Ref | undefined;
  const local = scopesOf(scope).find((s) =>
    mod.assigns.some((a) => a.scope === s && a.target === head),
  );
  if (local) ref = { kind: 'object', key: `${mod.module}:${local}.${head}` };
  else if (
    mod.assigns.some((a) => a.scope === '' && a.target === head) ||
    mod.functions.some((f) => f.scope === '' && f.name === head)
  )
    ref = { kind: 'object', key: `${mod.module}:${head}` };
  else {
    const imp = [...mod.imports].reverse().find((i) => i.local === head);
    if (!imp) return undefined;
    if (imp.name === undefined) {
      const m = py.resolve(imp.module);
      ref = m ? { kind: 'module', mod: m } : undefined;
    } else {
      const from = py.resolve(imp.module);
      const sub = py.resolve(`${imp.module}.${imp.name}`);
      if (from && from !== mod && !sub)
        ref = refOf(py, from, imp.name, '', depth + 1);
      else if (sub) ref = { kind: 'module', mod: sub };
      else if (from) ref = refOf(py, from, imp.name, '', depth + 1);
    }
  }
  for (const part of rest) {
    if (!ref) return undefined;
    if (ref.kind === 'module') {
      const sub = ref.mod.module && py.resolve(`${ref.mod.module}.${part}`);
      ref = sub
        ? { kind: 'module', mod: sub }
        : refOf(py, ref.mod, part, '', depth + 1);
    } else if (part !== 'router') return undefined;
    // app.router is the app's own router: routes on it are the app's.
  }
  return ref;
}

/** The qualified callee of a call expression node (fastapi.FastAPI), if dotted. */
export function calleeOf(
  py: PythonProject,
  mod: PyModule,
  node: SyntaxNode | undefined,
): string | undefined {
  if (node?.name !== 'CallExpression' || !node.firstChild) return undefined;
  const c = node.firstChild;
  if (c.name !== 'VariableName' && c.name !== 'MemberExpression')
    return undefined;
  return qualify(mod, mod.text(c).replace(/\s+/g, ''), py.resolve);
}

export function where(mod: PyModule, line: number): string {
  return `${mod.file}:${line}`;
}
