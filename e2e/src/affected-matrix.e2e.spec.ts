/**
 * `nx affected -t docker-push` on a real git history of the example monorepo
 * (ml-base → ml-common → synth, churn): each commit rebuilds and pushes exactly
 * the images whose inputs changed, and nothing else.
 */
import {
  appendFileSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { run, uniqueId } from './support/run';
import {
  buildRecord,
  EXAMPLE_PROJECTS,
  exampleMonorepo,
  removeImagesOf,
} from './support/example-monorepo';
import { Workspace } from './support/workspace';

/** Projects whose docker-push uploaded at least one tag in this output. */
function pushedIn(output: string): string[] {
  const pushed = new Set<string>();
  for (const line of output.split('\n')) {
    const push = line.match(/^([\w-]+): @ml\/docker: pushed /);
    if (push) pushed.add(push[1]);
  }
  return [...pushed].sort();
}

/**
 * When each project's build record was written. An engine build writes a new
 * one; a cache hit restores the old one: comparing them tells which builds ran,
 * whatever nx prints.
 */
function recordTimes(root: string): Record<string, string> {
  const times: Record<string, string> = {};
  for (const p of EXAMPLE_PROJECTS) {
    const images = buildRecord(root, p);
    if (images) times[p] = images.map((i) => i.createdAt).join(',');
  }
  return times;
}

function builtBetween(
  before: Record<string, string>,
  after: Record<string, string>,
): string[] {
  return EXAMPLE_PROJECTS.filter((p) => after[p] !== before[p]).sort();
}

describe('nx affected -t docker-push on the example monorepo', () => {
  const repository = `e2e-${uniqueId('aff')}`;
  let ws: Workspace;

  const affected = () =>
    ws.nx([
      'affected',
      '-t',
      'docker-push',
      '--base=HEAD~1',
      '--head=HEAD',
      '--outputStyle=stream',
      '--parallel=2',
    ]);
  const commit = (message: string, change: () => void) => {
    change();
    ws.commitAll(message);
  };

  beforeAll(() => {
    ws = exampleMonorepo(repository);
    ws.nx([
      'run-many',
      '-t',
      'docker-push',
      '--outputStyle=stream',
      '--parallel=2',
    ]);
    expect(Object.keys(recordTimes(ws.root)).sort()).toEqual([
      'churn',
      'ml-base',
      'ml-common',
      'synth',
    ]);
  });

  afterAll(() => {
    removeImagesOf(repository);
    ws?.dispose();
  });

  it('the graph has the Dockerfile edges: models → ml-base and ml-common', () => {
    const graphFile = join(ws.root, 'graph.json');
    ws.nx(['graph', `--file=${graphFile}`]);
    const deps = JSON.parse(readFileSync(graphFile, 'utf8')).graph.dependencies;
    const targets = (p: string) =>
      deps[p].map((d: { target: string }) => d.target).sort();
    expect(targets('synth')).toEqual(['ml-base', 'ml-common']);
    expect(targets('churn')).toEqual(['ml-base', 'ml-common']);
    expect(targets('ml-base')).toEqual([]);
    expect(targets('ml-common')).toEqual([]);
  });

  it.each([
    {
      change: 'a change in ml-common',
      edit: (root: string) =>
        appendFileSync(
          join(root, 'examples/ml-common/ml_common/features.py'),
          '\n# shared by both models\n',
        ),
      built: ['churn', 'ml-common', 'synth'],
    },
    {
      change: 'a change only under data/, mlruns/ and a README',
      edit: (root: string) => {
        mkdirSync(join(root, 'examples/synth/data'), { recursive: true });
        writeFileSync(
          join(root, 'examples/synth/data/raw.csv.dvc'),
          'outs:\n- path: raw.csv\n',
        );
        mkdirSync(join(root, 'examples/churn/mlruns/0'), { recursive: true });
        writeFileSync(
          join(root, 'examples/churn/mlruns/0/meta.yaml'),
          'name: Default\n',
        );
        appendFileSync(
          join(root, 'examples/synth/README.md'),
          '\nMore words.\n',
        );
      },
      built: [],
    },
    {
      change: "a change in ml-base's Dockerfile",
      edit: (root: string) =>
        appendFileSync(
          join(root, 'examples/ml-base/docker/base/Dockerfile'),
          'ENV ML_BASE_REVISION=2\n',
        ),
      built: ['churn', 'ml-base', 'synth'],
    },
    {
      change: 'a change in synth/src',
      edit: (root: string) =>
        appendFileSync(
          join(root, 'examples/synth/src/serve/app.py'),
          '\n# a comment is a change\n',
        ),
      built: ['synth'],
    },
    { change: 'no change at all (a rerun)', edit: () => undefined, built: [] },
  ])('$change rebuilds and pushes exactly: $built', ({ edit, built }) => {
    commit('matrix row', () => edit(ws.root));
    // data/ and mlruns/ are git-ignored in a DVC project; force them in so git sees the change.
    run('git', ['add', '-f', '-A', 'examples'], { cwd: ws.root });
    run(
      'git',
      [
        '-c',
        'user.email=e2e@example.invalid',
        '-c',
        'user.name=e2e',
        'commit',
        '-q',
        '--amend',
        '--no-edit',
      ],
      { cwd: ws.root },
    );
    const before = recordTimes(ws.root);
    const result = affected();
    // On failure the task lines show what nx ran and what it took from its cache.
    const tasks = result.all.split('\n').filter((l) => /^> nx run /.test(l));
    expect({
      built: builtBetween(before, recordTimes(ws.root)),
      pushed: pushedIn(result.all),
      tasks,
    }).toEqual({
      built,
      pushed: built,
      tasks: expect.any(Array),
    });
  });
});
