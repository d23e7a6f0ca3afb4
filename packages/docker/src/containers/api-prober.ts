/**
 * Proves an inference container's API from the app's own OpenAPI document:
 * which route says "ready", which routes take a JSON body with a documented
 * example, and whether sending that example gets the documented answer.
 *
 * A passing /health says the process is up, not that the model loaded: an
 * app whose model is missing answers /health 200 and /predict 503. The
 * document FastAPI serves at /openapi.json already holds the example inputs
 * (pydantic `examples`, `Body(examples=...)`, `openapi_examples`), so the
 * test can exercise the real prediction path without the user writing a
 * request by hand.
 *
 * The document is input from the user's app, not trusted: every field is
 * checked before use and nothing here assumes a shape the spec allows to vary.
 */
import { request } from 'node:http';
import { fail } from '../errors/errors';

export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi?: string;
  paths?: Record<string, unknown>;
  components?: {
    schemas?: Record<string, unknown>;
    [section: string]: unknown;
  };
  security?: unknown;
  [key: string]: unknown;
}

export type BodyMethod = 'POST' | 'PUT' | 'PATCH';

export interface RouteExample {
  method: BodyMethod;
  /** As documented, {parameters} included: the form routeKey and users' options use. */
  path: string;
  /** What is sent: path parameters replaced by their examples, required query parameters appended. */
  requestPath: string;
  body: unknown;
  /** Where the example came from, e.g. 'requestBody example', 'requestBody examples.strict', 'schema examples[0]', 'schema example', 'property examples'. */
  source: string;
  /** Header parameters the route requires, from their documented examples. */
  headers?: Record<string, string>;
  /** The documented success answer: the lowest 2xx. */
  response?: {
    status: string;
    /** The response media type when it is documented. */
    mediaType?: string;
    /** Its schema with every $ref inlined (a cycle is cut to {}). */
    schema?: JsonSchema;
  };
}

export interface RouteWithoutExample {
  method: BodyMethod;
  path: string;
  reason: string;
}

export interface ExerciseOptions {
  /** Status the answer must have; default: any 2xx. */
  expectStatus?: number;
  /** Per request, connect to last byte; default 30 s. */
  timeoutMs?: number;
}

type Obj = Record<string, unknown>;

const DEFAULT_TIMEOUT_MS = 30_000;
/** A document or answer larger than this is a broken app, not something to buffer. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const SNIPPET_CHARS = 200;
const BODY_METHODS: readonly BodyMethod[] = ['POST', 'PUT', 'PATCH'];
/** Nested models deeper than this are not built from property examples. */
const MAX_BUILD_DEPTH = 8;
const MAX_REF_HOPS = 32;

export function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

// ---------------------------------------------------------------------------
// Network

interface LoopbackBase {
  port: number;
  /** Sent as Host, so an app that checks it sees what the caller wrote. */
  host: string;
  /** A path prefix in the base URL (an app behind root_path). */
  prefix: string;
}

/**
 * Only the container's port published on this machine: the prober sends
 * whatever examples the document holds, and they must never reach anything
 * but the app under test.
 */
function loopback(baseUrl: string): LoopbackBase {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    fail(
      `"${baseUrl}" is not a URL: the API check only sends requests to the container's published port, http://127.0.0.1:<port>.`,
    );
  }
  const allowed =
    u.protocol === 'http:' &&
    (u.hostname === '127.0.0.1' || u.hostname === 'localhost') &&
    !u.username &&
    !u.password &&
    !u.search &&
    !u.hash;
  if (!allowed)
    fail(
      `Refusing to send the API check to ${baseUrl}: it only talks to the container's port published on this machine (http://127.0.0.1:<port> or http://localhost:<port>).`,
    );
  return {
    port: u.port ? Number(u.port) : 80,
    host: u.host,
    prefix: u.pathname.replace(/\/+$/, ''),
  };
}

interface Answer {
  status: number;
  text: string;
  contentType?: string;
}

/**
 * One request, its whole answer. node:http rather than fetch, as in
 * health-waiter: a connection Docker's port proxy drops is reported at once.
 * Always to 127.0.0.1, even for "localhost": the port is published on the
 * IPv4 loopback only, and localhost may resolve to ::1 first.
 */
