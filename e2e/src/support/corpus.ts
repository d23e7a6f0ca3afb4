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
import { removeImagesOf } from './example-monorepo';
import { docker, Ran, REGISTRY, run, uniqueId } from './run';
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

/**
 * `nx g @ml/docker:init` registers the plugin once; a second run leaves
 * nx.json byte for byte as it was.
 */
export function initTwice(p: CorpusProject): void {
  const first = p.nx(['g', `${PLUGIN}:init`, '--no-interactive']);
  expect(first.status).toBe(0);
  expect(pluginRegistrations(p.ws)).toBe(1);
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
