import {
  addProjectConfiguration,
  formatFiles,
  readNxJson,
  readProjectConfiguration,
  Tree,
  updateNxJson,
  updateProjectConfiguration,
} from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { declaredArgs, imageUses } from '../../lib/dockerfile';
import { needsBuildKit } from '../../lib/engine';
import { UserFacingError } from '../../lib/errors';
import { fullName } from '../../lib/image-ref';
import { imageRepository } from '../../lib/project-images';
import { findFastApiApp, imagesGenerator } from './images';
import { ImagesGeneratorSchema } from './schema';

jest.mock('@nx/devkit', () => ({
  ...jest.requireActual('@nx/devkit'),
  formatFiles: jest.fn(async () => undefined),
}));

const ROOT = 'apps/synth';
const TRAINING = `${ROOT}/docker/training/Dockerfile`;
const ENTRYPOINT = `${ROOT}/docker/training/entrypoint.sh`;
const INFERENCE = `${ROOT}/docker/inference/Dockerfile`;
const DOCKERIGNORE = `${ROOT}/.dockerignore`;
const GENERATED = [TRAINING, ENTRYPOINT, INFERENCE, DOCKERIGNORE];

const APP_PY = `from fastapi import FastAPI

app = FastAPI(title="synth")


@app.get("/health")
def health():
    return {"status": "ok"}
`;

/** The files of a small Python ML project; null leaves a file out. */
const PROJECT_FILES: Record<string, string> = {
  'requirements.txt':
    'fastapi==0.115.0\nuvicorn==0.30.6\nscikit-learn==1.5.2\n',
  'src/__init__.py': '',
  'src/model/__init__.py': '',
  'src/model/train.py':
    'def main():\n    pass\n\n\nif __name__ == "__main__":\n    main()\n',
  'src/serve/__init__.py': '',
  'src/serve/app.py': APP_PY,
  'params.yaml': 'train:\n  seed: 42\n',
  'dvc.yaml': 'stages:\n  train:\n    cmd: python -m src.model.train\n',
};

function mlWorkspace(
  files: Record<string, string | null> = {},
  targets = {},
): Tree {
  const tree = createTreeWithEmptyWorkspace();
  addProjectConfiguration(tree, 'synth', {
    root: ROOT,
    projectType: 'application',
    targets,
  });
  for (const [path, content] of Object.entries({
    ...PROJECT_FILES,
    ...files,
  })) {
    if (content !== null) tree.write(`${ROOT}/${path}`, content);
  }
  return tree;
}

/** A workspace library; with its artifact image unless `artifactImage` is false. */
function addLib(tree: Tree, name: string, artifactImage = true): void {
  const root = `libs/${name}`;
  addProjectConfiguration(tree, name, { root, projectType: 'library' });
  tree.write(`${root}/${name.replace(/-/g, '_')}/__init__.py`, '');
  if (artifactImage) {
    tree.write(
      `${root}/docker/lib/Dockerfile`,
      `FROM scratch\nCOPY ${name.replace(/-/g, '_')}/ /python/${name.replace(/-/g, '_')}/\n`,
    );
  }
}

/** Every change the tree holds, with content: equal before and after means nothing was written. */
function changes(tree: Tree) {
  return tree.listChanges().map((c) => ({
    path: c.path,
    type: c.type,
    content: c.content?.toString('utf-8'),
  }));
}

function read(tree: Tree, path: string): string {
  const text = tree.read(path, 'utf-8');
  if (text === null) throw new Error(`${path} was not written`);
  return text;
}

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (
      current === '' &&
      (line.trim() === '' || line.trimStart().startsWith('#'))
    )
      continue;
    const continued = line.endsWith('\\');
    current +=
      (current ? ' ' : '') + (continued ? line.slice(0, -1) : line).trim();
    if (continued) continue;
    const [, keyword, args] = current.match(/^(\S+)\s*(.*)$/)!;
    out.push({ keyword: keyword.toUpperCase(), args });
    current = '';
  }
  return out;
}

const argsOf = (text: string, keyword: string) =>
  instructions(text)
    .filter((i) => i.keyword === keyword)
    .map((i) => i.args);

/** Whether a .dockerignore keeps `path` out of the build context, by Docker's rules (last match wins). */
function dockerIgnores(dockerignore: string, path: string): boolean {
  const toRegExp = (pattern: string) => {
    let re = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i];
      if (pattern.startsWith('**/', i)) {
        re += '(?:.*/)?';
        i += 2;
      } else if (pattern.startsWith('**', i)) {
        re += '.*';
        i += 1;
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else if (c === '[') {
        const end = pattern.indexOf(']', i);
        re += pattern.slice(i, end + 1);
        i = end;
      } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
  };
  let ignored = false;
  for (const raw of dockerignore.split('\n').map((l) => l.trim())) {
    if (!raw || raw.startsWith('#')) continue;
    const negated = raw.startsWith('!');
    const re = toRegExp(
      (negated ? raw.slice(1) : raw).replace(/^\/+/, '').replace(/\/+$/, ''),
    );
    const parts = path.split('/');
    // A pattern that matches a folder excludes everything in it.
    if (parts.some((_p, i) => re.test(parts.slice(0, i + 1).join('/'))))
      ignored = !negated;
  }
  return ignored;
}

async function generate(
  tree: Tree,
  options: Partial<ImagesGeneratorSchema> = {},
) {
  await imagesGenerator(tree, { project: 'synth', ...options });
}