function send(
  base: LoopbackBase,
  method: string,
  path: string,
  timeoutMs: number,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let reason: Error | undefined;
    let settled = false;
    const settle = (e: Error | undefined, answer?: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(reason ?? e);
      else resolve(answer as Answer);
    };
    const abort = (e: Error) => {
      reason ??= e;
      req.destroy(e);
    };
    const req = request(
      {
        host: '127.0.0.1',
        port: base.port,
        method,
        path: base.prefix + path,
        agent: false,
        // The route's own headers first: none of them may change how the body is framed.
        headers: {
          ...headers,
          host: base.host,
          accept: 'application/json',
          ...(body === undefined
            ? {}
            : {
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(body),
              }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES)
            abort(
              Object.assign(new Error(`${MAX_BODY_BYTES / 2 ** 20} MB`), {
                code: 'ETOOBIG',
              }),
            );
          else chunks.push(chunk);
        });
        res.on('end', () =>
          settle(undefined, {
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            contentType: res.headers['content-type'],
          }),
        );
        res.on('error', (e) => settle(e));
        res.on('close', () =>
          settle(
            Object.assign(new Error('the connection closed mid-answer'), {
              code: 'ECONNRESET',
            }),
          ),
        );
      },
    );
    const timer = setTimeout(
      () =>
        abort(
          Object.assign(new Error(`${seconds(timeoutMs)} s`), {
            code: 'ETIMEDOUT',
          }),
        ),
      timeoutMs,
    );
    req.on('error', (e) => settle(e));
    req.end(body);
  });
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? String(ms / 1000) : (ms / 1000).toFixed(1);
}

/** How a request failed, to follow "GET /x": "got no answer (ECONNREFUSED)". */
function noAnswer(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ETIMEDOUT') return `got no answer within ${err.message}`;
  if (err.code === 'ETOOBIG') return `answered more than ${err.message}`;
  return `got no answer (${err.code ?? err.message})`;
}

/** A body as it fits on one line of a task's output. */
function snippet(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (!line) return '(empty body)';
  return line.length > SNIPPET_CHARS
    ? `${line.slice(0, SNIPPET_CHARS)}…`
    : line;
}

// ---------------------------------------------------------------------------
// Reading the document

function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Obj)
    : undefined;
}

function strings(v: unknown): string[] {
  return Array.isArray(v)
    ? v.filter((s): s is string => typeof s === 'string')
    : [];
}

