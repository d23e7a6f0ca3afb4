/**
 * `nx g @ml/docker:images` refuses bad input with one line and a non-zero
 * exit, and leaves the workspace byte for byte as it was: no file written,
 * none deleted, nx.json untouched, even when the refusal comes after other
 * files were already rendered.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { expectFailure, FailureModeId } from './support/failure-modes';
import { run, uniqueId } from './support/run';
import { freshWorkspace, Workspace } from './support/workspace';

/** Everything a generator could touch: path → sha256 (directories too, so an empty new folder counts). */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (!rel && ['node_modules', '.nx', '.git'].includes(name)) continue;
      const stat = lstatSync(join(root, path));
      if (stat.isDirectory()) {
        out[`${path}/`] = 'dir';
        walk(path);
      } else {
        out[path] = createHash('sha256')
          .update(readFileSync(join(root, path)))
          .digest('hex');
      }
    }
  };
  walk('');
  return out;
}

const TRAIN_PY =
  'def main():\n    print("training")\n\n\nif __name__ == "__main__":\n    main()\n';

describe('nx g @ml/docker:images refuses bad input and writes nothing', () => {
  const id = uniqueId('gf');
  const project = `py-${id}`;
  const bare = `bare-${id}`;
  const handmade = `hand-${id}`;
  const unprobed = `unprobed-${id}`;
  const root = `ml/${project}`;
  let ws: Workspace;

  const generate = (...args: string[]) =>
    ws.nx(['g', '@ml/docker:images', ...args], { allowFail: true });
  const gitStatus = () =>
    run('git', ['status', '--porcelain', '--untracked-files=all'], {
      cwd: ws.root,
    }).stdout;
  const read = (path: string) => readFileSync(join(ws.root, path));

  /** Runs `act` and checks the whole tree (and git's view of it) did not move. */
  const expectNothingWritten = (act: () => void) => {
    const statusBefore = gitStatus();
    const treeBefore = snapshot(ws.root);
    const nxJsonBefore = read('nx.json');
    act();
    expect(snapshot(ws.root)).toEqual(treeBefore);
    expect(read('nx.json').equals(nxJsonBefore)).toBe(true);
    expect(gitStatus()).toBe(statusBefore);
  };

  beforeAll(() => {
    ws = freshWorkspace();
    ws.write(
      `${root}/project.json`,
      JSON.stringify({ name: project, root, projectType: 'application' }),
    );
    ws.write(`${root}/requirements.txt`, 'fastapi==0.110.0\nuvicorn==0.29.0\n');
    ws.write(`${root}/src/__init__.py`, '');
    ws.write(
      `${root}/src/serve/app.py`,
      'from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get("/health")\ndef health():\n    return {"status": "ok"}\n',
    );
    // A training entry the inspection recognizes: a script with a main guard.
    ws.write(`${root}/src/model/train.py`, TRAIN_PY);
    // A project with sources but no dependency list: nothing to pip install.
    ws.write(
      `ml/${bare}/project.json`,
      JSON.stringify({ name: bare, root: `ml/${bare}` }),
    );
    ws.write(`ml/${bare}/src/model/train.py`, 'print("training")\n');
    // A project that already has an inference Dockerfile of its own.
    ws.write(
      `ml/${handmade}/project.json`,
      JSON.stringify({ name: handmade, root: `ml/${handmade}` }),
    );
    ws.write(`ml/${handmade}/requirements.txt`, 'fastapi\nuvicorn\n');
    ws.write(`ml/${handmade}/src/__init__.py`, '');
    ws.write(
      `ml/${handmade}/src/serve/app.py`,
      'from fastapi import FastAPI\n\napp = FastAPI()\n',
    );
    ws.write(`ml/${handmade}/src/model/train.py`, TRAIN_PY);
    ws.write(
      `ml/${handmade}/docker/inference/Dockerfile`,
      'FROM python:3.10-slim\n# ours, written by hand\nCMD ["python", "-m", "src.serve.app"]\n',
    );
    // An app with nothing to probe for liveness: no /health-like route, its
    // OpenAPI document off, and its only GET route takes a parameter.
    ws.write(
      `ml/${unprobed}/project.json`,
      JSON.stringify({ name: unprobed, root: `ml/${unprobed}` }),
    );
    ws.write(`ml/${unprobed}/requirements.txt`, 'fastapi\nuvicorn\n');
    ws.write(`ml/${unprobed}/svc/__init__.py`, '');
    ws.write(
      `ml/${unprobed}/svc/main.py`,
      [
        'from fastapi import FastAPI',
        '',
        'app = FastAPI(openapi_url=None)',
        '',
        '',
        '@app.get("/items/{item_id}")',
        'def item(item_id: int):',
        '    return {"id": item_id}',
        '',
        '',
        '@app.post("/predict")',
        'def predict(x: dict):',
        '    return x',
        '',
      ].join('\n'),
    );
    ws.write(`ml/${unprobed}/train.py`, TRAIN_PY);
    ws.commitAll('four python projects');
  });

  afterAll(() => ws?.dispose());

  describe('bad input, refused before anything is rendered', () => {
    const p = `--project=${project}`;
    // [what, arguments, row, what the line quotes back]
    const cases: Array<[string, string[], FailureModeId, string]> = [
      [
        'an unknown project',
        [`--project=nope-${id}`],
        'generator.unknown-project',
        `Project "nope-${id}"`,
      ],
      [
        'a project without requirements.txt, pyproject.toml or setup.py',
        [`--project=${bare}`],
        'generator.nothing-to-install',
        `Project "${bare}" has nothing to install: no requirements.txt, pyproject.toml or setup.py in ml/${bare}.`,
      ],
      ['port 0', [p, '--port=0'], 'generator.invalid-port', '(got 0)'],
      [
        'port 70000',
        [p, '--port=70000'],
        'generator.invalid-port',
        '(got 70000)',
      ],
      ['port -1', [p, '--port=-1'], 'generator.invalid-port', '(got -1)'],
      ['port 1.5', [p, '--port=1.5'], 'generator.invalid-port', '(got 1.5)'],
      // nx turns an empty value into 0 before the generator sees it.
      ['an empty port', [p, '--port='], 'generator.invalid-port', '(got 0)'],
      [
        'health path "health"',
        [p, '--healthPath=health'],
        'generator.invalid-health-path',
        '(got "health")',
      ],
      [
        'health path "/he alth"',
        [p, '--healthPath=/he alth'],
        'generator.invalid-health-path',
        '(got "/he alth")',
      ],
      [
        'base image "python:3.10 slim"',
        [p, '--baseImage=python:3.10 slim'],
        'generator.invalid-base-image',
        '--baseImage "python:3.10 slim"',
      ],
      [
        'base image "Python:3.10;rm -rf /"',
        [p, '--baseImage=Python:3.10;rm -rf /'],
        'generator.invalid-base-image',
        '--baseImage "Python:3.10;rm -rf /"',
      ],
      [
        'base image "img:tag$(id)"',
        [p, '--baseImage=img:tag$(id)'],
        'generator.invalid-base-image',
        '--baseImage "img:tag$(id)"',
      ],
      [
        'an app with no GET route to probe for liveness and no --healthPath',
        [`--project=${unprobed}`],
        'generator.no-liveness-path',
        'svc.main:app serves no GET route',
      ],
    ];

    it.each(cases)('refuses %s', (_what, args, mode, quoted) => {
      expectNothingWritten(() => {
        const r = generate(...args);
        expectFailure(r, mode);
        expect(r.all).toContain(quoted);
      });
    });

    // A word where a number belongs never reaches the generator: nx's own
    // schema check answers first, in its own words.
    it.each(['abc', 'NaN', 'true'])(
      'leaves port "%s" to nx, which refuses it against the schema',
      (value) => {
        expectNothingWritten(() => {
          const r = generate(p, `--port=${value}`);
          expect(r.status).toBe(1);
          expect(r.all).toContain(
            `Property 'port' does not match the schema. '${value}' should be a 'integer'.`,
          );
        });
      },
    );
  });

  describe('a generated file edited by hand', () => {
    const inference = `${root}/docker/inference/Dockerfile`;
    const training = [
      `${root}/docker/training/Dockerfile`,
      `${root}/docker/training/entrypoint.sh`,
    ];
    const generated: Record<string, Buffer> = {};
    let firstRun: Record<string, string>;

    it('is generated once, with the plugin registered in nx.json', () => {
      const r = generate(`--project=${project}`);
      expect(r.status).toBe(0);
      for (const file of [inference, ...training, `${root}/.dockerignore`])
        generated[file] = read(file);
      expect(JSON.parse(read('nx.json').toString()).plugins).toContain(
        '@ml/docker',
      );
      firstRun = snapshot(ws.root);
      ws.commitAll('generated images');
    });

    it('is kept, and nothing else written, when a rerun without --overwrite has to create files too', () => {
      ws.write(
        inference,
        `${generated[inference]}# tuned by hand: keep this line\nENV WORKERS=4\n`,
      );
      // Deleted, so the rerun renders new training files before it reaches
      // the edited Dockerfile: the refusal comes midway.
      rmSync(join(ws.root, root, 'docker', 'training'), { recursive: true });
      ws.commitAll('hand edit, training dropped');
      const edited = read(inference);

      expectNothingWritten(() => {
        const r = generate(`--project=${project}`);
        expectFailure(r, 'generator.edited-file');
        expect(r.all).toContain(
          `${inference} was edited since it was generated`,
        );
      });
      expect(read(inference).equals(edited)).toBe(true);
      for (const file of training)
        expect(existsSync(join(ws.root, file))).toBe(false);
      expect(gitStatus()).toBe('');
    });

    it('is replaced, and the missing files written again, with --overwrite', () => {
      const r = generate(`--project=${project}`, '--overwrite');
      expect(r.status).toBe(0);
      expect(read(inference).toString()).not.toContain('tuned by hand');
      for (const [file, content] of Object.entries(generated))
        expect(read(file).equals(content)).toBe(true);
      // The whole tree back to exactly what the first run generated.
      expect(snapshot(ws.root)).toEqual(firstRun);
    });
  });

  describe('a Dockerfile written by hand, not by the generator', () => {
    const dockerfile = `ml/${handmade}/docker/inference/Dockerfile`;

    it('is kept, with its own refusal, and nothing else written', () => {
      const before = read(dockerfile);
      expectNothingWritten(() => {
        const r = generate(`--project=${handmade}`);
        expectFailure(r, 'generator.hand-written-file');
        expect(r.all).toContain(
          `${dockerfile} was written by hand, not by @ml/docker:images`,
        );
        // The way out that keeps it: generate only the other image.
        expect(r.all).toContain('--image=training');
      });
      expect(read(dockerfile).equals(before)).toBe(true);
      expect(
        existsSync(join(ws.root, 'ml', handmade, 'docker', 'training')),
      ).toBe(false);
    });
  });
});
