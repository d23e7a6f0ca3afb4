/**
 * `nx affected -t docker-push` on a real git history of the example monorepo
 * (ml-base → ml-common → synth, churn): each commit rebuilds and pushes exactly
 * the images whose inputs changed, and nothing else.
 */
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { docker, run, uniqueId } from './support/run';
import { freshWorkspace, Workspace } from './support/workspace';

const repoRoot = join(__dirname, '..', '..');
const PROJECTS = ['ml-base', 'ml-common', 'synth', 'churn'];
const CACHED =
  /\[(local cache|remote cache|existing outputs match the cache, left as is)\]/;

interface Outcome {
  /** Projects whose docker-build executed (not restored from the cache). */
  built: string[];
  /** Projects whose docker-push uploaded at least one tag. */
  pushed: string[];
  /** Projects that nx considered at all. */
  touched: string[];
}

export function outcomeOf(output: string): Outcome {
  const built = new Set<string>();
  const touched = new Set<string>();
  const pushed = new Set<string>();
  for (const line of output.split('\n')) {
    const task = line.match(/^> nx run ([\w-]+):(docker-build|docker-push)\b/);
    if (task) {
      touched.add(task[1]);
      if (task[2] === 'docker-build' && !CACHED.test(line)) built.add(task[1]);
    }
    const push = line.match(/^([\w-]+): @ml\/docker: pushed /);
    if (push) pushed.add(push[1]);
  }
  return {
    built: [...built].sort(),
    pushed: [...pushed].sort(),
    touched: [...touched].sort(),
  };
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
    ws = freshWorkspace();
    for (const project of PROJECTS) {
      cpSync(
        join(repoRoot, 'examples', project),
        join(ws.root, 'examples', project),
        {
          recursive: true,
          filter: (p) => !/(__pycache__|\/models$|\/metrics$)/.test(p),
        },
      );
    }
    // This run's own repository in the shared registry: names and the
    // Dockerfiles' ARG defaults (which also carry the graph edges) move together.
    const nxJsonPath = join(ws.root, 'nx.json');
    const nxJson = JSON.parse(readFileSync(nxJsonPath, 'utf8'));
    nxJson.plugins = [...(nxJson.plugins ?? []), '@ml/docker'];
    nxJson.targetDefaults = {
      ...nxJson.targetDefaults,
      'docker-build': { options: { repository } },
    };
    writeFileSync(nxJsonPath, JSON.stringify(nxJson, null, 2));
    for (const p of ['synth', 'churn']) {
      for (const image of ['training', 'inference']) {
        const file = join(
          ws.root,
          'examples',
          p,
          'docker',
          image,
          'Dockerfile',
        );
        writeFileSync(
          file,
          readFileSync(file, 'utf8').replace(
            /\/ml-images\//g,
            `/${repository}/`,
          ),
        );
      }
    }
    ws.commitAll('example monorepo');
    const first = ws.nx([
      'run-many',
      '-t',
      'docker-push',
      '--outputStyle=stream',
      '--parallel=2',
    ]);
    expect(outcomeOf(first.all).built).toEqual([
      'churn',
      'ml-base',
      'ml-common',
      'synth',
    ]);
  });

  afterAll(() => {
    const images = docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])
      .stdout.split('\n')
      .filter((i) => i.includes(`/${repository}/`));
    for (const image of images)
      docker(['rmi', '-f', image], { allowFail: true });
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
    const result = affected();
    const outcome = outcomeOf(result.all);
    expect({ built: outcome.built, pushed: outcome.pushed }).toEqual({
      built,
      pushed: built,
    });
  });
});