function own(o: Obj, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

/** A local JSON pointer (#/components/schemas/X); FastAPI never emits other refs. */
function pointer(doc: OpenApiDocument, ref: string): unknown {
  if (ref === '#') return doc;
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    if (node === null || typeof node !== 'object') return undefined;
    let key: string;
    try {
      key = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    node = own(node as Obj, key.replace(/~1/g, '/').replace(/~0/g, '~'));
  }
  return node;
}

/** Follows $ref on a parameter, request body, response or example object. */
function deref(doc: OpenApiDocument, v: unknown): Obj | undefined {
  let node = obj(v);
  for (let hops = 0; node && typeof node.$ref === 'string'; hops++) {
    if (hops >= MAX_REF_HOPS) return undefined;
    node = obj(pointer(doc, node.$ref));
  }
  return node;
}

const SCHEMA_MAPS = new Set([
  'properties',
  'patternProperties',
  '$defs',
  'definitions',
]);
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SCHEMA_ONE = new Set([
  'items',
  'additionalProperties',
  'additionalItems',
  'not',
  'contains',
  'propertyNames',
  'if',
  'then',
  'else',
]);

/**
 * A schema with every $ref replaced by its target, so that the checks (and
 * callers holding only a RouteExample) never need the document again.
 * Keywords beside a $ref (OpenAPI 3.1 allows them: FastAPI puts a Body's
 * `examples` and a Field's `description` there) win over the target's.
 * A model that contains itself is cut at the repeat to {} (anything).
 * Only schema positions are walked: example values are data and may hold
 * keys such as "$ref" of their own.
 */
function inline(doc: OpenApiDocument, node: unknown, stack: string[]): unknown {
  const o = obj(node);
  if (!o) return node;
  const out: Obj = {};
  const ref = typeof o.$ref === 'string' ? o.$ref : undefined;
  if (ref && !stack.includes(ref)) {
    const target = obj(inline(doc, pointer(doc, ref), [...stack, ref]));
    if (target) Object.assign(out, target);
    // A bare $ref names its model only in the pointer.
    if (out.title === undefined && ref.startsWith('#/components/schemas/'))
      out.title = ref.slice('#/components/schemas/'.length);
  }
  for (const [k, v] of Object.entries(o)) {
    if (k === '$ref') continue;
    if (SCHEMA_MAPS.has(k) && obj(v))
      out[k] = Object.fromEntries(
        Object.entries(v as Obj).map(([name, s]) => [
          name,
          inline(doc, s, stack),
        ]),
      );
    else if (SCHEMA_LISTS.has(k) && Array.isArray(v))
      out[k] = v.map((s) => inline(doc, s, stack));
    else if (SCHEMA_ONE.has(k))
      out[k] = Array.isArray(v)
        ? v.map((s) => inline(doc, s, stack))
        : inline(doc, v, stack);
    else out[k] = v;
  }
  return out;
}

function inlined(
  doc: OpenApiDocument,
  schema: unknown,
): JsonSchema | undefined {
  return obj(inline(doc, schema, []));
}

/**
 * allOf folded into one schema. pydantic 1 wraps a nested model that has a
 * description as `{allOf: [{$ref}], description}`; the properties and
 * required lists of all parts count.
 */
function merged(s: Obj): Obj {
  const parts = Array.isArray(s.allOf)
    ? s.allOf.map(obj).filter((p): p is Obj => p !== undefined)
    : [];
  if (parts.length === 0) return s;
  const out: Obj = {};
  const properties: Obj = {};
  const required = new Set<string>();
  for (const p of [...parts.map(merged), s]) {
    for (const [k, v] of Object.entries(p))
      if (k !== 'allOf' && k !== 'properties' && k !== 'required') out[k] = v;
    Object.assign(properties, obj(p.properties) ?? {});
    for (const r of strings(p.required)) required.add(r);
  }
  if (Object.keys(properties).length > 0) out.properties = properties;
  if (required.size > 0) out.required = [...required];
  return out;
}

function modelName(s: Obj | undefined): string | undefined {
  return s && typeof s.title === 'string' && s.title ? s.title : undefined;
}

// ---------------------------------------------------------------------------
// Readiness

const READY_NAMES = ['ready', 'readyz', 'readiness'];
const HEALTH_NAMES = /^_?(health|healthz|healthcheck|livez?|status)$/;

function normalPath(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

/** The GET routes the document lists, as documented ({parameters} kept), sorted. */
export function getRoutes(doc: OpenApiDocument): string[] {
  const paths = obj(doc.paths);
  if (!paths) return [];
  return Object.entries(paths)
    .filter(([, item]) => obj(deref(doc, item)?.get))
    .map(([path]) => path)
    .sort();
}

/**
 * Whether the document lists a GET route answering `path` (its query left
 * out; a {parameter} matches any one segment; a trailing / is ignored, as
 * Starlette redirects it).
 */
export function servesGet(doc: OpenApiDocument, path: string): boolean {
  const wanted = normalPath(path.split('?')[0]).split('/');
  return getRoutes(doc).some((route) => {
    const parts = normalPath(route).split('/');
    return (
      parts.length === wanted.length &&
      parts.every((p, i) => /^\{[^}]+\}$/.test(p) || p === wanted[i])
    );
  });
}

export function readinessPath(
  doc: OpenApiDocument,
  livenessPath: string,
): string | undefined {
  const paths = obj(doc.paths);
  if (!paths) return undefined;
  const liveness = normalPath(livenessPath);
  const ranked: Array<{ path: string; rank: number[] }> = [];
  for (const [path, item] of Object.entries(paths)) {
    if (!obj(deref(doc, item)?.get)) continue;
    if (path.includes('{') || normalPath(path) === liveness) continue;
    const segments = path
      .split('/')
      .filter(Boolean)
      .map((s) => s.toLowerCase());
    const last = segments[segments.length - 1] ?? '';
    const underHealth = segments.some(
      (s, i) =>
        i > 0 && READY_NAMES.includes(s) && HEALTH_NAMES.test(segments[i - 1]),
    );
    if (!READY_NAMES.includes(last) && !underHealth) continue;
    // Fewer segments first; then /health/ready before /v1/ready; then ready, readyz, readiness.
    const nameRank = READY_NAMES.includes(last)
      ? READY_NAMES.indexOf(last)
      : READY_NAMES.length;
    ranked.push({
      path,
      rank: [segments.length, underHealth ? 0 : 1, nameRank, path.length],
    });
  }
  ranked.sort((a, b) => {
    for (let i = 0; i < a.rank.length; i++)
      if (a.rank[i] !== b.rank[i]) return a.rank[i] - b.rank[i];
    return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  });
  return ranked[0]?.path;
}

// ---------------------------------------------------------------------------
// Examples

type Search = { value: unknown; source: string } | { missing: string[] };

function isJsonMedia(type: string): boolean {
  return /^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type.trim());
}

