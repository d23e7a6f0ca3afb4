/**
 * Which FastAPI app the inference image serves: module-level apps, app
 * factories (def create_app(): ... return app) and apps built by calling one,
 * leaving out apps mounted into another.
 */
import { fail } from '../errors/errors';
import { calleeOf, FASTAPI_CTORS, refOf } from './fastapi-names';
import { PythonProject } from './python-project';
import { qualify } from './readers/python';

export interface AppFinding {
  app?: string;
  appFile?: string;
  factory: boolean;
  apps: string[];
  factories: string[];
  warnings: string[];
}

export interface AppSearch {
  projectName: string;
  where: string;
  /** The .py files to search (outside tests and notebooks). */
  files: string[];
  appModule?: string;
  needsApp: boolean;
  fileOfModule(module: string): string | undefined;
  /** For messages: the app module's file is looked for under src/ too. */
  srcRoot: boolean;
}

const MAYBE_APP = /FastAPI|fastapi|app\b|\.mount\(/;

export function findApp(py: PythonProject, s: AppSearch): AppFinding {
  const instances: Array<{ key: string; file: string }> = [];
  const factories: Array<{ key: string; file: string }> = [];
  const factoryCalls: Array<{ key: string; file: string; target?: string }> =
    [];
  const dynamic: string[] = [];
  const mounted = new Set<string>();
  const warnings: string[] = [];
  for (const file of s.files) {
    if (!MAYBE_APP.test(py.source(file))) continue;
    const mod = py.module(file);
    if (!mod.module) continue;
    const isCtor = (node: Parameters<typeof calleeOf>[2]) =>
      FASTAPI_CTORS.has(calleeOf(py, mod, node) ?? '');
    for (const a of mod.assigns) {
      if (a.scope !== '' || a.target.includes('.') || !a.value) continue;
      if (isCtor(a.value))
        instances.push({ key: `${mod.module}:${a.target}`, file });
      else if (a.value.name === 'CallExpression' && a.value.firstChild) {
        const callee = mod.text(a.value.firstChild).replace(/\s+/g, '');
        const ref = /^[\w.]+$/.test(callee)
          ? refOf(py, mod, callee, '')
          : undefined;
        factoryCalls.push({
          key: `${mod.module}:${a.target}`,
          file,
          target: ref?.kind === 'object' ? ref.key : undefined,
        });
        if (
          /^(app|application|api)$/.test(a.target) &&
          /fastapi/.test(mod.source) &&
          !ref
        )
          dynamic.push(`${file}:${a.line} (${a.target} = ${callee}(...))`);
      }
    }
    for (const fn of mod.functions) {
      if (fn.scope !== '') continue;
      const locals = new Set(
        mod.assigns
          .filter(
            (a) =>
              (a.scope === fn.name || a.scope.startsWith(`${fn.name}.`)) &&
              isCtor(a.value),
          )
          .map((a) => a.target),
      );
      const returnsApp =
        fn.returns.some(
          (r) =>
            isCtor(r) || (r.name === 'VariableName' && locals.has(mod.text(r))),
        ) ||
        (!!fn.returnType &&
          /^[\w.]+$/.test(fn.returnType.trim()) &&
          FASTAPI_CTORS.has(qualify(mod, fn.returnType.trim(), py.resolve)));
      if (returnsApp) factories.push({ key: `${mod.module}:${fn.name}`, file });
    }
    for (const c of mod.calls) {
      if (c.method !== 'mount') continue;
      const target = c.kwargs.get('app') ?? c.args[1];
      if (!target) continue;
      const ref = refOf(py, mod, mod.text(target).replace(/\s+/g, ''), c.scope);
      if (ref?.kind === 'object') mounted.add(ref.key);
    }
  }
  const factoryKeys = new Set(factories.map((f) => f.key));
  for (const call of factoryCalls)
    if (call.target && factoryKeys.has(call.target))
      instances.push({ key: call.key, file: call.file });
  const roots = instances.filter((a) => !mounted.has(a.key));
  const apps = [...new Set(roots.map((a) => a.key))];
  const factoryList = [...new Set(factories.map((f) => f.key))];
  const base = { apps, factories: factoryList, warnings };

  if (s.appModule) {
    const module = s.appModule.split(':')[0];
    const file = s.fileOfModule(module);
    if (!file)
      fail(
        `--appModule names ${s.appModule}, but ${s.where} has no ${module.split('.').join('/')}.py${s.srcRoot ? ' (under src/ or the project root)' : ''}. Check the module path, then rerun.`,
      );
    return {
      ...base,
      app: s.appModule,
      appFile: file,
      factory: factoryKeys.has(s.appModule) && !apps.includes(s.appModule),
    };
  }
  if (apps.length === 1)
    return {
      ...base,
      app: apps[0],
      appFile: roots.find((a) => a.key === apps[0])?.file,
      factory: false,
    };
  if (apps.length > 1) {
    if (s.needsApp)
      fail(
        `Project "${s.projectName}" has several FastAPI apps (${apps.join(', ')}). Choose one with --appModule=<module:attr>.`,
      );
    return { ...base, factory: false };
  }
  if (factoryList.length === 1) {
    const app = factoryList[0];
    warnings.push(
      `${app} is an app factory (no module-level app): the inference image runs uvicorn with --factory.`,
    );
    return {
      ...base,
      app,
      appFile: factories.find((f) => f.key === app)?.file,
      factory: true,
    };
  }
  if (s.needsApp) {
    if (factoryList.length > 1)
      fail(
        `Project "${s.projectName}" has no module-level FastAPI app but several app factories (${factoryList.join(', ')}). Choose one with --appModule=<module:function>.`,
      );
    fail(
      `No FastAPI app found in project "${s.projectName}" (looked for app = FastAPI(...) in its .py files outside tests/ and notebooks/${dynamic.length ? `; built by something not read: ${dynamic.join(', ')}` : ''}). Pass --appModule=<module:attr>, or --image=training to generate only the training image.`,
    );
  }
  return { ...base, factory: false };
}
