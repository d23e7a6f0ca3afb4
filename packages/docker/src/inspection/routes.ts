/**
 * The GET routes an app serves, with their full paths (include_router and
 * APIRouter prefixes, constants and settings followed), and from them the
 * liveness and readiness paths the images probe. When the app has no
 * liveness route, a path it is certain to serve stands in: its OpenAPI
 * document, else a GET route without path parameters.
 */
import type { SyntaxNode } from '@lezer/common';
import {
  calleeOf,
  FASTAPI_CTORS,
  refOf,
  ROUTER_CTORS,
  where,
} from './fastapi-names';
import { PythonProject } from './python-project';
import { PyModule } from './readers/python';

export interface RouteFindings {
  /** Full paths of the app's GET routes, without path parameters. */
  paths: string[];
  healthPath?: string;
  readyPath?: string;
  /** How healthPath was chosen: a liveness route, the OpenAPI document, or some GET route. */
  healthFrom?: 'route' | 'openapi' | 'get-route';
  warnings: string[];
}

const LIVE = [
  'health',
  'healthz',
  'livez',
  'live',
  'liveness',
  '_health',
  'healthcheck',
  'health-check',
  'health_check',
  'ping',
  'alive',
  'heartbeat',
];
/** Under a health-named parent (/health/heartbeat), these are liveness too. */
const LIVE_UNDER_HEALTH = [
  'heartbeat',
  'alive',
  'status',
  'live',
  'liveness',
  'ping',
  'check',
];
const HEALTH_PARENT =
  /^(health|healthz|healthcheck|health-check|health_check|_health)$/;
const READY = ['ready', 'readyz', 'readiness', '_ready'];

interface Route {
  owner: string;
  path: string;
}