/** The JSON entry of a content map: application/json first, then any +json. */
function jsonMedia(
  content: Obj | undefined,
): { type: string; media: Obj } | undefined {
  if (!content) return undefined;
  const types = Object.keys(content).filter(isJsonMedia);
  types.sort(
    (a, b) =>
      Number(!/^application\/json\b/i.test(a)) -
      Number(!/^application\/json\b/i.test(b)),
  );
  for (const type of types) {
    const media = obj(content[type]);
    if (media) return { type, media };
  }
  return undefined;
}

/** `examples` first: a Body's examples sit beside the $ref and override the model's. */
function schemaExample(s: Obj): Search | undefined {
  if (Array.isArray(s.examples) && s.examples.length > 0)
    return { value: s.examples[0], source: 'schema examples[0]' };
  if (s.example !== undefined)
    return { value: s.example, source: 'schema example' };
  return undefined;
}

/** The first `value` of an examples map ({name: {summary, value}}). */
function mapExample(
  doc: OpenApiDocument,
  examples: unknown,
): { name: string; value: unknown } | undefined {
  for (const [name, entry] of Object.entries(obj(examples) ?? {})) {
    // externalValue points at a file the prober cannot fetch.
    const value = deref(doc, entry)?.value;
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

/**
 * An example for a schema: its own, else one built from its properties'
 * examples (pydantic's Field(examples=[...]) puts them there) when every
 * required property has one, else the list of required fields that lack one.
 */
function searchSchema(schema: unknown, depth: number): Search {
  const o = obj(schema);
  if (!o) return { missing: [] };
  const s = merged(o);
  const found = schemaExample(s);
  if (found) return found;
  if (depth >= MAX_BUILD_DEPTH) return { missing: [] };
  const properties = obj(s.properties);
  if (properties) {
    const required = strings(s.required);
    const value: Obj = {};
    const missing: string[] = [];
    // Some example somewhere below: then the fields still lacking one are worth naming.
    let partial = false;
    for (const [name, p] of Object.entries(properties)) {
      const r = searchSchema(p, depth + 1);
      if ('value' in r) value[name] = r.value;
      else if (required.includes(name)) {
        partial ||= r.missing.length > 0;
        missing.push(
          ...(r.missing.length ? r.missing.map((m) => `${name}.${m}`) : [name]),
        );
      }
    }
    for (const name of required) if (!(name in properties)) missing.push(name);
    const some = Object.keys(value).length > 0;
    if (missing.length === 0 && some)
      return { value, source: 'property examples' };
    return { missing: some || partial ? missing : [] };
  }
  if (obj(s.items)) {
    const r = searchSchema(s.items, depth + 1);
    if ('value' in r) return { value: [r.value], source: `items ${r.source}` };
    return { missing: r.missing.map((m) => `[].${m}`) };
  }
  return { missing: [] };
}

function parameterExample(doc: OpenApiDocument, p: Obj): unknown {
  if (p.example !== undefined) return p.example;
  const fromMap = mapExample(doc, p.examples);
  if (fromMap) return fromMap.value;
  const schema = inlined(doc, p.schema);
  const r = schema ? schemaExample(merged(schema)) : undefined;
  return r && 'value' in r ? r.value : undefined;
}

function parameterText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

/** Why a route needs something docker-test does not have, if it does. */
function credentialsNeeded(doc: OpenApiDocument, op: Obj): string | undefined {
  const requirements = Array.isArray(op.security) ? op.security : doc.security;
  if (!Array.isArray(requirements) || requirements.length === 0)
    return undefined;
  // An empty requirement ({}) means the credentials are optional.
  if (requirements.some((r) => obj(r) && Object.keys(r as Obj).length === 0))
    return undefined;
  const schemes = [
    ...new Set(requirements.flatMap((r) => Object.keys(obj(r) ?? {}))),
  ];
  return `needs credentials (${schemes.join(', ') || 'a security scheme'}), which docker-test does not send`;
}

function successResponse(
  doc: OpenApiDocument,
  op: Obj,
): RouteExample['response'] {
  const responses = obj(op.responses);
  if (!responses) return undefined;
  // FastAPI adds 422 to every route; `default` describes errors as often as success.
  const explicit = Object.keys(responses)
    .filter((k) => /^2\d\d$/.test(k))
    .sort((a, b) => Number(a) - Number(b));
  const status =
    explicit[0] ?? Object.keys(responses).find((k) => /^2xx$/i.test(k));
  if (!status) return undefined;
  const content = obj(deref(doc, responses[status])?.content);
  if (status === '204' || !content || Object.keys(content).length === 0)
    return { status };
  const json = jsonMedia(content);
  if (!json) return { status, mediaType: Object.keys(content)[0] };
  const schema = inlined(doc, json.media.schema);
  return schema
    ? { status, mediaType: json.type, schema }
    : { status, mediaType: json.type };
}

interface Parameter {
  name: string;
  in: string;
  required: boolean;
  p: Obj;
}

/** Path-item parameters overridden by the operation's, keyed by location and name. */
function parameters(doc: OpenApiDocument, item: Obj, op: Obj): Parameter[] {
  const byKey = new Map<string, Parameter>();
  for (const list of [item.parameters, op.parameters]) {
    if (!Array.isArray(list)) continue;
    for (const raw of list) {
      const p = deref(doc, raw);
      if (!p || typeof p.name !== 'string' || typeof p.in !== 'string')
        continue;
      byKey.set(`${p.in}:${p.name}`, {
        name: p.name,
        in: p.in,
        required: p.required === true || p.in === 'path',
        p,
      });
    }
  }
  return [...byKey.values()];
}

export function documentedExamples(doc: OpenApiDocument): {
  examples: RouteExample[];
  without: RouteWithoutExample[];
} {
  const examples: RouteExample[] = [];
  const without: RouteWithoutExample[] = [];
  for (const [path, rawItem] of Object.entries(obj(doc.paths) ?? {})) {
    const item = deref(doc, rawItem);
    if (!item) continue;
    for (const key of Object.keys(item)) {
      const method = key.toUpperCase() as BodyMethod;
      if (!BODY_METHODS.includes(method)) continue;
      const op = obj(item[key]);
      if (!op) continue;
      const json = jsonMedia(obj(deref(doc, op.requestBody)?.content));
      if (!json) continue;
      const skip = (reason: string) => without.push({ method, path, reason });

      const credentials = credentialsNeeded(doc, op);
      if (credentials) {
        skip(credentials);
        continue;
      }

      const schema = inlined(doc, json.media.schema);
      let body: unknown;
      let source: string;
      const fromMap = mapExample(doc, json.media.examples);
      if (json.media.example !== undefined) {
        body = json.media.example;
        source = 'requestBody example';
      } else if (fromMap) {
        body = fromMap.value;
        source = `requestBody examples.${fromMap.name}`;
      } else {
        const r = searchSchema(schema, 0);
        if (!('value' in r)) {
          const name = modelName(schema ? merged(schema) : undefined);
          const what = name ? `its request body (${name})` : 'its request body';
          skip(
            r.missing.length
              ? `${what} documents no example, and its required ${plural(r.missing.length, 'field', 'fields')} ${r.missing.join(', ')} ${plural(r.missing.length, 'has', 'have')} none`
              : `${what} documents no example`,
          );
          continue;
        }
        body = r.value;
        source = r.source;
      }

      const params = parameters(doc, item, op);
      const problems: string[] = [];
      const requestPath = path.replace(
        /\{([^}]+)\}/g,
        (whole, name: string) => {
          const p = params.find((x) => x.in === 'path' && x.name === name);
          const v = p ? parameterExample(doc, p.p) : undefined;
          if (v === undefined) {
            problems.push(`path parameter {${name}} has no example`);
            return whole;
          }
          return encodeURIComponent(parameterText(v));
        },
      );
      const query = new URLSearchParams();
      const headers: Record<string, string> = {};
      for (const p of params) {
        if (!p.required || p.in === 'path') continue;
        const v = parameterExample(doc, p.p);
        if (p.in === 'cookie') {
          problems.push(
            `needs the cookie ${p.name}, which docker-test does not send`,
          );
        } else if (v === undefined) {
          problems.push(
            `required ${p.in === 'header' ? 'header' : `${p.in} parameter`} ${p.name} has no example`,
          );
        } else if (p.in === 'query') {
          for (const one of Array.isArray(v) ? v : [v])
            query.append(p.name, parameterText(one));
        } else if (p.in === 'header') {
          headers[p.name] = parameterText(v);
        }
      }
      if (problems.length > 0) {
        skip(problems.join('; '));
        continue;
      }

      const q = query.toString();
      const response = successResponse(doc, op);
      examples.push({
        method,
        path,
        requestPath: q ? `${requestPath}?${q}` : requestPath,
        body,
        source,
        ...(Object.keys(headers).length > 0 ? { headers } : {}),
        ...(response ? { response } : {}),
      });
    }
  }
  return { examples, without };
}

// ---------------------------------------------------------------------------
// Fetching the document

export async function fetchOpenApi(
  baseUrl: string,
  path: string,
  timeoutMs: number = DEFAULT_TIMEOUT_MS,
): Promise<OpenApiDocument | undefined> {
  const base = loopback(baseUrl);
  if (!path.startsWith('/'))
    fail(`The OpenAPI document path "${path}" must start with /.`);
  const where = `GET ${path}`;
  const hint =
    'FastAPI serves it at /openapi.json unless the app sets openapi_url.';
  let answer: Answer;
  try {
    answer = await send(base, 'GET', path, timeoutMs);
  } catch (e) {
    fail(`Could not read the app's OpenAPI document: ${where} ${noAnswer(e)}.`);
  }
  if (answer.status === 404) return undefined;
  if (answer.status < 200 || answer.status > 299)
    fail(
      `Could not read the app's OpenAPI document: ${where} answered ${answer.status}: ${snippet(answer.text)}`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    const what = answer.contentType?.split(';')[0].trim() || 'a body';
    fail(
      `${where} answered ${what}, not an OpenAPI document (${snippet(answer.text)}). ${hint}`,
    );
  }
  const o = obj(parsed);
  if (o && typeof o.swagger === 'string')
    fail(
      `${where} is a Swagger ${o.swagger} document; the API check reads OpenAPI 3 (what FastAPI serves).`,
    );
  if (!o || typeof o.openapi !== 'string')
    fail(
      `${where} answered JSON that is not an OpenAPI document (no "openapi" version): ${snippet(answer.text)}. ${hint}`,
    );
  if (!/^3\./.test(o.openapi as string))
    fail(
      `${where} declares OpenAPI ${o.openapi}; the API check reads OpenAPI 3.x.`,
    );
  if (o.paths !== undefined && !obj(o.paths))
    fail(`${where} is an OpenAPI document whose "paths" is not an object.`);
  return o as OpenApiDocument;
}

// ---------------------------------------------------------------------------
// Exercising an example

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matches(types: Set<string>, v: unknown): boolean {
  const t = jsonType(v);
  return types.has(t) || (t === 'integer' && types.has('number'));
}

/**
 * The JSON types a schema allows, or undefined when it does not say (no
 * type, an enum alone, an anyOf branch without a type): then nothing is checked.
 */
function typesOf(schema: unknown): Set<string> | undefined {
  const o = obj(schema);
  if (!o) return undefined;
  const s = merged(o);
  let types: Set<string> | undefined;
  if (typeof s.type === 'string') types = new Set([s.type]);
  else if (Array.isArray(s.type)) types = new Set(strings(s.type));
  else {
    const alternatives = Array.isArray(s.anyOf)
      ? s.anyOf
      : Array.isArray(s.oneOf)
        ? s.oneOf
        : undefined;
    if (!alternatives || alternatives.length === 0) return undefined;
    types = new Set();
    for (const a of alternatives) {
      const t = typesOf(a);
      if (!t) return undefined;
      for (const x of t) types.add(x);
    }
  }
  // OpenAPI 3.0's spelling of Optional.
  if (s.nullable === true) types.add('null');
  return types.size > 0 ? types : undefined;
}

function article(type: string): string {
  if (type === 'null') return 'null';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function checkBody(
  label: string,
  value: unknown,
  schema: JsonSchema,
  text: string,
): string | undefined {
  const s = merged(schema);
  const name = modelName(s);
  const types = typesOf(s);
  if (types && !matches(types, value))
    return `${label}: the response is ${article(jsonType(value))}, documented as ${[...types].join(' or ')}${name ? ` (${name})` : ''}: ${snippet(text)}`;
  const body = obj(value);
  if (!body) return undefined;
  const missing = strings(s.required).filter((k) => !(k in body));
  if (missing.length > 0)
    return `${label}: the response lacks ${missing.join(', ')} (required by ${name ?? 'the API docs'}): ${snippet(text)}`;
  const wrong: string[] = [];
  for (const [key, p] of Object.entries(obj(s.properties) ?? {})) {
    if (!(key in body)) continue;
    const t = typesOf(p);
    if (t && !matches(t, body[key]))
      wrong.push(
        `${key} is ${article(jsonType(body[key]))} (documented: ${[...t].join(' or ')})`,
      );
  }
  if (wrong.length > 0)
    return `${label}: the response does not match ${name ?? 'the API docs'}: ${wrong.join(', ')}: ${snippet(text)}`;
  return undefined;
}

export async function exerciseExample(
  baseUrl: string,
  ex: RouteExample,
  options: ExerciseOptions = {},
): Promise<string | undefined> {
  const base = loopback(baseUrl);
  const path = ex.requestPath ?? ex.path;
  const label = routeKey(ex.method, path);
  let answer: Answer;
  try {
    answer = await send(
      base,
      ex.method,
      path,
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      JSON.stringify(ex.body),
      ex.headers,
    );
  } catch (e) {
    return `${label} ${noAnswer(e)}`;
  }
  const { status, text } = answer;
  const expected = options.expectStatus;
  const statusOk =
    expected === undefined
      ? status >= 200 && status <= 299
      : status === expected;
  if (!statusOk) {
    if (status === 422)
      return `${label}: the documented example was refused with 422: ${snippet(text)} (the example in the API docs does not match the request schema)`;
    return `${label} answered ${status}${expected === undefined ? '' : ` (expected ${expected})`}: ${snippet(text)}`;
  }
  const documented = ex.response;
  if (status === 204 || documented?.status === '204') return undefined;
  // An expectStatus outside 2xx has no documented body to hold the answer to.
  if (status < 200 || status > 299) return undefined;
  // A route documented as text/plain, HTML or a file is not held to JSON.
  if (documented?.mediaType && !isJsonMedia(documented.mediaType))
    return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `${label} answered ${status} with a body that is not JSON: ${snippet(text)}`;
  }
  return documented?.schema
    ? checkBody(label, value, documented.schema, text)
    : undefined;
}
