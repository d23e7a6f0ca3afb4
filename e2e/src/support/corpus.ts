/**
 * The corpus suites' shared steps: one project of e2e/fixtures/corpus copied
 * into a fresh workspace where a stranger would put it, its images in a
 * registry repository of its own (workspace config, nx.json, never the
 * fixture's project.json), and the checks every story makes: the plugin
 * registered once, the generator's summary and Dockerfiles, the registry
 * holding every recorded tag with the recorded image, nothing left behind.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { removeImagesOf } from './example-monorepo';
import { docker, Ran, REGISTRY, run, uniqueId, until } from './run';
import { freshWorkspace, Workspace } from './workspace';

export const CORPUS = join(__dirname, '..', '..', 'fixtures', 'corpus');

const PLUGIN = '@ml/docker';
const DOCKER_MANIFEST_V2 =
  'application/vnd.docker.distribution.manifest.v2+json';

export interface CorpusImage {
  image: string;
  /** The full image name, registry included. */
  name: string;
  tags: string[];
  imageId: string;
}

export interface CorpusProject {
  ws: Workspace;
  /** The Nx project name (the fixture's own). */
  project: string;
  /** Where the fixture sits in the workspace. */
  root: string;
  /** This story's repository in the shared local registry. */
  repository: string;
  /** nx, never throwing: the story asserts the exit status itself. */
  nx(args: string[]): Ran;
  /** nx run <project>:<target> with these further arguments. */
  nxRun(target: string, args?: string[]): Ran;
  /** nx g @ml/docker:images --project=<project> with these further options. */
  generate(args?: string[]): Ran;
  /** A file of the project, as text. */
  read(path: string): string;
  /** The images of the project's build record. */
  recorded(): CorpusImage[];
  /** Every container the plugin ran for this story still present (none, after each command). */
  containers(): string[];
  /** Removes the workspace and every local image of the story's repository. */
  dispose(): void;
}

/**
 * The fixture's files as a repository would hold them: tracked or not, but
 * not what its .gitignore excludes (a model someone trained in the fixture
 * folder, caches), so every story starts from the committed state.
 */
export function fixtureFiles(fixture: string): string[] {
  return run(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '.'],
    { cwd: join(CORPUS, fixture) },
  )
    .stdout.split('\0')
    .filter((f) => f && existsSync(join(CORPUS, fixture, f)));
}

/**
 * A fresh workspace with the fixture copied to `root`, its own project.json /
 * package.json kept. `npmWorkspaces`: globs for the root package.json
 * `workspaces`, as a real npm workspace lists its packages (needed for a
 * project defined by a package.json `nx` field).
 */
export function corpusProject(
  fixture: string,
  root: string,
  opts: { npmWorkspaces?: string[] } = {},
): CorpusProject {
  const id = uniqueId('cp');
  const repository = `e2e-corpus-${id}`;
  const ws = freshWorkspace();
  for (const file of fixtureFiles(fixture)) {
    const to = join(ws.root, root, file);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(join(CORPUS, fixture, file), to);
  }
  const config = existsSync(join(ws.root, root, 'project.json'))
    ? readJson(join(ws.root, root, 'project.json'))
    : readJson(join(ws.root, root, 'package.json')).nx;
  const project: string = config.name;
  if (opts.npmWorkspaces)
    updateJson(join(ws.root, 'package.json'), (p) => ({
      ...p,
      workspaces: opts.npmWorkspaces,
    }));
  // Every image of the workspace in this story's repository: workspace
  // configuration, keyed by the executor, as a team sets its registry path.
  updateJson(join(ws.root, 'nx.json'), (nxJson) => ({
    ...nxJson,
    targetDefaults: {
      ...(nxJson.targetDefaults as Json | undefined),
      [`${PLUGIN}:build`]: { options: { repository } },
    },
  }));
  ws.commitAll(`${fixture} at ${root}`);
  const nx = (args: string[]) => ws.nx(args, { allowFail: true });
  const recordPath = join(ws.root, 'dist', 'docker', root, 'build-record.json');
  const recorded = (): CorpusImage[] =>
    existsSync(recordPath) ? readJson(recordPath).images : [];
  return {
    ws,
    project,
    root,
    repository,
    nx,
    nxRun: (target, args = []) => nx(['run', `${project}:${target}`, ...args]),
    generate: (args = []) =>
      nx([
        'g',
        `${PLUGIN}:images`,
        `--project=${project}`,
        '--no-interactive',
        ...args,
      ]),
    read: (path) => readFileSync(join(ws.root, root, path), 'utf8'),
    recorded,
    containers: () => containersOf(repository, recorded()),
    dispose: () => {
      try {
        removeImagesOf(repository);
      } finally {
        ws.dispose();
      }
    },
  };
}