describe('images generator', () => {
  beforeEach(() => jest.mocked(formatFiles).mockClear());

  describe('with the defaults', () => {
    let tree: Tree;
    let setup: ReturnType<typeof changes>;
    let training: string;
    let inference: string;

    beforeAll(async () => {
      tree = mlWorkspace();
      setup = changes(tree);
      await generate(tree);
      training = read(tree, TRAINING);
      inference = read(tree, INFERENCE);
    });

    it('writes the two Dockerfiles, the entrypoint and .dockerignore, registers the plugin in nx.json and nothing else', () => {
      const written = changes(tree)
        .filter(
          (c) =>
            !setup.some((s) => s.path === c.path && s.content === c.content),
        )
        .map((c) => c.path);
      expect(written.sort()).toEqual([...GENERATED, 'nx.json'].sort());
    });

    it.each([
      ['training', () => training],
      ['inference', () => inference],
    ])(
      'the %s Dockerfile runs as the numeric non-root user 10001:10001',
      (_kind, text) => {
        expect(argsOf(text(), 'USER')).toEqual(['10001:10001']);
      },
    );

    it.each([
      ['training', () => training],
      ['inference', () => inference],
    ])(
      'the %s Dockerfile defaults BASE_IMAGE to python:3.10-slim, declared before any stage',
      (_kind, text) => {
        expect(instructions(text())[0]).toEqual({
          keyword: 'ARG',
          args: 'BASE_IMAGE=python:3.10-slim',
        });
        expect(declaredArgs(text()).has('BASE_IMAGE')).toBe(true);
      },
    );

    it.each([
      ['training', () => training],
      ['inference', () => inference],
    ])(
      'the %s Dockerfile has a builder stage and a runtime stage, both from BASE_IMAGE',
      (_kind, text) => {
        expect(argsOf(text(), 'FROM')).toEqual([
          '${BASE_IMAGE} AS builder',
          '${BASE_IMAGE} AS runtime',
        ]);
      },
    );

    it.each([
      ['training', () => training],
      ['inference', () => inference],
    ])(
      'the %s Dockerfile copies requirements.txt before the sources, so dependency layers stay cached',
      (_kind, text) => {
        const copies = argsOf(text(), 'COPY');
        const requirements = copies.indexOf('requirements.txt ./');
        const sources = copies.indexOf('--chown=10001:10001 src/ ./src/');
        expect(requirements).toBeGreaterThanOrEqual(0);
        expect(sources).toBeGreaterThan(requirements);
        expect(argsOf(text(), 'RUN')).toContain(
          '/opt/venv/bin/pip install -r requirements.txt',
        );
      },
    );

    it.each([
      ['training', () => training],
      ['inference', () => inference],
    ])('the %s Dockerfile builds without BuildKit', (_kind, text) => {
      expect(needsBuildKit(text())).toBeUndefined();
    });

    it.each([
      ['training', () => training, 'synth-training'],
      ['inference', () => inference, 'synth-inference'],
    ])('the %s Dockerfile titles the image %s', (_kind, text, title) => {
      expect(argsOf(text(), 'LABEL')[0]).toContain(
        `org.opencontainers.image.title="${title}"`,
      );
    });

    it('the inference Dockerfile exposes port 8000 and defaults PORT to it', () => {
      expect(argsOf(inference, 'EXPOSE')).toEqual(['8000']);
      expect(argsOf(inference, 'ENV').join(' ')).toContain('PORT=8000');
    });

    it('the inference Dockerfile has a HEALTHCHECK on /health that needs no curl', () => {
      const [healthcheck] = argsOf(inference, 'HEALTHCHECK');
      const prefix =
        '--interval=30s --timeout=30s --start-period=5s --retries=3 CMD ';
      expect(healthcheck.startsWith(prefix)).toBe(true);
      const command = JSON.parse(healthcheck.slice(prefix.length));
      expect(command).toEqual([
        'python',
        '-c',
        "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health', timeout=10)",
      ]);
      expect(healthcheck).not.toMatch(/curl|wget/);
    });

    it('the inference Dockerfile runs the detected FastAPI app with an exec-form CMD', () => {
      const cmd = argsOf(inference, 'CMD');
      expect(cmd).toHaveLength(1);
      expect(JSON.parse(cmd[0])).toEqual([
        '/bin/sh',
        '-c',
        'exec python -m uvicorn src.serve.app:app --host 0.0.0.0 --port "${PORT:-8000}"',
      ]);
    });

    it('the inference Dockerfile bakes in models/', () => {
      expect(argsOf(inference, 'COPY')).toContain(
        '--chown=10001:10001 models/ ./models/',
      );
    });

    it('the training Dockerfile runs the training module through the entrypoint, in exec form', () => {
      expect(argsOf(training, 'ENTRYPOINT').map((a) => JSON.parse(a))).toEqual([
        ['/bin/sh', '/usr/local/bin/ml-entrypoint'],
      ]);
      expect(argsOf(training, 'CMD').map((a) => JSON.parse(a))).toEqual([
        ['python', '-m', 'src.model.train'],
      ]);
      expect(argsOf(training, 'COPY')).toContain(
        'docker/training/entrypoint.sh /usr/local/bin/ml-entrypoint',
      );
    });

    it('the training Dockerfile exposes no port and has no HEALTHCHECK', () => {
      expect(argsOf(training, 'EXPOSE')).toEqual([]);
      expect(argsOf(training, 'HEALTHCHECK')).toEqual([]);
    });

    it('the training Dockerfile copies the pipeline files that exist', () => {
      expect(
        argsOf(training, 'COPY').filter((c) =>
          /yaml|lock|configs|\.dvc/.test(c),
        ),
      ).toEqual([
        '--chown=10001:10001 params.yaml ./params.yaml',
        '--chown=10001:10001 dvc.yaml ./dvc.yaml',
      ]);
    });

    it('the entrypoint keeps its shebang first and execs the command', () => {
      const entrypoint = read(tree, ENTRYPOINT);
      expect(entrypoint.split('\n')[0]).toBe('#!/bin/sh');
      expect(entrypoint.split('\n')[1]).toMatch(
        /^# generated by @ml\/docker:images; checksum [0-9a-f]{16}\./,
      );
      expect(entrypoint.trimEnd().endsWith('exec "$@"')).toBe(true);
    });

    it.each(GENERATED)('marks %s as generated', (path) => {
      expect(read(tree, path)).toMatch(
        /^(#!\/bin\/sh\n)?# generated by @ml\/docker:images; checksum [0-9a-f]{16}\./,
      );
    });

    it.each([
      'data/',
      'mlruns/',
      '.dvc/cache',
      '**/.env',
      '**/*.pem',
      '**/*.key',
    ])('.dockerignore lists %s', (line) => {
      expect(read(tree, DOCKERIGNORE).split('\n')).toContain(line);
    });

    it.each([
      'data/raw/train.csv',
      'mlruns/0/meta.yaml',
      '.dvc/cache/ab/cdef0123',
      '.env',
      'src/serve/.env',
      'secrets/tls.pem',
      'deploy/service.key',
      '.git/HEAD',
      'src/serve/__pycache__/app.cpython-310.pyc',
    ])('.dockerignore keeps %s out of the build context', (path) => {
      expect(dockerIgnores(read(tree, DOCKERIGNORE), path)).toBe(true);
    });

    it.each([
      'models/model.joblib',
      'src/serve/app.py',
      'src/model/train.py',
      'requirements.txt',
      'pyproject.toml',
      'docker/training/entrypoint.sh',
      'docker/inference/Dockerfile',
      'params.yaml',
      'dvc.yaml',
      'dvc.lock',
      'configs/train.yaml',
      '.dvc/config',
    ])('.dockerignore keeps %s in the build context', (path) => {
      expect(dockerIgnores(read(tree, DOCKERIGNORE), path)).toBe(false);
    });

    it('registers the plugin @ml/docker in nx.json, which infers docker-build, docker-test and docker-push', () => {
      expect(readNxJson(tree)?.plugins).toEqual(['@ml/docker']);
    });

    it('writes no target into project.json', () => {
      expect(readProjectConfiguration(tree, 'synth').targets).toEqual({});
    });
  });

  describe('options', () => {
    it.each<[string, Partial<ImagesGeneratorSchema>, string]>([
      [
        'pythonVersion picks the python image',
        { pythonVersion: '3.12' },
        'BASE_IMAGE=python:3.12-slim',
      ],
      [
        'baseImage replaces it',
        {
          baseImage:
            'us-central1-docker.pkg.dev/my-proj/mirror/python:3.11-slim',
        },
        'BASE_IMAGE=us-central1-docker.pkg.dev/my-proj/mirror/python:3.11-slim',
      ],
      [
        'baseImage wins over pythonVersion',
        { baseImage: 'python:3.9-slim', pythonVersion: '3.12' },
        'BASE_IMAGE=python:3.9-slim',
      ],
      [
        'baseImage may pin a digest',
        { baseImage: `python:3.10-slim@sha256:${'a'.repeat(64)}` },
        `BASE_IMAGE=python:3.10-slim@sha256:${'a'.repeat(64)}`,
      ],
    ])('%s', async (_label, options, arg) => {
      const tree = mlWorkspace();
      await generate(tree, options);
      for (const file of [TRAINING, INFERENCE])
        expect(argsOf(read(tree, file), 'ARG')[0]).toBe(arg);
    });

    it('port sets EXPOSE, the PORT default, the CMD and the HEALTHCHECK', async () => {
      const tree = mlWorkspace();
      await generate(tree, { port: 9000 });
      const inference = read(tree, INFERENCE);
      expect(argsOf(inference, 'EXPOSE')).toEqual(['9000']);
      expect(argsOf(inference, 'ENV').join(' ')).toContain('PORT=9000');
      expect(JSON.parse(argsOf(inference, 'CMD')[0])[2]).toContain(
        '--port "${PORT:-9000}"',
      );
      expect(argsOf(inference, 'HEALTHCHECK')[0]).toContain(
        "os.environ.get('PORT', '9000')",
      );
    });

    it('healthPath sets the HEALTHCHECK and the docker-test target', async () => {
      const tree = mlWorkspace();
      await generate(tree, { healthPath: '/api/v1/healthz' });
      expect(argsOf(read(tree, INFERENCE), 'HEALTHCHECK')[0]).toContain(
        "+ '/api/v1/healthz', timeout=10)",
      );
      expect(
        readProjectConfiguration(tree, 'synth').targets!['docker-test'].options,
      ).toEqual({
        service: { healthPath: '/api/v1/healthz' },
      });
    });

    it('appModule is used as given, even when the project has several apps', async () => {
      const tree = mlWorkspace({
        'src/admin.py': 'from fastapi import FastAPI\nadmin = FastAPI()\n',
      });
      await generate(tree, { appModule: 'src.serve.app:app' });
      expect(JSON.parse(argsOf(read(tree, INFERENCE), 'CMD')[0])[2]).toContain(
        'uvicorn src.serve.app:app ',
      );
    });

    it('appModule needs no FastAPI app to be found', async () => {
      const tree = mlWorkspace({
        'src/serve/app.py': 'application = make_app()\n',
      });
      await generate(tree, { appModule: 'src.serve.app:application' });
      expect(JSON.parse(argsOf(read(tree, INFERENCE), 'CMD')[0])[2]).toContain(
        'uvicorn src.serve.app:application ',
      );
    });

    it('trainingModule sets the training CMD', async () => {
      const tree = mlWorkspace({ 'src/pipelines/fit.py': 'print("fit")\n' });
      await generate(tree, { trainingModule: 'src.pipelines.fit' });
      expect(
        argsOf(read(tree, TRAINING), 'CMD').map((a) => JSON.parse(a)),
      ).toEqual([['python', '-m', 'src.pipelines.fit']]);
    });

    it('an explicit trainingModule is not checked for existence', async () => {
      const tree = mlWorkspace({ 'src/model/train.py': null });
      await generate(tree, { trainingModule: 'pipelines.not_here' });
      expect(
        argsOf(read(tree, TRAINING), 'CMD').map((a) => JSON.parse(a)),
      ).toEqual([['python', '-m', 'pipelines.not_here']]);
    });

    it('user names the account; USER stays numeric', async () => {
      const tree = mlWorkspace();
      await generate(tree, { user: 'svc-ml' });
      for (const file of [TRAINING, INFERENCE]) {
        const text = read(tree, file);
        expect(argsOf(text, 'RUN').join('\n')).toContain(
          'groupadd --gid 10001 svc-ml && useradd --uid 10001 --gid 10001',
        );
        expect(argsOf(text, 'USER')).toEqual(['10001:10001']);
      }
      expect(argsOf(read(tree, TRAINING), 'ENV').join(' ')).toContain(
        'HOME=/home/svc-ml',
      );
    });

    it.each([1000, 20000])(
      'uid %i sets USER, the account and the file ownership',
      async (uid) => {
        const tree = mlWorkspace();
        await generate(tree, { uid });
        for (const file of [TRAINING, INFERENCE]) {
          const text = read(tree, file);
          expect(argsOf(text, 'USER')).toEqual([`${uid}:${uid}`]);
          expect(argsOf(text, 'RUN').join('\n')).toContain(
            `useradd --uid ${uid} --gid ${uid}`,
          );
          expect(argsOf(text, 'COPY')).toContain(
            `--chown=${uid}:${uid} src/ ./src/`,
          );
          expect(text).not.toContain('10001');
        }
      },
    );

    it.each([
      [false, 1],
      [true, 0],
    ])(
      'skipFormat %s formats the files %i time(s)',
      async (skipFormat, calls) => {
        const tree = mlWorkspace();
        await generate(tree, { skipFormat });
        expect(formatFiles).toHaveBeenCalledTimes(calls);
        if (calls) expect(formatFiles).toHaveBeenCalledWith(tree);
      },
    );

    it('formats the files by default', async () => {
      const tree = mlWorkspace();
      await generate(tree);
      expect(formatFiles).toHaveBeenCalledWith(tree);
    });
  });

  describe('image', () => {
    it('training writes no inference Dockerfile, no target, and needs no FastAPI app', async () => {
      const tree = mlWorkspace({
        'src/serve/app.py': null,
        'src/serve/__init__.py': null,
      });
      await generate(tree, { image: 'training' });
      expect(tree.exists(INFERENCE)).toBe(false);
      expect(tree.exists(`${ROOT}/docker/inference`)).toBe(false);
      expect(tree.exists(TRAINING)).toBe(true);
      expect(tree.exists(ENTRYPOINT)).toBe(true);
      expect(tree.exists(DOCKERIGNORE)).toBe(true);
      expect(readProjectConfiguration(tree, 'synth').targets).toEqual({});
    });

    it('training ignores an invalid appModule', async () => {
      const tree = mlWorkspace();
      await expect(
        generate(tree, { image: 'training', appModule: 'not a module' }),
      ).resolves.toBeUndefined();
    });

    it('inference writes no training files, no target, and needs no training module', async () => {
      const tree = mlWorkspace({ 'src/model/train.py': null });
      await generate(tree, { image: 'inference' });
      expect(tree.exists(TRAINING)).toBe(false);
      expect(tree.exists(ENTRYPOINT)).toBe(false);
      expect(tree.exists(`${ROOT}/docker/training`)).toBe(false);
      expect(tree.exists(INFERENCE)).toBe(true);
      expect(tree.exists(DOCKERIGNORE)).toBe(true);
      expect(readProjectConfiguration(tree, 'synth').targets).toEqual({});
    });

    it('all writes both images', async () => {
      const tree = mlWorkspace();
      await generate(tree, { image: 'all' });
      expect(GENERATED.every((f) => tree.exists(f))).toBe(true);
    });
  });

  describe('what to install', () => {
    it('installs a pyproject-only project with pip install .', async () => {
      const tree = mlWorkspace({
        'requirements.txt': null,
        'pyproject.toml': '[project]\nname = "synth"\nversion = "0.1.0"\n',
      });
      await generate(tree);
      for (const file of [TRAINING, INFERENCE]) {
        const text = read(tree, file);
        const copies = argsOf(text, 'COPY');
        expect(copies.slice(0, 2)).toEqual([
          'pyproject.toml ./',
          'src/ ./src/',
        ]);
        expect(argsOf(text, 'RUN')).toContain('/opt/venv/bin/pip install .');
        expect(
          instructions(text).some((i) => i.args.includes('requirements.txt')),
        ).toBe(false);
      }
    });

    it('prefers requirements.txt when both exist', async () => {
      const tree = mlWorkspace({
        'pyproject.toml': '[project]\nname = "synth"\n',
      });
      await generate(tree);
      expect(argsOf(read(tree, TRAINING), 'COPY')[0]).toBe(
        'requirements.txt ./',
      );
      expect(argsOf(read(tree, TRAINING), 'RUN')).not.toContain(
        '/opt/venv/bin/pip install .',
      );
    });
  });

  describe('pipeline files', () => {
    it.each<[string, Record<string, string | null>, string[]]>([
      ['none', { 'params.yaml': null, 'dvc.yaml': null }, []],
      ['params.yaml only', { 'dvc.yaml': null }, ['params.yaml']],
      [
        'all of them',
        {
          'dvc.lock': 'schema: "2.0"\n',
          'configs/train.yaml': 'lr: 0.1\n',
          '.dvc/config': '[core]\n    remote = r\n',
        },
        ['params.yaml', 'dvc.yaml', 'dvc.lock', 'configs', '.dvc/config'],
      ],
    ])('copies %s into the training image', async (_label, files, copied) => {
      const tree = mlWorkspace(files);
      await generate(tree);
      const copies = argsOf(read(tree, TRAINING), 'COPY');
      const pipeline = copies.filter(
        (c) => c.startsWith('--chown=') && !c.includes(' src/ '),
      );
      expect(pipeline).toEqual(
        copied.map((f) => `--chown=10001:10001 ${f} ./${f}`),
      );
      expect(copies.indexOf('--chown=10001:10001 src/ ./src/')).toBeGreaterThan(
        -1,
      );
    });
  });

  describe('refusals', () => {
    it.each<
      [
        string,
        Partial<ImagesGeneratorSchema>,
        Record<string, string | null>,
        string,
      ]
    >([
      [
        'an unknown project',
        { project: 'nope' },
        {},
        'Project "nope" does not exist in this workspace. Check the name with: nx show projects',
      ],
      [
        'an unknown image',
        { image: 'both' as never },
        {},
        '--image must be all, training or inference (got "both").',
      ],
      [
        'a project with neither requirements.txt nor pyproject.toml',
        {},
        { 'requirements.txt': null },
        'Project "synth" has nothing to install: no requirements.txt or pyproject.toml in apps/synth.',
      ],
      [
        'port 0',
        { port: 0 },
        {},
        '--port must be an integer from 1 to 65535 (got 0).',
      ],
      [
        'port 70000',
        { port: 70000 },
        {},
        '--port must be an integer from 1 to 65535 (got 70000).',
      ],
      [
        'port 1.5',
        { port: 1.5 },
        {},
        '--port must be an integer from 1 to 65535 (got 1.5).',
      ],
      [
        'port -1',
        { port: -1 },
        {},
        '--port must be an integer from 1 to 65535 (got -1).',
      ],
      [
        'a healthPath without a leading slash',
        { healthPath: 'health' },
        {},
        '--healthPath must start with / and hold only letters, digits and . _ ~ - / (got "health").',
      ],
      [
        'a healthPath with spaces',
        { healthPath: '/he alth' },
        {},
        '--healthPath must start with / and hold only letters, digits and . _ ~ - / (got "/he alth").',
      ],
      [
        'a healthPath with $(x)',
        { healthPath: '/$(x)' },
        {},
        '--healthPath must start with / and hold only letters, digits and . _ ~ - / (got "/$(x)").',
      ],
      [
        'a healthPath with a quote',
        { healthPath: "/h'+'x" },
        {},
        `--healthPath must start with / and hold only letters, digits and . _ ~ - / (got "/h'+'x").`,
      ],
      [
        'an empty healthPath',
        { healthPath: '' },
        {},
        '--healthPath must start with / and hold only letters, digits and . _ ~ - / (got "").',
      ],
      [
        'pythonVersion 3',
        { pythonVersion: '3' },
        {},
        '--pythonVersion must look like 3.10 (got "3").',
      ],
      [
        'pythonVersion 2.7',
        { pythonVersion: '2.7' },
        {},
        '--pythonVersion must look like 3.10 (got "2.7").',
      ],
      [
        'pythonVersion 3.10.4',
        { pythonVersion: '3.10.4' },
        {},
        '--pythonVersion must look like 3.10 (got "3.10.4").',
      ],
      [
        'pythonVersion latest',
        { pythonVersion: 'latest' },
        {},
        '--pythonVersion must look like 3.10 (got "latest").',
      ],
      [
        'a baseImage with a space',
        { baseImage: 'python 3.10' },
        {},
        '--baseImage "python 3.10" is not an image reference',
      ],
      [
        'a baseImage with a shell command',
        { baseImage: 'python:3.10;rm -rf /' },
        {},
        '--baseImage "python:3.10;rm -rf /" is not an image reference',
      ],
      [
        'a baseImage with $(x)',
        { baseImage: '$(x)' },
        {},
        '--baseImage "$(x)" is not an image reference',
      ],
      [
        'a baseImage starting with a dash',
        { baseImage: '-python' },
        {},
        '--baseImage "-python" is not an image reference',
      ],
      [
        'a baseImage with a short digest',
        { baseImage: 'python@sha256:abc' },
        {},
        '--baseImage "python@sha256:abc" is not an image reference',
      ],
      [
        'an empty baseImage',
        { baseImage: '' },
        {},
        '--baseImage "" is not an image reference',
      ],
      [
        'an uppercase user',
        { user: 'MLUser' },
        {},
        '--user must be a valid Linux user name such as mluser (got "MLUser").',
      ],
      [
        'a user starting with a digit',
        { user: '1ml' },
        {},
        '--user must be a valid Linux user name such as mluser (got "1ml").',
      ],
      [
        'a user with a space',
        { user: 'ml user' },
        {},
        '--user must be a valid Linux user name such as mluser (got "ml user").',
      ],
      [
        'a 33-character user',
        { user: 'a'.repeat(33) },
        {},
        `--user must be a valid Linux user name such as mluser (got "${'a'.repeat(33)}").`,
      ],
      [
        'uid 999',
        { uid: 999 },
        {},
        '--uid must be a number of at least 1000, so the user is not a system or root account (got 999).',
      ],
      [
        'uid 0',
        { uid: 0 },
        {},
        '--uid must be a number of at least 1000, so the user is not a system or root account (got 0).',
      ],
      [
        'uid 10001.5',
        { uid: 10001.5 },
        {},
        '--uid must be a number of at least 1000, so the user is not a system or root account (got 10001.5).',
      ],
      [
        'a trainingModule given as a path',
        { trainingModule: 'src/model/train' },
        {},
        '--trainingModule must be a dotted Python module such as src.model.train (got "src/model/train").',
      ],
      [
        'a trainingModule with a function',
        { trainingModule: 'src.model.train:main' },
        {},
        '--trainingModule must be a dotted Python module such as src.model.train (got "src.model.train:main").',
      ],
      [
        'a trainingModule ending in a dot',
        { trainingModule: 'src.model.' },
        {},
        '--trainingModule must be a dotted Python module such as src.model.train (got "src.model.").',
      ],
      [
        'an appModule without an attribute',
        { appModule: 'src.serve.app' },
        {},
        '--appModule must look like package.module:app (got "src.serve.app").',
      ],
      [
        'an appModule given as a path',
        { appModule: 'src/serve/app:app' },
        {},
        '--appModule must look like package.module:app (got "src/serve/app:app").',
      ],
      [
        'an appModule that is a call',
        { appModule: 'src.serve.app:create_app()' },
        {},
        '--appModule must look like package.module:app (got "src.serve.app:create_app()").',
      ],
      [
        'a project without a FastAPI app',
        {},
        {
          'src/serve/app.py':
            'from flask import Flask\napp = Flask(__name__)\n',
        },
        'No FastAPI app found in project "synth" (looked for "app = FastAPI(" in its .py files). Pass --appModule=package.module:app, or --image=training.',
      ],
      [
        'a project without the default training module',
        {},
        { 'src/model/train.py': null },
        'The training module src.model.train does not exist (apps/synth/src/model/train.py). Pass --trainingModule=<package.module>, or --image=inference for a serving-only project.',
      ],
      [
        'a project without a src/ folder',
        { appModule: 'app:app' },
        Object.fromEntries(
          Object.keys(PROJECT_FILES)
            .filter((f) => f.startsWith('src/'))
            .map((f) => [f, null]),
        ),
        'Project "synth" has no src/ folder in apps/synth: the images copy the Python sources from there.',
      ],
    ])(
      'refuses %s and writes nothing',
      async (_label, options, files, message) => {
        const tree = mlWorkspace(files);
        const before = changes(tree);
        const error = await generate(tree, options).catch((e) => e);
        expect(error).toBeInstanceOf(UserFacingError);
        expect(error.message).toContain(message);
        expect(changes(tree)).toEqual(before);
        expect(formatFiles).not.toHaveBeenCalled();
      },
    );

    it('refuses a project with two FastAPI apps, naming both, and writes nothing', async () => {
      const tree = mlWorkspace({
        'src/api/main.py': 'import fastapi\n\napi = fastapi.FastAPI()\n',
      });
      const before = changes(tree);
      const error = await generate(tree).catch((e) => e);
      expect(error).toBeInstanceOf(UserFacingError);
      expect(error.message).toMatch(
        /^Project "synth" has several FastAPI apps \(.+\)\. Choose one with --appModule\.$/,
      );
      expect(error.message).toContain('src.serve.app:app');
      expect(error.message).toContain('src.api.main:api');
      expect(changes(tree)).toEqual(before);
    });
  });

  describe('findFastApiApp', () => {
    it.each([
      ['a project at the workspace root', '.', 'src/serve/app.py'],
      [
        'a project under a folder named test',
        'libs/test/synth',
        'libs/test/synth/src/serve/app.py',
      ],
    ])('finds the app of %s', (_what, root, file) => {
      const tree = createTreeWithEmptyWorkspace();
      tree.write(file, 'from fastapi import FastAPI\napp = FastAPI()\n');
      expect(findFastApiApp(tree, root, 'p')).toBe('src.serve.app:app');
    });

    function appsIn(files: Record<string, string>): string {
      const tree = createTreeWithEmptyWorkspace();
      for (const [path, text] of Object.entries(files))
        tree.write(`${ROOT}/${path}`, text);
      return findFastApiApp(tree, ROOT, 'synth');
    }

    it.each<[string, Record<string, string>, string]>([
      [
        'a plain assignment',
        { 'src/serve/app.py': 'app = FastAPI()\n' },
        'src.serve.app:app',
      ],
      [
        'fastapi.FastAPI',
        {
          'src/serve/app.py':
            'import fastapi\nserver = fastapi.FastAPI(title="x")\n',
        },
        'src.serve.app:server',
      ],
      [
        'a type annotation',
        { 'src/serve/app.py': 'app: FastAPI = FastAPI()\n' },
        'src.serve.app:app',
      ],
      [
        'an indented assignment',
        {
          'src/serve/app.py':
            'if NEW:\n    app = FastAPI(lifespan=l)\nelse:\n    app = FastAPI()\n',
        },
        'src.serve.app:app',
      ],
      [
        'a package __init__.py',
        { 'src/api/__init__.py': 'api = FastAPI()\n' },
        'src.api:api',
      ],
      [
        'an app next to tests that also build one',
        {
          'src/serve/app.py': 'app = FastAPI()\n',
          'tests/test_app.py': 'app = FastAPI()\n',
          'src/serve/test/conftest.py': 't = FastAPI()\n',
        },
        'src.serve.app:app',
      ],
      [
        'an app next to a virtualenv',
        {
          'src/serve/app.py': 'app = FastAPI()\n',
          '.venv/lib/site.py': 'x = FastAPI()\n',
          'venv/lib/y.py': 'y = FastAPI()\n',
        },
        'src.serve.app:app',
      ],
    ])('finds the app through %s', (_label, files, found) => {
      expect(appsIn(files)).toBe(found);
    });

    it.each<[string, Record<string, string>]>([
      [
        'a call that is not an assignment',
        { 'src/a.py': 'serve(FastAPI())\n' },
      ],
      ['a comparison', { 'src/a.py': 'ok = app == FastAPI()\n' }],
      ['a non-Python file', { 'src/a.txt': 'app = FastAPI()\n' }],
      ['a commented-out app', { 'src/a.py': '# app = FastAPI()\n' }],
    ])('ignores %s', (_label, files) => {
      expect(() => appsIn(files)).toThrow(
        'No FastAPI app found in project "synth"',
      );
    });
  });

  describe('re-running', () => {
    async function generatedTwice(
      first: Partial<ImagesGeneratorSchema>,
      second: Partial<ImagesGeneratorSchema>,
    ) {
      const tree = mlWorkspace();
      await generate(tree, first);
      const before = Object.fromEntries(
        GENERATED.map((f) => [f, read(tree, f)]),
      );
      await generate(tree, second);
      return { tree, before };
    }

    it('leaves every file as it was when the options are the same', async () => {
      const tree = mlWorkspace();
      await generate(tree);
      const before = changes(tree);
      await generate(tree);
      expect(changes(tree)).toEqual(before);
    });

    it('regenerates a file that was not edited when an option changes', async () => {
      const { tree, before } = await generatedTwice({}, { port: 9000 });
      expect(argsOf(read(tree, INFERENCE), 'EXPOSE')).toEqual(['9000']);
      expect(read(tree, INFERENCE)).not.toBe(before[INFERENCE]);
      expect(read(tree, TRAINING)).toBe(before[TRAINING]);
    });

    it.each(GENERATED)(
      'refuses to replace %s once it was edited by hand, pointing at --overwrite',
      async (path) => {
        const tree = mlWorkspace();
        await generate(tree);
        tree.write(path, `${read(tree, path)}# my own line\n`);
        const error = await generate(tree, { port: 9000 }).catch((e) => e);
        expect(error).toBeInstanceOf(UserFacingError);
        expect(error.message).toBe(
          `${path} was edited since it was generated; it was left as it is and nothing was written. Rerun with --overwrite to replace it (your edits are lost), or merge the changes by hand.`,
        );
      },
    );

    it.each(GENERATED)(
      'leaves every file of the tree untouched when it refuses because %s was edited',
      async (path) => {
        const tree = mlWorkspace();
        await generate(tree);
        tree.write(path, `${read(tree, path)}# my own line\n`);
        const before = Object.fromEntries(
          GENERATED.map((f) => [f, read(tree, f)]),
        );
        await generate(tree, { port: 9000 }).catch(() => undefined);
        expect(
          Object.fromEntries(GENERATED.map((f) => [f, read(tree, f)])),
        ).toEqual(before);
      },
    );

    it('refuses to replace a hand-written Dockerfile that was never generated', async () => {
      const tree = mlWorkspace({
        'docker/inference/Dockerfile':
          'FROM python:3.10-slim\nCMD ["python"]\n',
      });
      await expect(generate(tree)).rejects.toThrow('--overwrite');
    });

    it('replaces an edited file with overwrite', async () => {
      const tree = mlWorkspace();
      await generate(tree, { port: 9000 });
      const pristine = read(tree, INFERENCE);
      tree.write(INFERENCE, `${pristine}RUN echo my own edit\n`);
      await generate(tree, { port: 9000, overwrite: true });
      expect(read(tree, INFERENCE)).toBe(pristine);
    });

    it('writes a generated file again after it was deleted', async () => {
      const tree = mlWorkspace();
      await generate(tree);
      const pristine = read(tree, TRAINING);
      tree.delete(TRAINING);
      await generate(tree);
      expect(read(tree, TRAINING)).toBe(pristine);
    });
  });

  describe('plugin registration', () => {
    const nxJsonPlugins = (tree: Tree) => readNxJson(tree)?.plugins;

    function withPlugins(
      plugins: NonNullable<ReturnType<typeof nxJsonPlugins>>,
    ) {
      const tree = mlWorkspace();
      updateNxJson(tree, { ...readNxJson(tree), plugins });
      return tree;
    }

    it('registers the plugin once, however often the generator runs', async () => {
      const tree = mlWorkspace();
      await generate(tree);
      await generate(tree, { image: 'inference' });
      await generate(tree, { port: 9000 });
      expect(nxJsonPlugins(tree)).toEqual(['@ml/docker']);
    });

    it('adds the plugin after the plugins already registered', async () => {
      const tree = withPlugins([
        '@nx/js/typescript',
        { plugin: '@nx/docker', exclude: ['**/docker/*/Dockerfile'] },
      ]);
      await generate(tree);
      expect(nxJsonPlugins(tree)).toEqual([
        '@nx/js/typescript',
        { plugin: '@nx/docker', exclude: ['**/docker/*/Dockerfile'] },
        '@ml/docker',
      ]);
    });

    it.each<[string, NonNullable<ReturnType<typeof nxJsonPlugins>>]>([
      ['by name', ['@nx/js/typescript', '@ml/docker']],
      [
        'with options',
        [{ plugin: '@ml/docker', options: { buildTargetName: 'image-build' } }],
      ],
    ])(
      'leaves nx.json as it is when the plugin is already registered %s',
      async (_label, plugins) => {
        const tree = withPlugins(plugins);
        const before = tree.read('nx.json', 'utf-8');
        await generate(tree);
        expect(tree.read('nx.json', 'utf-8')).toBe(before);
        expect(nxJsonPlugins(tree)).toEqual(plugins);
      },
    );
  });

  describe('targets', () => {
    const userBuild = {
      executor: 'nx:run-commands',
      options: { command: 'docker build -t synth .' },
    };
    const train = {
      executor: 'nx:run-commands',
      options: { command: 'dvc repro' },
    };

    it.each([
      ['the default health path', {}],
      ['an explicit /health', { healthPath: '/health' }],
    ])(
      'leaves the targets of project.json as they are with %s',
      async (_label, options) => {
        const tree = mlWorkspace({}, { 'docker-build': userBuild, train });
        const before = tree.read(`${ROOT}/project.json`, 'utf-8');
        await generate(tree, options);
        expect(tree.read(`${ROOT}/project.json`, 'utf-8')).toBe(before);
        expect(readProjectConfiguration(tree, 'synth').targets).toEqual({
          'docker-build': userBuild,
          train,
        });
      },
    );

    it('writes only the health path into docker-test when it differs from /health', async () => {
      const tree = mlWorkspace({}, { 'docker-build': userBuild, train });
      await generate(tree, { healthPath: '/healthz' });
      expect(readProjectConfiguration(tree, 'synth').targets).toEqual({
        'docker-build': userBuild,
        train,
        'docker-test': { options: { service: { healthPath: '/healthz' } } },
      });
    });

    it("merges the health path into the user's docker-test target", async () => {
      const tree = mlWorkspace(
        {},
        {
          'docker-test': {
            executor: '@ml/docker:test',
            dependsOn: ['docker-build'],
            options: {
              allowRoot: true,
              service: {
                timeout: 300,
                healthPath: '/old',
                smoke: [{ path: '/ready' }],
              },
              job: { env: { TRAIN_N_SAMPLES: '300' } },
            },
          },
        },
      );
      await generate(tree, { healthPath: '/api/v1/healthz' });
      expect(
        readProjectConfiguration(tree, 'synth').targets?.['docker-test'],
      ).toEqual({
        executor: '@ml/docker:test',
        dependsOn: ['docker-build'],
        options: {
          allowRoot: true,
          service: {
            timeout: 300,
            healthPath: '/api/v1/healthz',
            smoke: [{ path: '/ready' }],
          },
          job: { env: { TRAIN_N_SAMPLES: '300' } },
        },
      });
    });

    it.each([
      ['/health', '/healthz'],
      ['/healthz', '/ready'],
    ])(
      'follows a re-run from %s to the new health path %s',
      async (first, second) => {
        const tree = mlWorkspace();
        await generate(tree, { image: 'training', healthPath: first });
        await generate(tree, { image: 'inference', healthPath: second });
        expect(readProjectConfiguration(tree, 'synth').targets).toEqual({
          'docker-test': { options: { service: { healthPath: second } } },
        });
      },
    );
  });

  describe('sharedLibs naming', () => {
    it.each([
      ['ml_common', {}, '127.0.0.1:5000/ml-images/ml_common-lib:latest'],
      [
        'ml-common',
        { repository: 'shared', imageNames: { lib: 'features' } },
        '127.0.0.1:5000/shared/features:latest',
      ],
      [
        'ml-common',
        { registry: 'europe-docker.pkg.dev/p' },
        'europe-docker.pkg.dev/p/ml-images/ml-common-lib:latest',
      ],
    ])(
      'names %s as its own build does (options %j): %s',
      async (lib, buildOptions, ref) => {
        const tree = mlWorkspace();
        addLib(tree, lib);
        const config = readProjectConfiguration(tree, lib);
        updateProjectConfiguration(tree, lib, {
          ...config,
          targets: { 'docker-build': { options: buildOptions } },
        });
        await generate(tree, { sharedLibs: [lib] });
        expect(read(tree, INFERENCE)).toContain(`_IMAGE=${ref}\n`);
      },
    );
  });

  describe('sharedLibs', () => {
    const COPY_LIB = '--from=ml-common --chown=10001:10001 /python/ ./';

    /** The global ARGs: those before the first FROM. */
    const globalArgs = (text: string) => {
      const all = instructions(text);
      const firstFrom = all.findIndex((i) => i.keyword === 'FROM');
      return all
        .slice(0, firstFrom)
        .filter((i) => i.keyword === 'ARG')
        .map((i) => i.args);
    };

    /** The instructions of the stage named `stage`. */
    const stageOf = (text: string, stage: string) => {
      const all = instructions(text);
      const start = all.findIndex(
        (i) => i.keyword === 'FROM' && i.args.endsWith(` AS ${stage}`),
      );
      const end = all.findIndex((i, n) => n > start && i.keyword === 'FROM');
      return all.slice(start, end === -1 ? undefined : end);
    };

    describe('with one library', () => {
      let tree: Tree;
      let library: ReturnType<typeof changes>;
      const inLibrary = (c: { path: string }) => c.path.startsWith('libs/');

      beforeAll(async () => {
        tree = mlWorkspace();
        addLib(tree, 'ml-common');
        library = changes(tree).filter(inLibrary);
        await generate(tree, { sharedLibs: ['ml-common'] });
      });

      it.each([TRAINING, INFERENCE])(
        '%s declares the image of the library as a global ARG after BASE_IMAGE',
        (file) => {
          expect(globalArgs(read(tree, file))).toEqual([
            'BASE_IMAGE=python:3.10-slim',
            'ML_COMMON_IMAGE=127.0.0.1:5000/ml-images/ml-common-lib:latest',
          ]);
        },
      );

      it.each([TRAINING, INFERENCE])(
        '%s has a stage of the library before the builder and runtime stages',
        (file) => {
          expect(argsOf(read(tree, file), 'FROM')).toEqual([
            '${ML_COMMON_IMAGE} AS ml-common',
            '${BASE_IMAGE} AS builder',
            '${BASE_IMAGE} AS runtime',
          ]);
        },
      );

      it.each([TRAINING, INFERENCE])(
        '%s copies the packages of the library into the runtime stage, owned by the runtime user, before the sources',
        (file) => {
          const runtime = stageOf(read(tree, file), 'runtime')
            .filter((i) => i.keyword === 'COPY')
            .map((i) => i.args);
          expect(runtime.filter((c) => c.includes('ml-common'))).toEqual([
            COPY_LIB,
          ]);
          expect(runtime.indexOf(COPY_LIB)).toBeLessThan(
            runtime.indexOf('--chown=10001:10001 src/ ./src/'),
          );
          expect(
            stageOf(read(tree, file), 'builder').some((i) =>
              i.args.includes('ml-common'),
            ),
          ).toBe(false);
        },
      );

      it.each([TRAINING, INFERENCE])(
        '%s uses the image the library builds, so the plugin can link and pin it',
        (file) => {
          const lib = `${fullName(imageRepository('ml-common', 'lib', {}))}:latest`;
          expect(imageUses(read(tree, file))).toContainEqual({
            ref: lib,
            via: 'FROM',
            arg: 'ML_COMMON_IMAGE',
          });
        },
      );

      it.each([TRAINING, INFERENCE])(
        '%s still builds without BuildKit',
        (file) => {
          expect(needsBuildKit(read(tree, file))).toBeUndefined();
        },
      );

      it('writes nothing into the library', () => {
        expect(changes(tree).filter(inLibrary)).toEqual(library);
      });
    });

    it('copies several libraries in the order given', async () => {
      const tree = mlWorkspace();
      addLib(tree, 'ml-common');
      addLib(tree, 'features');
      await generate(tree, {
        sharedLibs: ['features', 'ml-common'],
        uid: 20000,
      });
      for (const file of [TRAINING, INFERENCE]) {
        const text = read(tree, file);
        expect(globalArgs(text)).toEqual([
          'BASE_IMAGE=python:3.10-slim',
          'FEATURES_IMAGE=127.0.0.1:5000/ml-images/features-lib:latest',
          'ML_COMMON_IMAGE=127.0.0.1:5000/ml-images/ml-common-lib:latest',
        ]);
        expect(argsOf(text, 'FROM').slice(0, 2)).toEqual([
          '${FEATURES_IMAGE} AS features',
          '${ML_COMMON_IMAGE} AS ml-common',
        ]);
        expect(
          stageOf(text, 'runtime')
            .filter((i) => i.keyword === 'COPY' && i.args.includes('/python/'))
            .map((i) => i.args),
        ).toEqual([
          '--from=features --chown=20000:20000 /python/ ./',
          '--from=ml-common --chown=20000:20000 /python/ ./',
        ]);
      }
    });

    it('writes the same files with no sharedLibs as without the option', async () => {
      const without = mlWorkspace();
      await generate(without);
      const empty = mlWorkspace();
      await generate(empty, { sharedLibs: [] });
      for (const file of GENERATED)
        expect(read(empty, file)).toBe(read(without, file));
    });

    it.each<[string, string[], (tree: Tree) => void, string]>([
      [
        'a library that is not a project',
        ['nope'],
        () => undefined,
        '--sharedLibs names "nope", which is not a project of this workspace. Check the name with: nx show projects',
      ],
      [
        'a library without docker/lib/Dockerfile',
        ['ml-common'],
        (tree) => addLib(tree, 'ml-common', false),
        '--sharedLibs names "ml-common", which has no docker/lib/Dockerfile. A shared library ships as an artifact image (FROM scratch, its packages under /python/) that images COPY --from.',
      ],
      [
        'a library whose only image is not its artifact image',
        ['ml-common'],
        (tree) => {
          addLib(tree, 'ml-common', false);
          tree.write(
            'libs/ml-common/docker/base/Dockerfile',
            'FROM python:3.10-slim\n',
          );
        },
        '--sharedLibs names "ml-common", which has no docker/lib/Dockerfile.',
      ],
      [
        'a second library that is not a project',
        ['ml-common', 'nope'],
        (tree) => addLib(tree, 'ml-common'),
        '--sharedLibs names "nope", which is not a project of this workspace.',
      ],
    ])(
      'refuses %s and writes nothing',
      async (_label, sharedLibs, setup, message) => {
        const tree = mlWorkspace();
        setup(tree);
        const before = changes(tree);
        const error = await generate(tree, { sharedLibs }).catch((e) => e);
        expect(error).toBeInstanceOf(UserFacingError);
        expect(error.message).toContain(message);
        expect(changes(tree)).toEqual(before);
        expect(formatFiles).not.toHaveBeenCalled();
      },
    );
  });
});
