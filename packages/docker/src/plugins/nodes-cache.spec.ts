import {
  CreateNodesContextV2,
  CreateNodesResult,
  ProjectConfiguration,
} from '@nx/devkit';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MlDockerPluginOptions } from '../names/names';
import { nodesCachePath, openFileCache, workspaceDataDir } from './nodes-cache';
import { createNodes } from './plugin';

const TRAINING = 'apps/model/docker/training/Dockerfile';
const INFERENCE = 'apps/model/docker/inference/Dockerfile';
const PLANTED = 'planted in the cache file';

describe('the createNodes cache', () => {
  const envKeys = [
    'NX_WORKSPACE_DATA_DIRECTORY',
    'NX_PROJECT_GRAPH_CACHE_DIRECTORY',
    'NX_CACHE_PROJECT_GRAPH',
  ];
  const savedEnv = envKeys.map((k) => process.env[k]);
  let root: string;
  let context: CreateNodesContextV2;

  beforeEach(() => {
    for (const k of envKeys) delete process.env[k];
    root = mkdtempSync(join(tmpdir(), 'ml-docker-nodes-cache-'));
    context = { nxJsonConfiguration: {}, workspaceRoot: root };
    write({
      'apps/model/project.json': '{}',
      [TRAINING]:
        'FROM python:3.11-slim\nLABEL ml-docker.outputs="model"\nCMD ["python", "train.py"]\n',
      [INFERENCE]: 'FROM python:3.11-slim\nCOPY model/ ./model/\n',
    });
  });

  afterEach(() => {
    envKeys.forEach((k, i) => {
      if (savedEnv[i] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[i];
    });
    rmSync(root, { recursive: true, force: true });
  });

  function write(files: Record<string, string>) {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
  }

  async function nodes(options: MlDockerPluginOptions = {}) {
    const results = await createNodes[1](
      [TRAINING, INFERENCE],
      options,
      context,
    );
    return Object.fromEntries(results) as Record<string, CreateNodesResult>;
  }

  const cacheFile = (options: MlDockerPluginOptions = {}) =>
    nodesCachePath(root, options);

  const readCache = (options: MlDockerPluginOptions = {}) =>
    JSON.parse(readFileSync(cacheFile(options), 'utf8'));

  /**
   * Rewrites every cached entry's docker-build description: a result that
   * carries it can only have come from the file, not from the Dockerfiles.
   */
  function plant(options: MlDockerPluginOptions = {}) {
    const cache: Record<
      string,
      Required<Pick<ProjectConfiguration, 'targets'>>
    > = readCache(options);
    for (const entry of Object.values(cache))
      for (const target of Object.values(entry.targets))
        target.metadata = { ...target.metadata, description: PLANTED };
    writeFileSync(cacheFile(options), JSON.stringify(cache));
  }

  /** The inferred project, or a failure that says it is missing. */
  function model(result: Record<string, CreateNodesResult>) {
    const project = result[TRAINING]?.projects?.['apps/model'];
    if (!project?.targets) throw new Error('apps/model was not inferred');
    return { ...project, targets: project.targets };
  }

  const descriptions = (result: Record<string, CreateNodesResult>) =>
    Object.values(model(result).targets).map((t) => t.metadata?.description);

  it('writes one entry per project under .nx/workspace-data and returns the same nodes from it', async () => {
    const first = await nodes();
    expect(dirname(cacheFile())).toBe(join(root, '.nx', 'workspace-data'));
    expect(Object.keys(readCache())).toHaveLength(1);
    expect(model(first).targets).toHaveProperty('docker-train');

    const second = await nodes();

    expect(second).toEqual(first);
  });

  it('serves a hit from the file rather than from the Dockerfiles', async () => {
    await nodes();
    plant();

    const result = await nodes();

    expect(new Set(descriptions(result))).toEqual(new Set([PLANTED]));
  });

  it.each<[string, () => void]>([
    [
      'a Dockerfile changes',
      () => write({ [INFERENCE]: 'FROM python:3.11-slim\nCOPY src/ ./src/\n' }),
    ],
    [
      'an image is added',
      () =>
        write({ 'apps/model/docker/batch/Dockerfile': 'FROM python:3.11\n' }),
    ],
    [
      'a .dockerignore appears',
      () => write({ 'apps/model/.dockerignore': 'data\n' }),
    ],
  ])('computes the nodes again when %s', async (_, change) => {
    await nodes();
    plant();
    change();

    const result = await nodes();

    expect(descriptions(result)).not.toContain(PLANTED);
    // What the change means is in the result, not the cached one.
    const fresh = await nodesWithoutCache();
    expect(result).toEqual(fresh);
  });

  async function nodesWithoutCache() {
    process.env.NX_CACHE_PROJECT_GRAPH = 'false';
    try {
      return await nodes();
    } finally {
      delete process.env.NX_CACHE_PROJECT_GRAPH;
    }
  }

  it('computes the nodes again when the .dockerignore changes', async () => {
    write({ 'apps/model/.dockerignore': 'data\n' });
    await nodes();
    plant();
    write({ 'apps/model/.dockerignore': 'data\nmlruns\n' });

    const result = await nodes();

    expect(descriptions(result)).not.toContain(PLANTED);
    expect(model(result).namedInputs?.dockerContext).toContain(
      '!{projectRoot}/mlruns',
    );
  });

  it('keeps a file per set of options, so a changed option never reads the other', async () => {
    await nodes();
    plant();

    const result = await nodes({ buildTargetName: 'image' });

    expect(cacheFile({ buildTargetName: 'image' })).not.toBe(cacheFile());
    const { targets } = model(result);
    expect(targets).toHaveProperty('image');
    expect(targets).not.toHaveProperty('docker-build');
    expect(descriptions(result)).not.toContain(PLANTED);
  });

  it.each([
    ['not JSON', '{"abc": {"targets"'],
    ['JSON of the wrong shape', '[1, 2, 3]'],
    ['an entry of the wrong shape', '{"x": 5, "y": null}'],
    ['empty', ''],
  ])('ignores a cache file that is %s and replaces it', async (_, text) => {
    const expected = await nodesWithoutCache();
    mkdirSync(dirname(cacheFile()), { recursive: true });
    writeFileSync(cacheFile(), text);

    const result = await nodes();

    expect(result).toEqual(expected);
    expect(Object.keys(readCache())).toHaveLength(1);
  });

  it('drops entries no project uses any more and leaves no temporary file', async () => {
    await nodes();
    write({ [INFERENCE]: 'FROM python:3.12-slim\n' });
    await nodes();

    expect(Object.keys(readCache())).toHaveLength(1);
    expect(readdirSync(dirname(cacheFile()))).toEqual([
      expect.stringMatching(/^ml-docker-nodes-.*\.hash$/),
    ]);
  });

  it.each([
    ['NX_WORKSPACE_DATA_DIRECTORY', 'relative/data', 'relative/data'],
    ['NX_PROJECT_GRAPH_CACHE_DIRECTORY', 'older/data', 'older/data'],
  ])('follows %s as Nx does', async (variable, value, expected) => {
    process.env[variable] = value;

    await nodes();

    expect(workspaceDataDir(root)).toBe(join(root, expected));
    expect(existsSync(cacheFile())).toBe(true);
    expect(existsSync(join(root, '.nx'))).toBe(false);
  });

  it('takes an absolute NX_WORKSPACE_DATA_DIRECTORY as it is', () => {
    const elsewhere = join(root, 'elsewhere');
    process.env.NX_WORKSPACE_DATA_DIRECTORY = elsewhere;
    expect(workspaceDataDir('/some/other/root')).toBe(elsewhere);
  });

  it('still infers when the data directory cannot be written', async () => {
    write({ '.nx/workspace-data': 'a file where the folder should be' });
    const expected = await nodesWithoutCache();

    expect(await nodes()).toEqual(expected);
  });
});

describe('the per-file cache of createDependencies', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ml-docker-edges-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps what a file said under its hash, and only for files that still exist with that hash', () => {
    const file = join(dir, 'edges.hash');
    const first = openFileCache<string[]>(file);
    first.set('a/docker/x/Dockerfile', 'h1', ['img-a']);
    first.set('b/docker/x/Dockerfile', 'h2', ['img-b']);
    first.set('c/docker/x/Dockerfile', 'h3', ['img-c']);
    first.write(
      new Map([
        ['a/docker/x/Dockerfile', 'h1'],
        ['b/docker/x/Dockerfile', 'h2-changed'],
      ]),
    );
    const second = openFileCache<string[]>(file);
    expect(second.get('a/docker/x/Dockerfile', 'h1')).toEqual(['img-a']);
    expect(second.get('a/docker/x/Dockerfile', 'other')).toBeUndefined();
    expect(second.get('b/docker/x/Dockerfile', 'h2')).toBeUndefined();
    expect(second.get('c/docker/x/Dockerfile', 'h3')).toBeUndefined();
  });
});