/**
 * Containers (running or not) of this story's images: the plugin runs them by
 * image ID, so every image tagged under the story's repository counts, and the
 * recorded ones (another suite may run a project of the same name at once).
 */
function containersOf(repository: string, recorded: CorpusImage[]): string[] {
  const ids = new Set(recorded.map((i) => i.imageId));
  for (const line of docker([
    'images',
    '--no-trunc',
    '--format',
    '{{.Repository}}\t{{.ID}}',
  ]).stdout.split('\n')) {
    const [name, id] = line.split('\t');
    if (name?.includes(`/${repository}/`)) ids.add(id);
  }
  return docker([
    'ps',
    '-a',
    '--no-trunc',
    '--format',
    '{{.ID}}\t{{.Names}}\t{{.Image}}',
  ])
    .stdout.split('\n')
    .filter(Boolean)
    .filter((line) => {
      const image = line.split('\t')[2];
      return ids.has(image) || image.includes(`/${repository}/`);
    });
}

function readJson(file: string) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

type Json = Record<string, unknown>;

function updateJson(file: string, update: (json: Json) => Json): void {
  writeFileSync(file, JSON.stringify(update(readJson(file)), null, 2) + '\n');
}

/** How many times nx.json's plugins list registers @ml/docker. */
export function pluginRegistrations(ws: Workspace): number {
  const plugins: Array<string | { plugin: string }> =
    readJson(join(ws.root, 'nx.json')).plugins ?? [];
  return plugins.filter(
    (p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN,
  ).length;
}

/** `nx g @ml/docker:init` registers the plugin once. */
export function initOnce(p: CorpusProject): void {
  const first = p.nx(['g', `${PLUGIN}:init`, '--no-interactive']);
  expect(first.status).toBe(0);
  expect(pluginRegistrations(p.ws)).toBe(1);
}

/**
 * `nx g @ml/docker:init` registers the plugin once; a second run leaves
 * nx.json byte for byte as it was.
 */
export function initTwice(p: CorpusProject): void {
  initOnce(p);
  const nxJson = readFileSync(join(p.ws.root, 'nx.json'), 'utf8');
  const second = p.nx(['g', `${PLUGIN}:init`, '--no-interactive']);
  expect(second.status).toBe(0);
  expect(readFileSync(join(p.ws.root, 'nx.json'), 'utf8')).toBe(nxJson);
  expect(second.all).not.toMatch(/UPDATE nx\.json/);
  p.ws.commitAll('nx g @ml/docker:init');
}

/** The generator's summary: `Key: value` for each indented line it printed. */
export function summary(out: string): Record<string, string> {
  const lines: Record<string, string> = {};
  for (const m of out.matchAll(/^ {2}([A-Z][A-Za-z ()]*?): (.*)$/gm))
    lines[m[1]] = m[2].trim();
  return lines;
}

/** How every generated pip install starts: the build secrets mounted, read by with-pip-secrets. */
export const WITH_PIP_SECRETS =
  'RUN --mount=type=secret,id=pip-index-url --mount=type=secret,id=pip-extra-index-url --mount=type=secret,id=netrc,target=/root/.netrc with-pip-secrets';

/** The folders of the summary's "Writable" line ("logs/ (app/log.py:3), metrics/"), without where each is written. */
export function writableFolders(said: Record<string, string>): string[] {
  return (said['Writable'] ?? '')
    .split(/, (?=[^()]*(?:\(|$))/)
    .map((entry) => entry.replace(/ \(.*\)$/, ''))
    .filter(Boolean);
}

/**
 * A Dockerfile's instructions, continuation lines joined and comments
 * dropped: `RUN apt-get update && apt-get install …` as one string.
 */
export function instructions(dockerfile: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of dockerfile.split('\n')) {
    const line = raw.trim();
    if (!current && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    current += (current ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      out.push(current.replace(/\s+/g, ' '));
      current = '';
    }
  }
  if (current) out.push(current);
  return out;
}

/** Every file of the workspace (git's and nx's own folders aside) with a hash of its bytes. */
export function treeSnapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (dir: string) => {
    for (const name of readdirSync(join(root, dir))) {
      const rel = dir ? `${dir}/${name}` : name;
      if (['node_modules', '.git', '.nx'].includes(rel)) continue;
      const abs = join(root, rel);
      if (statSync(abs).isDirectory()) visit(rel);
      else
        out[rel] = createHash('sha256').update(readFileSync(abs)).digest('hex');
    }
  };
  visit('');
  return out;
}

/**
 * The registry holds every tag of every recorded image, each a manifest
 * whose config digest is the recorded image ID (the image that was built
 * and tested, not merely an image of that name).
 */
export async function expectRegistryHoldsRecord(
  p: CorpusProject,
  images: string[],
): Promise<void> {
  const recorded = p.recorded();
  expect(recorded.map((i) => i.image).sort()).toEqual([...images].sort());
  for (const image of recorded) {
    expect(image.name.startsWith(`${REGISTRY}/${p.repository}/`)).toBe(true);
    const path = image.name.slice(REGISTRY.length + 1);
    const list = (await (
      await fetch(`http://${REGISTRY}/v2/${path}/tags/list`)
    ).json()) as { tags?: string[] };
    expect(list.tags).toEqual(expect.arrayContaining(image.tags));
    for (const tag of image.tags) {
      const res = await fetch(
        `http://${REGISTRY}/v2/${path}/manifests/${tag}`,
        {
          headers: { accept: DOCKER_MANIFEST_V2 },
        },
      );
      const manifest = (await res.json()) as { config?: { digest?: string } };
      expect({
        tag,
        status: res.status,
        config: manifest.config?.digest,
      }).toEqual({
        tag,
        status: 200,
        config: image.imageId,
      });
    }
  }
}

/** The line docker-test prints for each route whose documented example it sent. */
export function answeredAsDocumented(
  image: string,
  method: string,
  route: string,
): RegExp {
  const escaped = route.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(
    `${image}: ${method} ${escaped} answered its documented example \\([^)]*\\) as documented`,
  );
}

/** The generated inference CMD for this app import path. */
export const UVICORN = (app: string) =>
  `CMD ["/bin/sh", "-c", "exec python -m uvicorn ${app} --host 0.0.0.0 --port \\"\${PORT:-8000}\\""]`;

/** The runtime stage's instructions (after `FROM ${BASE_IMAGE} AS runtime`). */
export function runtimeStage(dockerfile: string): string[] {
  const all = instructions(dockerfile);
  return all.slice(all.indexOf('FROM ${BASE_IMAGE} AS runtime'));
}

export interface DvcStage {
  name: string;
  cmd: string;
  deps: string[];
  /** outs, metrics and plots. */
  outs: string[];
}

/**
 * The stages of a dvc.yaml, read as YAML (anchors and aliases resolved, as
 * dvc reads them); each out is its path whether written as `- path` or
 * `- path: {cache: false}`.
 */
export function dvcStages(text: string): DvcStage[] {
  type Entry = string | Record<string, unknown>;
  const paths = (list: unknown): string[] =>
    ((list as Entry[] | undefined) ?? []).map((e) =>
      typeof e === 'string' ? e : Object.keys(e)[0],
    );
  const stages = (parseYaml(text) as { stages?: Record<string, Json> }).stages;
  return Object.entries(stages ?? {}).map(([name, s]) => ({
    name,
    cmd: Array.isArray(s.cmd) ? s.cmd.join(' && ') : String(s.cmd),
    deps: paths(s.deps),
    outs: [...paths(s.outs), ...paths(s.metrics), ...paths(s.plots)],
  }));
}

/** The stages in the order `dvc repro` runs them: each after the stages whose outs it depends on. */
export function reproOrder(stages: DvcStage[]): DvcStage[] {
  const done = new Set<string>();
  const order: DvcStage[] = [];
  const produces = (s: DvcStage, dep: string) =>
    s.outs.some((o) => dep === o || dep.startsWith(`${o}/`));
  while (order.length < stages.length) {
    const next = stages.find(
      (s) =>
        !done.has(s.name) &&
        s.deps.every(
          (d) =>
            !stages.some((o) => o !== s && !done.has(o.name) && produces(o, d)),
        ),
    );
    if (!next)
      throw new Error('dvc.yaml: the stages depend on each other in a cycle');
    done.add(next.name);
    order.push(next);
  }
  return order;
}

/**
 * docker-train's --command flags that do what `dvc repro` would (dvc cannot
 * be installed offline): the project's dvc.yaml stages' commands in
 * dependency order, chained with && in one `sh -c`. nx 23 turns repeated
 * --command= flags into the array the option takes.
 */
export function dvcReproCommand(p: CorpusProject): string[] {
  const chain = reproOrder(dvcStages(p.read('dvc.yaml')))
    .map((s) => s.cmd)
    .join(' && ');
  return ['--command=sh', '--command=-c', `--command=${chain}`];
}

type Schema = Record<string, unknown>;

/**
 * A JSON request body a client would write from the route's request schema
 * alone (no documented example): every required property, each the first
 * enum value, the default, or the smallest value its bounds allow.
 */
export function requestFromSchema(
  doc: Json,
  method: string,
  path: string,
): unknown {
  const resolve = (s: Schema): Schema => {
    const ref = s.$ref as string | undefined;
    if (!ref) return s;
    const name = ref.replace('#/components/schemas/', '');
    return resolve(
      (doc as { components: { schemas: Record<string, Schema> } }).components
        .schemas[name],
    );
  };
  const value = (raw: Schema): unknown => {
    const s = resolve(raw);
    if (s.default !== undefined) return s.default;
    if (Array.isArray(s.enum)) return s.enum[0];
    const options = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
    if (options)
      return value(options.find((o) => o.type !== 'null') ?? options[0]);
    const bound = (lo: unknown, xlo: unknown, hi: unknown, step: number) =>
      typeof lo === 'number'
        ? lo
        : typeof xlo === 'number'
          ? xlo + step
          : typeof hi === 'number'
            ? Math.min(hi, 1)
            : 1;
    switch (s.type) {
      case 'object': {
        const props = (s.properties ?? {}) as Record<string, Schema>;
        const required = (s.required ?? []) as string[];
        return Object.fromEntries(required.map((k) => [k, value(props[k])]));
      }
      case 'array':
        return Array.from(
          { length: Math.max(1, Number(s.minItems ?? 1)) },
          () => value((s.items ?? {}) as Schema),
        );
      case 'integer':
        return bound(s.minimum, s.exclusiveMinimum, s.maximum, 1);
      case 'number':
        return bound(s.minimum, s.exclusiveMinimum, s.maximum, 0.5);
      case 'boolean':
        return true;
      case 'string':
        return s.format === 'date'
          ? '2025-01-01'
          : 'x'.repeat(Math.max(6, Number(s.minLength ?? 0)));
      default:
        return null;
    }
  };
  const op = (doc.paths as Record<string, Record<string, Schema>>)[path]?.[
    method.toLowerCase()
  ];
  const media = (
    op?.requestBody as { content?: Record<string, { schema: Schema }> }
  )?.content?.['application/json'];
  if (!media) throw new Error(`${method} ${path} takes no JSON body`);
  return value(media.schema);
}

/** What a client saw from the pushed image: its OpenAPI document and one answer. */
export interface Served {
  doc: Json;
  status: number;
  body: unknown;
  /** The response schema's required keys that the answer lacks. */
  missing: string[];
}

/**
 * Runs a recorded image the way a user would (`docker run -p`), reads its
 * OpenAPI document, sends `method path` the body `request(doc)` returns, and
 * removes the container whatever happens.
 */
export async function askRecorded(
  p: CorpusProject,
  image: string,
  method: string,
  path: string,
  request: (doc: Json) => unknown,
): Promise<Served> {
  const rec = p.recorded().find((i) => i.image === image);
  if (!rec) throw new Error(`no recorded ${image} image`);
  const name = uniqueId(`${p.project}-client`);
  docker(['run', '-d', '--name', name, '-p', '127.0.0.1::8000', rec.imageId]);
  try {
    const port = docker(['port', name, '8000']).stdout.trim().split(':').pop();
    const base = `http://127.0.0.1:${port}`;
    let doc: Json | undefined;
    await until(async () => {
      doc = await fetch(`${base}/openapi.json`, {
        signal: AbortSignal.timeout(2000),
      }).then(
        (r) => (r.ok ? (r.json() as Promise<Json>) : undefined),
        () => undefined,
      );
      return doc !== undefined;
    }, 60_000);
    if (!doc)
      throw new Error(
        `${image} never served /openapi.json:\n${docker(['logs', name], { allowFail: true }).all}`,
      );
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request(doc)),
    });
    const body = (await res.json()) as Json;
    const op = (doc.paths as Record<string, Record<string, Schema>>)[path][
      method.toLowerCase()
    ];
    const responses = op.responses as Record<
      string,
      { content?: Record<string, { schema: Schema }> }
    >;
    const schema = responses['200']?.content?.['application/json']?.schema;
    const required = schema?.$ref
      ? (((doc as { components: { schemas: Record<string, Schema> } })
          .components.schemas[
          String(schema.$ref).replace('#/components/schemas/', '')
        ].required ?? []) as string[])
      : [];
    return {
      doc,
      status: res.status,
      body,
      missing: required.filter((k) => !(k in body)),
    };
  } finally {
    docker(['rm', '-f', name], { allowFail: true });
  }
}

/**
 * The command exited 0; when it did not, the failure shows the end of its
 * output (what the user read), not only the exit status.
 */
export function expectSucceeded(r: Ran): void {
  expect(r.status === 0 ? 'exit 0' : r.all.slice(-3000)).toBe('exit 0');
}