export function findRoutes(
  py: PythonProject,
  app: string,
  appFile: string,
): RouteFindings {
  const warnings: string[] = [];
  const files = py.reachable([appFile]);
  const appKeys = new Set([app]);
  const routerPrefix = new Map<string, string>();
  const includes: Array<{ child: string; parent: string; prefix: string }> = [];
  const routes: Route[] = [];
  let openapi: string | null | undefined;

  // The app object: module-level, or the locals of the factory that builds it.
  const [appModule, appAttr] = app.split(':');
  const appMod = py.resolve(appModule) ?? py.module(appFile);
  const factory = factoryOf(py, appMod, appAttr);

  const evalStr = (
    mod: PyModule,
    node: SyntaxNode,
    scope: string,
    what: string,
    line: number,
  ) => {
    const v = py.evaluate(mod, node, scope);
    if (v.value !== undefined) return v.value;
    warnings.push(
      `${where(mod, line)}: ${what} is not known (${v.reason}, ${v.where}), so routes under it are left out of the health route search. Pass --healthPath=<path of a GET route> if the app's liveness route is among them.`,
    );
    return undefined;
  };

  for (const file of files) {
    const mod = py.module(file);
    if (!mod.module || !/fastapi|route|FastAPI/.test(mod.source)) continue;
    const key = (scope: string, target: string) =>
      `${mod.module}:${scope ? `${scope}.` : ''}${target}`;
    for (const a of mod.assigns) {
      if (!a.value || a.target.includes('.')) continue;
      const callee = calleeOf(py, mod, a.value);
      if (!callee) continue;
      const k = key(a.scope, a.target);
      if (FASTAPI_CTORS.has(callee)) {
        const inFactory =
          factory &&
          factory.mod === mod &&
          (a.scope === factory.fn || a.scope.startsWith(`${factory.fn}.`));
        if (k !== app && !inFactory) continue;
        appKeys.add(k);
        const url = kwarg(mod, a.value, 'openapi_url');
        if (url && mod.text(url) === 'None') openapi = null;
        else if (url)
          openapi = evalStr(mod, url, a.scope, 'openapi_url', a.line) ?? null;
        else if (openapi === undefined) openapi = '/openapi.json';
      } else if (ROUTER_CTORS.has(callee)) {
        const p = kwarg(mod, a.value, 'prefix');
        const prefix = p
          ? evalStr(mod, p, a.scope, `the prefix of ${a.target}`, a.line)
          : '';
        if (prefix !== undefined) routerPrefix.set(k, prefix);
      }
    }
  }
  if (openapi === undefined) openapi = '/openapi.json';

  const ownerOf = (mod: PyModule, dotted: string, scope: string) => {
    const ref = refOf(py, mod, dotted, scope);
    if (ref?.kind !== 'object') return undefined;
    return appKeys.has(ref.key) ? 'app' : ref.key;
  };
  for (const file of files) {
    const mod = py.module(file);
    if (!mod.module || !/fastapi|route|FastAPI/.test(mod.source)) continue;
    for (const d of mod.decorators) {
      const m = /^([\w.]+)\.(get|api_route)$/.exec(d.callee);
      if (!m || !d.call) continue;
      const owner = ownerOf(mod, m[1], d.scope);
      if (!owner || (owner !== 'app' && !routerPrefix.has(owner))) continue;
      if (m[2] === 'api_route' && !allowsGet(mod, d.call.kwargs.get('methods')))
        continue;
      const pathNode = d.call.kwargs.get('path') ?? d.call.args[0];
      if (!pathNode) continue;
      const path = evalStr(
        mod,
        pathNode,
        d.scope,
        `the path of @${d.callee}`,
        d.line,
      );
      if (path !== undefined) routes.push({ owner, path });
    }
    for (const c of mod.calls) {
      const m =
        c.callee && /^([\w.]+)\.(add_api_route|include_router)$/.exec(c.callee);
      if (!m) continue;
      const owner = ownerOf(mod, m[1], c.scope);
      if (!owner || (owner !== 'app' && !routerPrefix.has(owner))) continue;
      if (m[2] === 'add_api_route') {
        if (!allowsGet(mod, c.kwargs.get('methods'), true)) continue;
        const pathNode = c.kwargs.get('path') ?? c.args[0];
        const path =
          pathNode &&
          evalStr(mod, pathNode, c.scope, `the path of ${c.callee}`, c.line);
        if (path !== undefined) routes.push({ owner, path });
        continue;
      }
      const childNode = c.kwargs.get('router') ?? c.args[0];
      const childName = childNode && mod.text(childNode).replace(/\s+/g, '');
      const child =
        childName && /^[\w.]+$/.test(childName)
          ? refOf(py, mod, childName, c.scope)
          : undefined;
      if (child?.kind !== 'object') {
        warnings.push(
          `${where(mod, c.line)}: ${c.callee}(${childName ?? ''}) includes a router that is not found in the project, so its routes are left out of the health route search. Pass --healthPath=<path of a GET route> if the app's liveness route is among them.`,
        );
        continue;
      }
      const p = c.kwargs.get('prefix');
      const prefix = p
        ? evalStr(
            mod,
            p,
            c.scope,
            `the prefix of ${c.callee}(${childName})`,
            c.line,
          )
        : '';
      if (prefix !== undefined)
        includes.push({ child: child.key, parent: owner, prefix });
    }
  }

  // Each router's includes by child, and each router's full prefixes once:
  // a big app has hundreds of routes under the same few routers.
  const includedAs = new Map<string, typeof includes>();
  for (const i of includes)
    includedAs.set(i.child, [...(includedAs.get(i.child) ?? []), i]);
  const prefixesOf = new Map<string, string[]>();
  const prefixes = (owner: string, seen: string[] = []): string[] => {
    if (owner === 'app') return [''];
    if (seen.includes(owner) || seen.length > 16) return [];
    const top = seen.length === 0 ? prefixesOf.get(owner) : undefined;
    if (top) return top;
    const own = routerPrefix.get(owner) ?? '';
    const found = (includedAs.get(owner) ?? []).flatMap((i) =>
      prefixes(i.parent, [...seen, owner]).map((p) => p + i.prefix + own),
    );
    if (seen.length === 0) prefixesOf.set(owner, found);
    return found;
  };
  const paths = [
    ...new Set(
      routes.flatMap((r) =>
        prefixes(r.owner).map((p) =>
          `/${p}/${r.path}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1'),
        ),
      ),
    ),
  ].filter((p) => !p.includes('{'));

  const healthPath = pick(paths, liveRank);
  const readyPath = pick(paths, (segs) => READY.indexOf(segs[segs.length - 1]));
  if (healthPath)
    return { paths, healthPath, readyPath, healthFrom: 'route', warnings };
  if (openapi)
    return {
      paths,
      healthPath: openapi,
      readyPath,
      healthFrom: 'openapi',
      warnings,
    };
  const plain = [...paths].sort((a, b) => a.length - b.length)[0];
  if (plain)
    return {
      paths,
      healthPath: plain,
      readyPath,
      healthFrom: 'get-route',
      warnings,
    };
  return { paths, readyPath, warnings };
}

function liveRank(segs: string[]): number {
  const last = segs[segs.length - 1];
  const rank = LIVE.indexOf(last);
  if (rank >= 0) return rank;
  const under = LIVE_UNDER_HEALTH.indexOf(last);
  if (under >= 0 && segs.slice(0, -1).some((s) => HEALTH_PARENT.test(s)))
    return LIVE.length + under;
  return -1;
}

function pick(
  paths: string[],
  rank: (segs: string[]) => number,
): string | undefined {
  return paths
    .map((p) => ({ p, segs: p.split('/').filter(Boolean) }))
    .map((x) => ({ ...x, rank: x.segs.length ? rank(x.segs) : -1 }))
    .filter((x) => x.rank >= 0)
    .sort(
      (a, b) =>
        a.segs.length - b.segs.length ||
        a.rank - b.rank ||
        a.p.length - b.p.length,
    )[0]?.p;
}

function kwarg(
  mod: PyModule,
  call: SyntaxNode,
  name: string,
): SyntaxNode | undefined {
  const c = mod.calls.find(
    (x) => x.node.from === call.from && x.node.to === call.to,
  );
  return c?.kwargs.get(name);
}

/** methods=[...] lets GET through (add_api_route and api_route default to GET). */
function allowsGet(
  mod: PyModule,
  methods: SyntaxNode | undefined,
  byDefault = true,
): boolean {
  if (!methods) return byDefault;
  return /['"]GET['"]/i.test(mod.text(methods));
}

/** The function that builds the app: the app itself when it is a factory, or the one its module-level assignment calls. */
function factoryOf(
  py: PythonProject,
  mod: PyModule,
  attr: string,
): { mod: PyModule; fn: string } | undefined {
  if (mod.functions.some((f) => f.scope === '' && f.name === attr))
    return { mod, fn: attr };
  const a = [...mod.assigns]
    .reverse()
    .find((x) => x.scope === '' && x.target === attr);
  if (a?.value?.name !== 'CallExpression' || !a.value.firstChild)
    return undefined;
  const ref = refOf(
    py,
    mod,
    mod.text(a.value.firstChild).replace(/\s+/g, ''),
    '',
  );
  if (ref?.kind !== 'object') return undefined;
  const [m, fn] = ref.key.split(':');
  const target = py.resolve(m);
  return target && !fn.includes('.') ? { mod: target, fn } : undefined;
}
