import {
  addProjectConfiguration,
  formatFiles,
  logger,
  readNxJson,
  readProjectConfiguration,
  Tree,
  updateNxJson,
  updateProjectConfiguration,
} from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCudaVariant } from '../../accelerator/accelerator';
import {
  declaredArgs,
  imageUses,
  labelValue,
} from '../../dockerfile/dockerfile';
import { needsBuildKit } from '../../engine/commands';
import { UserFacingError } from '../../errors/errors';
import { fullName } from '../../registry/image-ref';
import { imageRepository } from '../../record/project-images';
import * as inspector from '../../inspection/inspect-project';
import { ProjectInspection } from '../../inspection/inspect-project';
import { imagesGenerator } from './images';
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
const TRAINING_CUDA = `${ROOT}/docker/training-cuda/Dockerfile`;
const ENTRYPOINT_CUDA = `${ROOT}/docker/training-cuda/entrypoint.sh`;
const INFERENCE_CUDA = `${ROOT}/docker/inference-cuda/Dockerfile`;

const MAIN_GUARD = '\n\nif __name__ == "__main__":\n    main()\n';

const APP_PY = `import joblib
from fastapi import FastAPI

MODEL = joblib.load("models/model.joblib")

app = FastAPI(title="synth")


@app.get("/health")
def health():
    return {"status": "ok"}
`;

const TRAIN_PY =
  'import joblib\n\n\ndef main():\n    joblib.dump(None, "models/model.joblib")' +
  MAIN_GUARD;

/**
 * A small Python ML project: a src/ package with a training module and a
 * FastAPI app that loads what training writes; null leaves a file out.
 */
const PROJECT_FILES: Record<string, string> = {
  'requirements.txt':
    'fastapi==0.115.0\nuvicorn==0.30.6\nscikit-learn==1.5.2\njoblib==1.4.2\n',
  'src/__init__.py': '',
  'src/model/__init__.py': '',
  'src/model/train.py': TRAIN_PY,
  'src/serve/__init__.py': '',
  'src/serve/app.py': APP_PY,
  'params.yaml': 'train:\n  seed: 42\n',
};

const TORCH_REQUIREMENTS =
  'fastapi==0.115.0\nuvicorn==0.30.6\ntorch==2.6.0\njoblib==1.4.2\n';

/** A DVC pipeline whose train stage writes the model and its metrics. */
const DVC_FILES: Record<string, string> = {
  'requirements.txt':
    'fastapi==0.115.0\nuvicorn==0.30.6\nscikit-learn==1.5.2\njoblib==1.4.2\ndvc[s3]==3.55.2\n',
  'dvc.yaml': [
    'stages:',
    '  train:',
    '    cmd: python -m src.model.train',
    '    deps:',
    '      - src/model',
    '    params:',
    '      - train.seed',
    '    outs:',
    '      - models/model.joblib',
    '    metrics:',
    '      - metrics/scores.json:',
    '          cache: false',
    '',
  ].join('\n'),
  'dvc.lock': 'schema: "2.0"\n',
  '.dvc/config':
    '[core]\n    remote = storage\n[\'remote "storage"\']\n    url = s3://bucket/dvc\n',
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

/** The files under the project's docker/ folder, as the generator wrote them. */
function dockerFiles(tree: Tree): string[] {
  return tree
    .listChanges()
    .map((c) => c.path)
    .filter((p) => p.startsWith(`${ROOT}/docker/`))
    .sort();
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
    const m = /^(\S+)\s*(.*)$/.exec(current);
    if (!m) throw new Error(`not an instruction: ${current}`);
    out.push({ keyword: m[1].toUpperCase(), args: m[2] });
    current = '';
  }
  return out;
}

const argsOf = (text: string, keyword: string) =>
  instructions(text)
    .filter((i) => i.keyword === keyword)
    .map((i) => i.args);

/** The instructions of the stage named `stage`. */
function stageOf(text: string, stage: string): Instruction[] {
  const all = instructions(text);
  const start = all.findIndex(
    (i) => i.keyword === 'FROM' && i.args.endsWith(` AS ${stage}`),
  );
  if (start < 0) throw new Error(`no stage ${stage}`);
  const end = all.findIndex((i, n) => n > start && i.keyword === 'FROM');
  return all.slice(start, end === -1 ? undefined : end);
}

const stageArgs = (text: string, stage: string, keyword: string) =>
  stageOf(text, stage)
    .filter((i) => i.keyword === keyword)
    .map((i) => i.args);

/** How every RUN that installs starts: the private index's secrets mounted, read by with-pip-secrets. */
const PIP_SECRETS =
  '--mount=type=secret,id=pip-index-url --mount=type=secret,id=pip-extra-index-url --mount=type=secret,id=netrc,target=/root/.netrc with-pip-secrets ';

/** The builder's RUN steps, the pip secrets prefix taken off the installs that carry it. */
const builderRuns = (text: string) =>
  stageArgs(text, 'builder', 'RUN').map((r) => {
    const flat = r.replace(/\s+/g, ' ');
    return flat.startsWith(PIP_SECRETS) ? flat.slice(PIP_SECRETS.length) : r;
  });

/** The global ARGs: those before the first FROM. */
function globalArgs(text: string): string[] {
  const all = instructions(text);
  const firstFrom = all.findIndex((i) => i.keyword === 'FROM');
  return all
    .slice(0, firstFrom)
    .filter((i) => i.keyword === 'ARG')
    .map((i) => i.args);
}

/** The exec-form CMD, parsed. */
const cmdOf = (text: string) => argsOf(text, 'CMD').map((a) => JSON.parse(a));

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

/** Runs the generator, expects a UserFacingError, and checks that nothing was written. */
async function refusal(
  tree: Tree,
  options: Partial<ImagesGeneratorSchema> = {},
): Promise<string> {
  const before = changes(tree);
  const error = await generate(tree, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserFacingError);
  expect(changes(tree)).toEqual(before);
  expect(formatFiles).not.toHaveBeenCalled();
  return (error as Error).message;
}

describe('images generator', () => {
  beforeEach(() => {
    jest.mocked(formatFiles).mockClear();
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  describe('with the defaults', () => {
    let tree: Tree;
    let setup: ReturnType<typeof changes>;
    let training: string;
    let inference: string;
    /** Each logger.info line, with whether the training Dockerfile existed when it was logged. */
    let logged: Array<[string, boolean]>;

    beforeAll(async () => {
      tree = mlWorkspace();
      setup = changes(tree);
      logged = [];
      const info = jest
        .spyOn(logger, 'info')
        .mockImplementation((m) =>
          logged.push([String(m), tree.exists(TRAINING)]),
        );
      await generate(tree);
      info.mockRestore();
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

    it('logs what inspection found before it writes anything', () => {
      expect(logged).toEqual([
        ['@ml/docker: synth (apps/synth)', false],
        ['  Layout: src/ package, imported as src.…', false],
        ['  Sources: src/', false],
        ['  Install: pip install -r requirements.txt', false],
        ['  Frameworks: scikit-learn', false],
        ['  App: src.serve.app:app (health /health)', false],
        ['  Training: python -m src.model.train', false],
        ['  Writable: models/ (src/model/train.py:5)', false],
        ['  Runtime files: params.yaml', false],
        ['  Model files: models/ (written by training)', false],
      ]);
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
        expect(globalArgs(text())).toEqual(['BASE_IMAGE=python:3.10-slim']);
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
      'the %s Dockerfile installs requirements.txt into a virtualenv in the builder, before any source is copied',
      (_kind, text) => {
        expect(stageArgs(text(), 'builder', 'COPY')).toEqual([
          'requirements.txt ./requirements.txt',
        ]);
        const runs = builderRuns(text());
        expect(runs[1]).toBe(
          'python3 -m venv --system-site-packages /opt/venv',
        );
        expect(runs.slice(-1)).toEqual([
          '/opt/venv/bin/pip install -r requirements.txt',
        ]);
        expect(stageArgs(text(), 'runtime', 'COPY')[0]).toBe(
          '--from=builder /opt/venv /opt/venv',
        );
      },
    );

    it.each([
      ['training', () => training],
      ['inference', () => inference],
    ])(
      'the %s Dockerfile lets pip be pointed at a wheelhouse or run offline through build args, never an index',
      (_kind, text) => {
        expect(stageArgs(text(), 'builder', 'ARG')).toEqual([
          'BUILD_PACKAGES=""',
          'PIP_FIND_LINKS',
          'PIP_NO_INDEX',
          'PIP_NO_DEPS',
          'PIP_NO_BUILD_ISOLATION',
        ]);
      },
    );

    it.each([
      ['training', () => training],
      ['inference', () => inference],
    ])(
      'the %s Dockerfile installs no system package at run time',
      (_kind, text) => {
        expect(stageArgs(text(), 'runtime', 'RUN').join('\n')).not.toContain(
          'apt-get',
        );
      },
    );

    it.each([
      ['training', () => training],
      ['inference', () => inference],
    ])(
      'the %s Dockerfile mounts the private index secrets into every pip install of requirements or the project, and nowhere else',
      (_kind, text) => {
        const runs = stageArgs(text(), 'builder', 'RUN').map((r) =>
          r.replace(/\s+/g, ' '),
        );
        const installs = runs.filter((r) =>
          /pip install (-r|\.|--no-deps)/.test(r),
        );
        expect(installs.length).toBeGreaterThan(0);
        for (const r of installs) expect(r.startsWith(PIP_SECRETS)).toBe(true);
        expect(runs.filter((r) => r.includes('--mount=type=secret'))).toEqual(
          installs,
        );
        expect(stageArgs(text(), 'runtime', 'RUN').join(' ')).not.toContain(
          'secret',
        );
      },
    );

    it.each([
      ['training', () => training],
      ['inference', () => inference],
    ])(
      'the %s Dockerfile needs BuildKit (or Podman) for its secret mounts only',
      (_kind, text) => {
        expect(needsBuildKit(text())).toBe('RUN --mount');
        expect(
          needsBuildKit(text().replace(/--mount=type=secret\S+/g, '')),
        ).toBeUndefined();
      },
    );

    it.each([
      ['training', () => training],
      ['inference', () => inference],
    ])('the %s Dockerfile says nothing of CUDA', (_kind, text) => {
      expect(text()).not.toMatch(/NVIDIA|TORCH_INDEX_URL|cuda/);
      expect(labelValue(text(), 'ml-docker.accelerator')).toBe('cpu');
    });

    it.each([
      ['training', () => training, 'synth-training'],
      ['inference', () => inference, 'synth-inference'],
    ])('the %s Dockerfile titles the image %s', (_kind, text, title) => {
      expect(labelValue(text(), 'org.opencontainers.image.title')).toBe(title);
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
      expect(JSON.parse(healthcheck.slice(prefix.length))).toEqual([
        'python',
        '-c',
        "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health', timeout=10)",
      ]);
      expect(healthcheck).not.toMatch(/curl|wget/);
    });

    it('the inference Dockerfile labels its liveness path for docker-test', () => {
      expect(labelValue(inference, 'ml-docker.health-path')).toBe('/health');
    });

    it('the inference Dockerfile runs the detected FastAPI app with an exec-form CMD', () => {
      expect(cmdOf(inference)).toEqual([
        [
          '/bin/sh',
          '-c',
          'exec python -m uvicorn src.serve.app:app --host 0.0.0.0 --port "${PORT:-8000}"',
        ],
      ]);
    });

    it('the inference Dockerfile copies the runtime files, bakes in the model training writes, then the sources', () => {
      expect(stageArgs(inference, 'runtime', 'COPY')).toEqual([
        '--from=builder /opt/venv /opt/venv',
        '--chown=10001:10001 params.yaml ./params.yaml',
        '--chown=10001:10001 models/ ./models/',
        '--chown=10001:10001 src/ ./src/',
      ]);
      expect(inference).toContain(
        '# The model is baked in: docker-train runs the training image first and keeps what it writes.\n',
      );
    });

    it('the training Dockerfile runs the training module through the entrypoint, in exec form', () => {
      expect(argsOf(training, 'ENTRYPOINT').map((a) => JSON.parse(a))).toEqual([
        ['/bin/sh', '/usr/local/bin/ml-entrypoint'],
      ]);
      expect(cmdOf(training)).toEqual([['python', '-m', 'src.model.train']]);
    });

    it('the training Dockerfile copies the entrypoint, the runtime files and the sources, never the model', () => {
      expect(stageArgs(training, 'runtime', 'COPY')).toEqual([
        '--from=builder /opt/venv /opt/venv',
        'docker/training/entrypoint.sh /usr/local/bin/ml-entrypoint',
        '--chown=10001:10001 params.yaml ./params.yaml',
        '--chown=10001:10001 src/ ./src/',
      ]);
    });

    it('the training Dockerfile makes the folders a run writes, owned by the runtime user, and labels them', () => {
      expect(stageArgs(training, 'runtime', 'RUN')).toContain(
        'mkdir -p data models && chown 10001:10001 /app data models',
      );
      expect(labelValue(training, 'ml-docker.outputs')).toBe('models/');
    });

    it('the training Dockerfile exposes no port, has no HEALTHCHECK and no liveness label', () => {
      expect(argsOf(training, 'EXPOSE')).toEqual([]);
      expect(argsOf(training, 'HEALTHCHECK')).toEqual([]);
      expect(labelValue(training, 'ml-docker.health-path')).toBeUndefined();
    });

    it('the inference Dockerfile declares no outputs', () => {
      expect(labelValue(inference, 'ml-docker.outputs')).toBeUndefined();
    });

    it('the training Dockerfile gives the runtime user a home', () => {
      expect(argsOf(training, 'ENV').join(' ')).toContain('HOME=/home/mluser');
      expect(stageArgs(training, 'runtime', 'RUN')[0]).toBe(
        'groupadd --gid 10001 mluser && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/mluser --shell /usr/sbin/nologin mluser',
      );
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
        /^(#!\/bin\/sh\n)?# generated by @ml\/docker:images; checksum [0-9a-f]{16}\. Edits are kept on re-run unless --overwrite\.\n/,
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
      'README.md',
      'tests/test_app.py',
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

  it('logs the warnings of the inspection apart', async () => {
    const tree = mlWorkspace({
      'requirements.txt': 'fastapi==0.115.0\nscikit-learn==1.5.2\njoblib\n',
    });
    await generate(tree);
    expect(logger.warn).toHaveBeenCalledWith(
      '  uvicorn is not in the runtime dependencies: add uvicorn to requirements.txt (the inference image runs python -m uvicorn).',
    );
  });

  describe('options', () => {
    it.each<[string, Partial<ImagesGeneratorSchema>, string]>([
      [
        'pythonVersion picks the python image',
        { pythonVersion: '3.12' },
        'BASE_IMAGE=python:3.12-slim',
      ],
      [
        'pythonVersion typed on the command line arrives as a number',
        { pythonVersion: 3.13 },
        'BASE_IMAGE=python:3.13-slim',
      ],
      [
        'pythonVersion 3.10 arrives from the command line as 3.1',
        { pythonVersion: 3.1 },
        'BASE_IMAGE=python:3.10-slim',
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
        expect(globalArgs(read(tree, file))).toEqual([arg]);
    });

    it('port sets EXPOSE, the PORT default, the CMD and the HEALTHCHECK', async () => {
      const tree = mlWorkspace();
      await generate(tree, { port: 9000 });
      const inference = read(tree, INFERENCE);
      expect(argsOf(inference, 'EXPOSE')).toEqual(['9000']);
      expect(argsOf(inference, 'ENV').join(' ')).toContain('PORT=9000');
      expect(cmdOf(inference)[0][2]).toContain('--port "${PORT:-9000}"');
      expect(argsOf(inference, 'HEALTHCHECK')[0]).toContain(
        "os.environ.get('PORT', '9000')",
      );
    });

    it('healthPath sets the HEALTHCHECK and the liveness label, and leaves project.json alone', async () => {
      const tree = mlWorkspace();
      const before = tree.read(`${ROOT}/project.json`, 'utf-8');
      await generate(tree, { healthPath: '/api/v1/healthz' });
      const inference = read(tree, INFERENCE);
      expect(argsOf(inference, 'HEALTHCHECK')[0]).toContain(
        "+ '/api/v1/healthz', timeout=10)",
      );
      expect(labelValue(inference, 'ml-docker.health-path')).toBe(
        '/api/v1/healthz',
      );
      expect(tree.read(`${ROOT}/project.json`, 'utf-8')).toBe(before);
    });

    it.each([
      ['the liveness route inspection finds', {}, '/healthz'],
      ['healthPath over it', { healthPath: '/live' }, '/live'],
    ])('takes %s', async (_label, options, path) => {
      const tree = mlWorkspace({
        'src/serve/app.py': APP_PY.replace('"/health"', '"/healthz"'),
      });
      await generate(tree, options);
      const inference = read(tree, INFERENCE);
      expect(labelValue(inference, 'ml-docker.health-path')).toBe(path);
      expect(argsOf(inference, 'HEALTHCHECK')[0]).toContain(
        `+ '${path}', timeout=10)`,
      );
    });

    const READYZ =
      '@app.get("/readyz", include_in_schema=False)\ndef readyz():\n    return {"ready": True}\n';
    it.each<
      [string, string, Partial<ImagesGeneratorSchema>, string | undefined]
    >([
      [
        'a readiness route left out of the OpenAPI document',
        READYZ,
        {},
        '/readyz',
      ],
      ['no readiness route', '', {}, undefined],
      [
        'readyPath where inspection found none',
        '',
        { readyPath: '/warm' },
        '/warm',
      ],
      [
        'readyPath over the route found',
        READYZ,
        { readyPath: '/ready/deep' },
        '/ready/deep',
      ],
    ])(
      'names %s in the ready-path label, where docker-test finds it',
      async (_label, route, options, path) => {
        const tree = mlWorkspace({
          'src/serve/app.py': `${APP_PY}\n\n${route}`,
        });
        await generate(tree, options);
        expect(labelValue(read(tree, INFERENCE), 'ml-docker.ready-path')).toBe(
          path,
        );
      },
    );

    it('appModule is used as given, even when the project has several apps', async () => {
      const tree = mlWorkspace({
        'src/admin.py': 'from fastapi import FastAPI\nadmin = FastAPI()\n',
      });
      await generate(tree, { appModule: 'src.serve.app:app' });
      expect(cmdOf(read(tree, INFERENCE))[0][2]).toContain(
        'uvicorn src.serve.app:app ',
      );
    });

    it('appModule needs no FastAPI app to be found', async () => {
      const tree = mlWorkspace({
        'src/serve/app.py': 'application = make_app()\n',
      });
      await generate(tree, {
        appModule: 'src.serve.app:application',
        healthPath: '/live',
      });
      expect(cmdOf(read(tree, INFERENCE))[0][2]).toContain(
        'uvicorn src.serve.app:application ',
      );
    });

    it('an app factory runs with uvicorn --factory', async () => {
      const tree = mlWorkspace({
        'src/serve/app.py':
          'from fastapi import FastAPI\n\n\ndef create_app():\n    app = FastAPI()\n    return app\n',
      });
      await generate(tree, { healthPath: '/live' });
      expect(cmdOf(read(tree, INFERENCE))[0][2]).toBe(
        'exec python -m uvicorn src.serve.app:create_app --factory --host 0.0.0.0 --port "${PORT:-8000}"',
      );
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

    it('runtimeFiles adds to what both images copy, excludeRuntimeFiles leaves one out', async () => {
      const tree = mlWorkspace({ 'feature_store.yaml': 'project: synth\n' });
      await generate(tree, {
        runtimeFiles: ['feature_store.yaml'],
        excludeRuntimeFiles: ['params.yaml'],
      });
      for (const file of [TRAINING, INFERENCE]) {
        const copies = stageArgs(read(tree, file), 'runtime', 'COPY');
        expect(copies).toContain(
          '--chown=10001:10001 feature_store.yaml ./feature_store.yaml',
        );
        expect(copies.join('\n')).not.toContain('params.yaml');
      }
    });

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
  });

  describe('training command', () => {
    it.each<
      [
        string,
        Record<string, string | null>,
        Partial<ImagesGeneratorSchema>,
        string[],
      ]
    >([
      [
        'the training module inspection finds',
        {},
        {},
        ['python', '-m', 'src.model.train'],
      ],
      ['dvc repro for a DVC pipeline', DVC_FILES, {}, ['dvc', 'repro']],
      [
        'trainingModule',
        {
          'src/pipelines/__init__.py': '',
          'src/pipelines/fit.py': 'print("fit")\n',
        },
        { trainingModule: 'src.pipelines.fit' },
        ['python', '-m', 'src.pipelines.fit'],
      ],
      [
        'trainingCommand, split into arguments',
        {},
        {
          trainingCommand:
            'python -m src.model.train --config configs/base.yaml',
        },
        ['python', '-m', 'src.model.train', '--config', 'configs/base.yaml'],
      ],
      [
        'trainingCommand, quotes grouping an argument',
        {},
        {
          trainingCommand: `python -m src.model.train --name "my run" --tag 'a b'`,
        },
        ['python', '-m', 'src.model.train', '--name', 'my run', '--tag', 'a b'],
      ],
      [
        'trainingCommand, with characters HTML would escape',
        {},
        {
          trainingCommand: `python -m src.model.train --where "n>1&m<2" --tag "it's"`,
        },
        [
          'python',
          '-m',
          'src.model.train',
          '--where',
          'n>1&m<2',
          '--tag',
          "it's",
        ],
      ],
      [
        'trainingCommand over a DVC pipeline',
        DVC_FILES,
        { trainingCommand: 'python -m src.model.train' },
        ['python', '-m', 'src.model.train'],
      ],
    ])('runs %s', async (_label, files, options, cmd) => {
      const tree = mlWorkspace(files);
      await generate(tree, options);
      const training = read(tree, TRAINING);
      expect(cmdOf(training)).toEqual([cmd]);
      expect(training.split('\n')[1]).toBe(
        `# Training image for synth: runs the pipeline (${cmd.join(' ')})`,
      );
    });

    it('runs the console script an installable project declares', async () => {
      const tree = mlWorkspace({
        'requirements.txt': null,
        'src/__init__.py': null,
        'src/model/__init__.py': null,
        'src/model/train.py': null,
        'src/serve/__init__.py': null,
        'src/serve/app.py': null,
        'params.yaml': null,
        'pyproject.toml': [
          '[build-system]',
          'requires = ["setuptools"]',
          'build-backend = "setuptools.build_meta"',
          '',
          '[project]',
          'name = "synth"',
          'version = "0.1.0"',
          'dependencies = ["fastapi", "uvicorn"]',
          '',
          '[project.scripts]',
          'synth-train = "synth.train:main"',
          '',
        ].join('\n'),
        'src/synth/__init__.py': '',
        'src/synth/app.py': APP_PY,
        'src/synth/train.py': 'def main():\n    pass\n',
      });
      await generate(tree);
      expect(cmdOf(read(tree, TRAINING))).toEqual([['synth-train']]);
    });
  });

  describe('image', () => {
    it('training writes no inference Dockerfile, and needs no FastAPI app', async () => {
      const tree = mlWorkspace({
        'src/serve/app.py': null,
        'src/serve/__init__.py': null,
      });
      await generate(tree, { image: 'training' });
      expect(dockerFiles(tree)).toEqual([ENTRYPOINT, TRAINING].sort());
      expect(tree.exists(DOCKERIGNORE)).toBe(true);
      expect(readProjectConfiguration(tree, 'synth').targets).toEqual({});
    });

    it('inference writes no training files, and needs no training entry', async () => {
      const tree = mlWorkspace({ 'src/model/train.py': null });
      await generate(tree, { image: 'inference' });
      expect(dockerFiles(tree)).toEqual([INFERENCE]);
      expect(tree.exists(DOCKERIGNORE)).toBe(true);
    });

    it('all writes both images', async () => {
      const tree = mlWorkspace();
      await generate(tree, { image: 'all' });
      expect(GENERATED.every((f) => tree.exists(f))).toBe(true);
    });
  });

  describe('a serving-only project: a committed model, no training code', () => {
    const SERVING: Record<string, string | null> = {
      'src/model/train.py': null,
      'models/model.joblib': 'a trained model',
    };

    it('gets the inference image alone, and says so', async () => {
      const tree = mlWorkspace(SERVING);
      await generate(tree);
      expect(dockerFiles(tree)).toEqual([INFERENCE]);
      expect(logger.info).toHaveBeenCalledWith(
        '@ml/docker: synth has no training code and a committed model: writing the inference image only (--image=training to insist).',
      );
    });

    it('bakes in the committed model', async () => {
      const tree = mlWorkspace(SERVING);
      await generate(tree);
      const inference = read(tree, INFERENCE);
      expect(stageArgs(inference, 'runtime', 'COPY')).toContain(
        '--chown=10001:10001 models/ ./models/',
      );
      expect(inference).toContain(
        '# The model is baked in: the committed model files.\n',
      );
    });

    it('is refused a training image with --image=training', async () => {
      const tree = mlWorkspace(SERVING);
      expect(await refusal(tree, { image: 'training' })).toBe(
        'No training entry found in project "synth": no dvc.yaml stages, no train.py or fit.py with if __name__ == "__main__":, no console script named like train. Pass --trainingModule=<package.module> or --trainingCommand, or --image=inference for a serving-only project.',
      );
    });

    it('without a model in the project, gets the inference image alone and says what supplies the model', async () => {
      const tree = mlWorkspace({ 'src/model/train.py': null });
      await generate(tree);
      expect(dockerFiles(tree)).toEqual([INFERENCE]);
      expect(logger.warn).toHaveBeenCalledWith(
        '@ml/docker: synth has no training code and no model files in the project: writing the inference image only (--image=training to insist), with no model baked in. Mount the model when the container runs (docker run -v <model folder>:/app/<path the app reads>), or bake committed files in with --runtimeFiles=<path>.',
      );
    });

    it('names the file that points at a model in a folder of any name', async () => {
      const tree = mlWorkspace({
        'src/model/train.py': null,
        'sample_model/model.joblib': 'a trained model',
        'src/settings.py':
          'from pydantic_settings import BaseSettings\n\nclass Settings(BaseSettings):\n    MODEL_PATH: str = "sample_model/model.joblib"\n',
      });
      await generate(tree);
      expect(dockerFiles(tree)).toEqual([INFERENCE]);
      expect(logger.info).toHaveBeenCalledWith(
        '  Model: sample_model/ (named at src/settings.py:4), baked into the image',
      );
      expect(stageArgs(read(tree, INFERENCE), 'runtime', 'COPY')).toContain(
        '--chown=10001:10001 sample_model/ ./sample_model/',
      );
    });
  });

  describe('what to install', () => {
    const builderOf = (tree: Tree, file = TRAINING) => ({
      copies: stageArgs(read(tree, file), 'builder', 'COPY'),
      runs: builderRuns(read(tree, file)).slice(3),
    });
    const NO_SRC_PACKAGE: Record<string, null> = {
      'requirements.txt': null,
      'src/__init__.py': null,
      'src/model/__init__.py': null,
      'src/model/train.py': null,
      'src/serve/__init__.py': null,
      'src/serve/app.py': null,
    };
    const FLAT_PACKAGES = {
      ...NO_SRC_PACKAGE,
      'api/__init__.py': '',
      'api/app.py': APP_PY,
      'pipeline/__init__.py': '',
      'pipeline/train.py': TRAIN_PY,
    };
    const PYPROJECT = [
      '[build-system]',
      'requires = ["setuptools"]',
      'build-backend = "setuptools.build_meta"',
      '',
      '[project]',
      'name = "synth"',
      'version = "0.1.0"',
      'dependencies = ["fastapi", "uvicorn", "joblib"]',
      '',
    ].join('\n');
    const INSTALLABLE = {
      ...NO_SRC_PACKAGE,
      'pyproject.toml': PYPROJECT,
      'src/synth/__init__.py': '',
      'src/synth/app.py': APP_PY,
      'src/synth/train.py': TRAIN_PY,
    };

    it.each<[string, Record<string, string | null>, string[], string[]]>([
      [
        'requirements.txt',
        {},
        ['requirements.txt ./requirements.txt'],
        ['/opt/venv/bin/pip install -r requirements.txt'],
      ],
      [
        'a prod requirements file and the base file it includes: both copied, one installed',
        {
          ...FLAT_PACKAGES,
          'requirements/base.txt': 'joblib==1.4.2\n',
          'requirements/prod.txt': '-r base.txt\nfastapi\nuvicorn\n',
        },
        [
          'requirements/prod.txt ./requirements/prod.txt',
          'requirements/base.txt ./requirements/base.txt',
        ],
        ['/opt/venv/bin/pip install -r requirements/prod.txt'],
      ],
      [
        'a base and a prod requirements file: both installed, in one pip install',
        {
          ...FLAT_PACKAGES,
          'requirements/base.txt': 'joblib==1.4.2\n',
          'requirements/prod.txt': 'fastapi\nuvicorn\n',
        },
        [
          'requirements/base.txt ./requirements/base.txt',
          'requirements/prod.txt ./requirements/prod.txt',
        ],
        [
          '/opt/venv/bin/pip install -r requirements/base.txt -r requirements/prod.txt',
        ],
      ],
      [
        'an installable project: pip install .',
        INSTALLABLE,
        ['pyproject.toml ./pyproject.toml', 'src/ ./src/'],
        ['/opt/venv/bin/pip install .'],
      ],
      [
        'an installable project with requirements: them first, then pip install --no-deps .',
        { ...INSTALLABLE, 'requirements.txt': 'fastapi\nuvicorn\njoblib\n' },
        [
          'requirements.txt ./requirements.txt',
          'pyproject.toml ./pyproject.toml',
          'src/ ./src/',
        ],
        [
          '/opt/venv/bin/pip install -r requirements.txt',
          '/opt/venv/bin/pip install --no-deps .',
        ],
      ],
    ])('installs %s', async (_label, files, copies, runs) => {
      const tree = mlWorkspace(files);
      await generate(tree);
      for (const file of [TRAINING, INFERENCE])
        expect(builderOf(tree, file)).toEqual({ copies, runs });
    });

    it('an installable project copies no sources into the runtime stage: they are installed', async () => {
      const tree = mlWorkspace(INSTALLABLE);
      await generate(tree);
      expect(stageArgs(read(tree, INFERENCE), 'runtime', 'COPY')).toEqual([
        '--from=builder /opt/venv /opt/venv',
        '--chown=10001:10001 params.yaml ./params.yaml',
        '--chown=10001:10001 models/ ./models/',
      ]);
      expect(read(tree, INFERENCE)).not.toContain('PYTHONPATH');
    });

    it('modules under src/ imported without the src. prefix get PYTHONPATH=/app/src in both images', async () => {
      const tree = mlWorkspace({
        'src/__init__.py': null,
        'src/serve/app.py': APP_PY,
        'src/model/train.py': TRAIN_PY,
      });
      await generate(tree, {
        appModule: 'serve.app:app',
        trainingModule: 'model.train',
      });
      for (const file of [TRAINING, INFERENCE]) {
        const env = stageArgs(read(tree, file), 'runtime', 'ENV').join(' ');
        expect(env).toContain('PYTHONPATH=/app/src');
      }
      expect(cmdOf(read(tree, TRAINING))).toEqual([
        ['python', '-m', 'model.train'],
      ]);
    });

    it('a src/ package imported as src. gets no PYTHONPATH', async () => {
      const tree = mlWorkspace();
      await generate(tree);
      for (const file of [TRAINING, INFERENCE])
        expect(read(tree, file)).not.toContain('PYTHONPATH');
    });
  });

  describe('what inspection says the code writes, and the liveness path it found', () => {
    /** Inspection as it is, with these fields set as the inspection would set them. */
    function inspectionSays(fields: Partial<ProjectInspection>): void {
      const real = inspector.inspectProject;
      jest
        .spyOn(inspector, 'inspectProject')
        .mockImplementation((...args) => ({ ...real(...args), ...fields }));
    }
    const runsMaking = (text: string) =>
      stageArgs(text, 'runtime', 'RUN').filter((r) => r.includes('mkdir'));

    it.each<
      [
        string,
        { training: string[]; inference: string[] },
        string,
        string[],
        string | undefined,
      ]
    >([
      [
        'nothing beyond the outputs',
        { training: [], inference: [] },
        'mkdir -p data models && chown 10001:10001 /app data models',
        [],
        undefined,
      ],
      [
        'metrics beside models, logs at import',
        { training: ['metrics'], inference: ['logs'] },
        'mkdir -p data models metrics && chown 10001:10001 /app data models metrics',
        ['mkdir -p logs && chown 10001:10001 logs'],
        'logs/',
      ],
      [
        'nested folders, written with ./ and a trailing /, one twice',
        {
          training: ['data/processed/', 'models'],
          inference: ['logs/', './logs', 'data/cache'],
        },
        'mkdir -p data models data/processed && chown 10001:10001 /app data models data/processed',
        ['mkdir -p logs data/cache && chown 10001:10001 logs data/cache'],
        'logs/ data/cache/',
      ],
    ])(
      '%s: each image makes exactly those folders, owned by its user',
      async (_label, writableFolders, trainingRun, inferenceRuns, label) => {
        inspectionSays({
          writableFolders: { ...writableFolders, where: {} },
        });
        const tree = mlWorkspace();
        await generate(tree);
        expect(runsMaking(read(tree, TRAINING))).toEqual([trainingRun]);
        const inference = read(tree, INFERENCE);
        expect(runsMaking(inference)).toEqual(inferenceRuns);
        expect(labelValue(inference, 'ml-docker.writable')).toBe(label);
        expect(labelValue(read(tree, TRAINING), 'ml-docker.writable')).toBe(
          undefined,
        );
      },
    );

    it('makes the inference folders before the sources are copied, so editing code never reruns it', async () => {
      inspectionSays({
        writableFolders: { training: [], inference: ['logs'], where: {} },
      });
      const tree = mlWorkspace();
      await generate(tree);
      const runtime = stageOf(read(tree, INFERENCE), 'runtime').map(
        (i) => `${i.keyword} ${i.args}`,
      );
      const mkdir = runtime.findIndex((l) => l.includes('mkdir -p logs'));
      expect(mkdir).toBeGreaterThan(
        runtime.findIndex((l) => l === 'WORKDIR /app'),
      );
      expect(mkdir).toBeLessThan(
        runtime.findIndex((l) => l.startsWith('COPY')),
      );
    });

    it.each([
      ['a parent folder', '../etc'],
      ['an absolute path', '/var/log/app'],
      ['a space', 'my logs'],
    ])('refuses a folder with %s, naming it', async (_label, folder) => {
      inspectionSays({
        writableFolders: { training: [], inference: [folder], where: {} },
      });
      expect(await refusal(mlWorkspace())).toBe(
        `The inference code writes to the folder "${folder}", which the generated Dockerfile cannot make writable: it must be a path inside the project of letters, digits and . _ @ + - /. Rename the folder in the code, then rerun.`,
      );
    });

    it.each<
      [
        string,
        Partial<ProjectInspection>,
        Partial<ImagesGeneratorSchema>,
        string,
      ]
    >([
      ['a liveness route', { healthPath: '/livez' }, {}, '/livez'],
      [
        'the OpenAPI document, its fallback',
        { healthPath: '/openapi.json' },
        {},
        '/openapi.json',
      ],
      [
        'a GET route without parameters, its fallback',
        { healthPath: '/' },
        {},
        '/',
      ],
      [
        '--healthPath over a fallback',
        { healthPath: '/openapi.json' },
        { healthPath: '/status' },
        '/status',
      ],
      [
        '--healthPath when inspection found none',
        { healthPath: undefined },
        { healthPath: '/status' },
        '/status',
      ],
    ])(
      'probes %s exactly, in the HEALTHCHECK and the label',
      async (_label, fields, options, path) => {
        inspectionSays(fields);
        const tree = mlWorkspace();
        await generate(tree, options);
        const inference = read(tree, INFERENCE);
        expect(labelValue(inference, 'ml-docker.health-path')).toBe(path);
        expect(argsOf(inference, 'HEALTHCHECK')[0]).toContain(
          `+ '${path}', timeout=10)`,
        );
        expect(inference).not.toContain("'/health'");
      },
    );

    it('refuses an inference image with nothing to probe, naming --healthPath', async () => {
      inspectionSays({ healthPath: undefined });
      expect(await refusal(mlWorkspace())).toBe(
        'src.serve.app:app serves no GET route the inference image can probe for liveness (no /health-like route, no GET route without parameters, no OpenAPI document): its HEALTHCHECK and docker-test need one. Add a route such as @app.get("/health"), or pass --healthPath=<path of a GET route the app answers with 2xx>.',
      );
    });

    it('writes a training image alone without any liveness path', async () => {
      inspectionSays({ healthPath: undefined });
      const tree = mlWorkspace();
      await generate(tree, { image: 'training' });
      expect(tree.exists(TRAINING)).toBe(true);
      expect(tree.exists(INFERENCE)).toBe(false);
    });
  });

  describe('a DVC pipeline', () => {
    let tree: Tree;
    let training: string;
    let inference: string;

    beforeAll(async () => {
      jest.spyOn(logger, 'info').mockImplementation(() => undefined);
      tree = mlWorkspace(DVC_FILES);
      await generate(tree);
      training = read(tree, TRAINING);
      inference = read(tree, INFERENCE);
      jest.restoreAllMocks();
    });

    it('installs git and ca-certificates in the training image, which dvc needs at run time', () => {
      expect(stageArgs(training, 'runtime', 'RUN')).toContain(
        'apt-get update && apt-get install -y --no-install-recommends git ca-certificates && rm -rf /var/lib/apt/lists/*',
      );
      expect(training).toContain(
        "# Run-time system packages; git: DVC reads the pipeline's history.\n",
      );
    });

    it('installs neither in the inference image', () => {
      expect(stageArgs(inference, 'runtime', 'RUN').join('\n')).not.toContain(
        'apt-get',
      );
    });

    it('copies the pipeline files into the training image', () => {
      expect(stageArgs(training, 'runtime', 'COPY')).toEqual([
        '--from=builder /opt/venv /opt/venv',
        'docker/training/entrypoint.sh /usr/local/bin/ml-entrypoint',
        '--chown=10001:10001 params.yaml ./params.yaml',
        '--chown=10001:10001 dvc.yaml ./dvc.yaml',
        '--chown=10001:10001 dvc.lock ./dvc.lock',
        '--chown=10001:10001 .dvc/config ./.dvc/config',
        '--chown=10001:10001 src/ ./src/',
      ]);
    });

    it('keeps the metrics the pipeline writes with the model', () => {
      expect(labelValue(training, 'ml-docker.outputs')).toBe(
        'models/ metrics/',
      );
      expect(stageArgs(training, 'runtime', 'RUN')).toContain(
        'mkdir -p data models metrics && chown 10001:10001 /app data models metrics',
      );
    });

    it('says where the baked-in model comes from', () => {
      expect(inference).toContain(
        '# The model is baked in: dvc repro (docker-train) or dvc pull puts it in the build context first.\n',
      );
    });
  });

  describe('system packages', () => {
    const INSTALL = (packages: string) =>
      `apt-get update && apt-get install -y --no-install-recommends ${packages} && rm -rf /var/lib/apt/lists/*`;

    it.each<
      [
        string,
        Record<string, string | null>,
        Partial<ImagesGeneratorSchema>,
        string,
        string,
        string,
      ]
    >([
      [
        'systemPackages, as one comma-separated value',
        {},
        { systemPackages: ['libpq5,libgomp1'] },
        'libpq5 libgomp1',
        'libpq5 libgomp1',
        '# Run-time system packages.',
      ],
      [
        'systemPackages, given twice',
        {},
        { systemPackages: ['libpq5', 'libgomp1'] },
        'libpq5 libgomp1',
        'libpq5 libgomp1',
        '# Run-time system packages.',
      ],
      [
        'apt.txt, comments and blank lines dropped',
        { 'apt.txt': '# for psycopg\nlibpq5\n\nlibgomp1  # lightgbm\n' },
        {},
        'libpq5 libgomp1',
        'libpq5 libgomp1',
        '# Run-time system packages (from apt.txt).',
      ],
      [
        'packages.txt',
        { 'packages.txt': 'ffmpeg\r\nlibsm6\r\n' },
        {},
        'ffmpeg libsm6',
        'ffmpeg libsm6',
        '# Run-time system packages (from packages.txt).',
      ],
      [
        'systemPackages and apt.txt together, each once',
        { 'apt.txt': 'libgomp1\nlibpq5\n' },
        { systemPackages: ['libpq5'] },
        'libpq5 libgomp1',
        'libpq5 libgomp1',
        '# Run-time system packages (from apt.txt).',
      ],
      [
        'systemPackages in a DVC project: after git in the training image',
        DVC_FILES,
        { systemPackages: ['libgomp1'] },
        'git ca-certificates libgomp1',
        'libgomp1',
        "# Run-time system packages; git: DVC reads the pipeline's history.",
      ],
    ])(
      'installs %s in the runtime stage of both images',
      async (
        _label,
        files,
        options,
        trainingPackages,
        inferencePackages,
        comment,
      ) => {
        const tree = mlWorkspace(files);
        await generate(tree, options);
        const training = read(tree, TRAINING);
        const inference = read(tree, INFERENCE);
        expect(stageArgs(training, 'runtime', 'RUN')).toContain(
          INSTALL(trainingPackages),
        );
        expect(stageArgs(inference, 'runtime', 'RUN')).toContain(
          INSTALL(inferencePackages),
        );
        expect(training).toContain(`\n${comment}\n`);
        // Run-time packages never go into the builder.
        expect(stageArgs(inference, 'builder', 'RUN').join('\n')).not.toContain(
          inferencePackages,
        );
      },
    );

    it.each<
      [
        string,
        Record<string, string>,
        Partial<ImagesGeneratorSchema>,
        string | undefined,
      ]
    >([
      ['none', {}, {}, undefined],
      [
        'the option',
        {},
        { systemPackages: ['libpq5'] },
        '  System packages: libpq5 (from --systemPackages)',
      ],
      [
        'apt.txt',
        { 'apt.txt': 'libgomp1\n' },
        {},
        '  System packages: libgomp1 (from apt.txt)',
      ],
      [
        'both',
        { 'packages.txt': 'ffmpeg\n' },
        { systemPackages: ['libpq5'] },
        '  System packages: libpq5, ffmpeg (from --systemPackages and packages.txt)',
      ],
    ])(
      'prints the system packages in the summary: %s',
      async (_label, files, options, line) => {
        const tree = mlWorkspace(files);
        await generate(tree, options);
        const printed = jest
          .mocked(logger.info)
          .mock.calls.map(([m]) => String(m))
          .filter((m) => m.startsWith('  System packages:'));
        expect(printed).toEqual(line ? [line] : []);
      },
    );

    it.each(['LibPQ5', 'libpq5;rm', 'lib pq', '-y', 'a', 'libpq5=1.0'])(
      'refuses the system package name %j and writes nothing',
      async (name) => {
        const tree = mlWorkspace();
        expect(await refusal(tree, { systemPackages: [name] })).toBe(
          `--systemPackages: "${name}" is not a Debian package name (lowercase letters, digits and + . -, e.g. libpq5).`,
        );
      },
    );
  });

  describe('--accelerator=cuda12.4 on a torch project', () => {
    const variant = resolveCudaVariant({ cuda: '12.4', python: '3.10' });
    let tree: Tree;
    let files: Record<string, string>;

    beforeAll(async () => {
      jest.spyOn(logger, 'info').mockImplementation(() => undefined);
      tree = mlWorkspace({ 'requirements.txt': TORCH_REQUIREMENTS });
      await generate(tree, { accelerator: 'cuda12.4' });
      files = Object.fromEntries(
        [TRAINING, INFERENCE, TRAINING_CUDA, INFERENCE_CUDA].map((f) => [
          f,
          read(tree, f),
        ]),
      );
      jest.restoreAllMocks();
    });

    it('writes docker/training-cuda/ and docker/inference-cuda/ next to the CPU images', () => {
      expect(dockerFiles(tree)).toEqual(
        [
          TRAINING,
          ENTRYPOINT,
          INFERENCE,
          TRAINING_CUDA,
          ENTRYPOINT_CUDA,
          INFERENCE_CUDA,
        ].sort(),
      );
      expect(read(tree, ENTRYPOINT_CUDA)).toBe(read(tree, ENTRYPOINT));
    });

    it("defaults BASE_IMAGE of the CUDA variants to the table's nvidia/cuda runtime image", () => {
      expect(variant.baseImage).toBe(
        'nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04',
      );
      for (const f of [TRAINING_CUDA, INFERENCE_CUDA])
        expect(globalArgs(files[f])).toEqual([
          'BASE_IMAGE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04',
        ]);
      for (const f of [TRAINING, INFERENCE])
        expect(globalArgs(files[f])).toEqual(['BASE_IMAGE=python:3.10-slim']);
    });

    it.each([TRAINING_CUDA, INFERENCE_CUDA])(
      '%s installs the CUDA build of torch from its wheel index, before the requirements',
      (f) => {
        expect(stageArgs(files[f], 'builder', 'ARG')).toContain(
          'TORCH_INDEX_URL=https://download.pytorch.org/whl/cu124',
        );
        const runs = builderRuns(files[f]);
        const torch = runs.indexOf(
          `if [ -n "$TORCH_INDEX_URL" ] && [ -z "$PIP_NO_INDEX" ]; then /opt/venv/bin/pip install --index-url "$TORCH_INDEX_URL" "torch==${variant.torch}"; fi`,
        );
        expect(torch).toBeGreaterThan(
          runs.indexOf('python3 -m venv --system-site-packages /opt/venv'),
        );
        expect(torch).toBeLessThan(
          runs.indexOf('/opt/venv/bin/pip install -r requirements.txt'),
        );
      },
    );

    it.each([TRAINING_CUDA, INFERENCE_CUDA])(
      '%s lets the NVIDIA runtime expose the GPU',
      (f) => {
        const env = stageArgs(files[f], 'runtime', 'ENV').join(' ');
        expect(env).toContain('NVIDIA_VISIBLE_DEVICES=all');
        expect(env).toContain('NVIDIA_DRIVER_CAPABILITIES=compute,utility');
      },
    );

    it.each([
      [TRAINING_CUDA, 'synth-training-cuda'],
      [INFERENCE_CUDA, 'synth-inference-cuda'],
    ])('%s is labelled as the cuda12.4 variant, titled %s', (f, title) => {
      expect(labelValue(files[f], 'ml-docker.accelerator')).toBe('cuda12.4');
      expect(labelValue(files[f], 'org.opencontainers.image.title')).toBe(
        title,
      );
    });

    it.each([TRAINING, INFERENCE])('%s stays the CPU variant', (f) => {
      expect(labelValue(files[f], 'ml-docker.accelerator')).toBe('cpu');
      expect(files[f]).not.toMatch(/NVIDIA|TORCH_INDEX_URL|python3-venv/);
    });

    it.each([
      [TRAINING_CUDA, TRAINING],
      [INFERENCE_CUDA, INFERENCE],
    ])('%s has the user, HEALTHCHECK, CMD and labels of %s', (cuda, cpu) => {
      for (const keyword of [
        'USER',
        'HEALTHCHECK',
        'CMD',
        'ENTRYPOINT',
        'EXPOSE',
      ])
        expect(argsOf(files[cuda], keyword)).toEqual(
          argsOf(files[cpu], keyword),
        );
      for (const label of ['ml-docker.health-path', 'ml-docker.outputs'])
        expect(labelValue(files[cuda], label)).toBe(
          labelValue(files[cpu], label),
        );
      expect(stageArgs(files[cuda], 'runtime', 'COPY')).toEqual(
        stageArgs(files[cpu], 'runtime', 'COPY').map((c) =>
          c.replace('docker/training/', 'docker/training-cuda/'),
        ),
      );
    });

    it('the CUDA training image runs its own entrypoint', () => {
      expect(stageArgs(files[TRAINING_CUDA], 'runtime', 'COPY')).toContain(
        'docker/training-cuda/entrypoint.sh /usr/local/bin/ml-entrypoint',
      );
    });

    describe('Python, which nvidia/cuda images lack', () => {
      const BUILDER_PYTHON =
        'if ! command -v python3 >/dev/null 2>&1; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv && rm -rf /var/lib/apt/lists/*; fi';
      const RUNTIME_PYTHON =
        'if ! command -v python3 >/dev/null 2>&1; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*; fi';

      it.each([TRAINING_CUDA, INFERENCE_CUDA])(
        '%s installs python3 and venv in the builder, first, before the virtualenv is made',
        (f) => {
          const runs = stageArgs(files[f], 'builder', 'RUN');
          expect(runs[0]).toBe(BUILDER_PYTHON);
          expect(
            runs.indexOf('python3 -m venv --system-site-packages /opt/venv'),
          ).toBeGreaterThan(0);
          // Before the build args, so changing one never reinstalls Python.
          const builder = stageOf(files[f], 'builder');
          expect(builder[1]).toEqual({ keyword: 'RUN', args: BUILDER_PYTHON });
        },
      );

      it.each([TRAINING_CUDA, INFERENCE_CUDA])(
        '%s installs python3 in the runtime stage, before the virtualenv is copied in',
        (f) => {
          const runtime = stageOf(files[f], 'runtime');
          const python = runtime.findIndex(
            (i) => i.keyword === 'RUN' && i.args === RUNTIME_PYTHON,
          );
          const venv = runtime.findIndex(
            (i) => i.args === '--from=builder /opt/venv /opt/venv',
          );
          expect(python).toBeGreaterThan(0);
          expect(python).toBeLessThan(venv);
        },
      );

      it.each([TRAINING, INFERENCE])('%s (CPU) installs no Python', (f) => {
        expect(files[f]).not.toContain('command -v python3');
      });

      /** Runs a RUN line with sh, with PATH holding only stubs: apt-get and rm record their calls, python3 exists or not. */
      function runStubbed(command: string, withPython: boolean): string[] {
        const dir = mkdtempSync(join(tmpdir(), 'ml-docker-run-'));
        try {
          const log = join(dir, 'calls.log');
          writeFileSync(log, '');
          const stub = (name: string, body: string) => {
            writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
            chmodSync(join(dir, name), 0o755);
          };
          stub(
            'apt-get',
            `echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND apt-get $*" >> "${log}"`,
          );
          stub('rm', `echo "rm $*" >> "${log}"`);
          if (withPython) stub('python3', 'exit 0');
          execFileSync('/bin/sh', ['-c', command], {
            env: { PATH: dir },
            stdio: 'pipe',
          });
          return readFileSync(log, 'utf8').split('\n').filter(Boolean);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }

      it.each([
        [
          'builder',
          BUILDER_PYTHON,
          'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv',
        ],
        [
          'runtime',
          RUNTIME_PYTHON,
          'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3',
        ],
      ])(
        'the %s step installs Python when the base image has no python3',
        (_stage, command, install) => {
          expect(runStubbed(command, false)).toEqual([
            'DEBIAN_FRONTEND= apt-get update',
            install,
            expect.stringMatching(/^rm -rf \/var\/lib\/apt\/lists\//),
          ]);
        },
      );

      it.each([
        ['builder', BUILDER_PYTHON],
        ['runtime', RUNTIME_PYTHON],
      ])(
        'the %s step leaves a base image that has python3 untouched (an offline mirror needs no apt)',
        (_stage, command) => {
          expect(runStubbed(command, true)).toEqual([]);
        },
      );
    });
  });

  describe('other accelerators', () => {
    it.each<[string, string, { torch?: string; torchFrom?: string }]>([
      ['an unpinned torch: the newest build', 'torch>=2.2', {}],
      [
        'torch==2.6.0: the newest CUDA build of 2.6.0',
        'torch==2.6.0',
        { torch: '2.6.0' },
      ],
      [
        'torch==2.5.*: the newest 2.5 release',
        'torch==2.5.*',
        { torch: '2.5' },
      ],
    ])(
      '--accelerator=cuda installs the torch the project pins: %s',
      async (_label, line, pin) => {
        const tree = mlWorkspace({
          'requirements.txt': TORCH_REQUIREMENTS.replace('torch==2.6.0', line),
        });
        await generate(tree, { accelerator: 'cuda' });
        const expected = resolveCudaVariant({ python: '3.10', ...pin });
        const cuda = read(tree, INFERENCE_CUDA);
        expect(labelValue(cuda, 'ml-docker.accelerator')).toBe(
          expected.accelerator,
        );
        expect(cuda).toContain(`torch==${expected.torch}`);
      },
    );

    it('--accelerator=cuda with --image=inference writes inference and inference-cuda only', async () => {
      const tree = mlWorkspace({
        'requirements.txt': TORCH_REQUIREMENTS.replace('torch==2.6.0', 'torch'),
      });
      await generate(tree, { accelerator: 'cuda', image: 'inference' });
      expect(dockerFiles(tree)).toEqual([INFERENCE, INFERENCE_CUDA].sort());
      const newest = resolveCudaVariant({ python: '3.10' });
      expect(
        labelValue(read(tree, INFERENCE_CUDA), 'ml-docker.accelerator'),
      ).toBe(newest.accelerator);
      expect(globalArgs(read(tree, INFERENCE_CUDA))).toEqual([
        `BASE_IMAGE=${newest.baseImage}`,
      ]);
    });

    it('--baseImage sets the CPU variant only: the CUDA variant keeps the nvidia/cuda image', async () => {
      const tree = mlWorkspace({ 'requirements.txt': TORCH_REQUIREMENTS });
      await generate(tree, {
        accelerator: 'cuda12.4',
        baseImage: 'mirror.example.com/python:3.10-slim',
      });
      expect(globalArgs(read(tree, INFERENCE))).toEqual([
        'BASE_IMAGE=mirror.example.com/python:3.10-slim',
      ]);
      expect(globalArgs(read(tree, INFERENCE_CUDA))).toEqual([
        'BASE_IMAGE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04',
      ]);
    });

    it('a CUDA training image of a DVC project installs git too', async () => {
      const tree = mlWorkspace({
        ...DVC_FILES,
        'requirements.txt': `${TORCH_REQUIREMENTS}dvc==3.55.2\n`,
      });
      await generate(tree, { accelerator: 'cuda12.4' });
      expect(stageArgs(read(tree, TRAINING_CUDA), 'runtime', 'RUN')).toContain(
        'apt-get update && apt-get install -y --no-install-recommends git ca-certificates && rm -rf /var/lib/apt/lists/*',
      );
    });

    it.each([
      ['cuda', '--accelerator=cuda'],
      ['cuda12.4', '--accelerator=cuda12.4'],
    ])(
      'refuses --accelerator=%s on a project without torch and writes nothing',
      async (accelerator, named) => {
        const tree = mlWorkspace();
        expect(await refusal(tree, { accelerator })).toBe(
          `${named} needs a GPU framework in the project's runtime dependencies, and none was found (looked for torch). Add torch to the dependencies, or leave --accelerator at cpu.`,
        );
      },
    );

    it.each([
      [
        'cuda12.2',
        {},
        "No CUDA build of torch 2.6.0 (the version the project's dependencies pin) for CUDA 12.2 with Python 3.10 in @ml/docker's table. Known for torch 2.6.0 with Python 3.10: cuda11.8, cuda12.4, cuda12.6. Pick one of those with --accelerator=cudaX.Y, or build with your own BASE_IMAGE and TORCH_INDEX_URL build args.",
      ],
      [
        'cuda13',
        {},
        "No CUDA build of torch 2.6.0 (the version the project's dependencies pin) for CUDA 13.x with Python 3.10 in @ml/docker's table. Known for torch 2.6.0 with Python 3.10: cuda11.8, cuda12.4, cuda12.6. Pick one of those with --accelerator=cudaX.Y, or build with your own BASE_IMAGE and TORCH_INDEX_URL build args.",
      ],
      [
        'cuda12.1',
        { pythonVersion: '3.13' },
        "No CUDA build of torch 2.6.0 (the version the project's dependencies pin) for CUDA 12.1 with Python 3.13 in @ml/docker's table. Known for torch 2.6.0 with Python 3.13: cuda11.8, cuda12.4, cuda12.6. Pick one of those with --accelerator=cudaX.Y, or build with your own BASE_IMAGE and TORCH_INDEX_URL build args.",
      ],
    ])(
      "refuses the unknown combination --accelerator=%s %j with the table's known ones, and writes nothing",
      async (accelerator, options, message) => {
        const tree = mlWorkspace({ 'requirements.txt': TORCH_REQUIREMENTS });
        expect(await refusal(tree, { accelerator, ...options })).toBe(message);
      },
    );

    it.each(['gpu', 'cu124', 'rocm6.2'])(
      'refuses --accelerator=%s before reading the project',
      async (accelerator) => {
        const tree = mlWorkspace({ 'requirements.txt': TORCH_REQUIREMENTS });
        expect(await refusal(tree, { accelerator })).toBe(
          `Unknown accelerator "${accelerator}". Use --accelerator=cpu, --accelerator=cuda (newest CUDA build), --accelerator=cuda12 (newest CUDA 12.x) or --accelerator=cuda12.4 (that CUDA version).`,
        );
      },
    );
  });

  describe('refusals', () => {
    const VALUE_MESSAGES: Array<
      [string, Partial<ImagesGeneratorSchema>, string]
    > = [
      [
        'an unknown project',
        { project: 'nope' },
        'Project "nope" does not exist in this workspace. Check the name with: nx show projects',
      ],
      [
        'an unknown image',
        { image: 'both' as never },
        '--image must be all, training or inference (got "both").',
      ],
      ...[0, 70000, 1.5, -1].map(
        (port): [string, Partial<ImagesGeneratorSchema>, string] => [
          `port ${port}`,
          { port },
          `--port must be an integer from 1 to 65535 (got ${port}).`,
        ],
      ),
      ...['health', '/he alth', '/$(x)', "/h'+'x", ''].map(
        (healthPath): [string, Partial<ImagesGeneratorSchema>, string] => [
          `healthPath ${JSON.stringify(healthPath)}`,
          { healthPath },
          `--healthPath must start with / and hold only letters, digits and . _ ~ - / (got "${healthPath}").`,
        ],
      ),
      ...['3', '2.7', '3.10.4', 'latest'].map(
        (pythonVersion): [string, Partial<ImagesGeneratorSchema>, string] => [
          `pythonVersion ${pythonVersion}`,
          { pythonVersion },
          `--pythonVersion must look like 3.10 (got "${pythonVersion}").`,
        ],
      ),
      ...[
        'python 3.10',
        'python:3.10;rm -rf /',
        '$(x)',
        '-python',
        'python@sha256:abc',
        '',
      ].map((baseImage): [string, Partial<ImagesGeneratorSchema>, string] => [
        `baseImage ${JSON.stringify(baseImage)}`,
        { baseImage },
        `--baseImage "${baseImage}" is not an image reference (e.g. python:3.10-slim or registry/path/image:tag).`,
      ]),
      ...['MLUser', '1ml', 'ml user', 'a'.repeat(33)].map(
        (user): [string, Partial<ImagesGeneratorSchema>, string] => [
          `user ${JSON.stringify(user)}`,
          { user },
          `--user must be a valid Linux user name such as mluser (got "${user}").`,
        ],
      ),
      ...[999, 0, 10001.5].map(
        (uid): [string, Partial<ImagesGeneratorSchema>, string] => [
          `uid ${uid}`,
          { uid },
          `--uid must be a number of at least 1000, so the user is not a system or root account (got ${uid}).`,
        ],
      ),
      ...[
        'src/model/train',
        'src.model.train:main',
        'src.model.',
        'src/model/train.py',
      ].map(
        (trainingModule): [string, Partial<ImagesGeneratorSchema>, string] => [
          `trainingModule ${JSON.stringify(trainingModule)}`,
          { trainingModule },
          `--trainingModule must be a dotted Python module such as src.model.train (got "${trainingModule}").`,
        ],
      ),
      ...[
        'src.serve.app',
        'src/serve/app:app',
        'src.serve.app:create_app()',
      ].map((appModule): [string, Partial<ImagesGeneratorSchema>, string] => [
        `appModule ${JSON.stringify(appModule)}`,
        { appModule },
        `--appModule must look like package.module:app (got "${appModule}").`,
      ]),
      [
        'a trainingCommand with an unclosed quote',
        { trainingCommand: 'python -m x --name "my run' },
        '--trainingCommand has an unclosed " quote (got "python -m x --name \\"my run").',
      ],
      [
        'an empty trainingCommand',
        { trainingCommand: '  ' },
        '--trainingCommand is empty: give the command and its arguments.',
      ],
      [
        'runtimeFiles that do not exist',
        { runtimeFiles: ['conf/'] },
        '--runtimeFiles names conf/, which does not exist in apps/synth. Check the path (relative to the project).',
      ],
      [
        'runtimeFiles outside the project',
        { runtimeFiles: ['../other/conf.yaml'] },
        '"../other/conf.yaml" is not a path inside the project (relative, no .., no spaces): fix --runtimeFiles / --excludeRuntimeFiles.',
      ],
      [
        'trainingModule of a module that does not exist',
        { trainingModule: 'pipelines.not_here' },
        'The training module pipelines.not_here does not exist in apps/synth (no pipelines/not_here.py). Pass --trainingModule=<package.module>, or --image=inference for a serving-only project.',
      ],
    ];

    it.each(VALUE_MESSAGES)(
      'refuses %s and writes nothing',
      async (_label, options, message) => {
        const tree = mlWorkspace();
        expect(await refusal(tree, options)).toBe(message);
      },
    );

    it.each<[string, Record<string, string | null>, string]>([
      [
        'a project with nothing to install',
        { 'requirements.txt': null },
        'Project "synth" has nothing to install: no requirements.txt, pyproject.toml or setup.py in apps/synth. Add one listing the Python dependencies, then rerun.',
      ],
      [
        'a project without a FastAPI app',
        {
          'src/serve/app.py':
            'from flask import Flask\napp = Flask(__name__)\n',
        },
        'No FastAPI app found in project "synth" (looked for app = FastAPI(...) in its .py files outside tests/ and notebooks/). Pass --appModule=<module:attr>, or --image=training to generate only the training image.',
      ],
      [
        'a project with two FastAPI apps',
        { 'src/api/main.py': 'import fastapi\n\napi = fastapi.FastAPI()\n' },
        'Project "synth" has several FastAPI apps (src.api.main:api, src.serve.app:app). Choose one with --appModule=<module:attr>.',
      ],
    ])('refuses %s and writes nothing', async (_label, files, message) => {
      const tree = mlWorkspace(files);
      expect(await refusal(tree)).toBe(message);
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
      'refuses to replace %s once it was edited, pointing at --overwrite, and writes nothing',
      async (path) => {
        const tree = mlWorkspace();
        await generate(tree);
        tree.write(path, `${read(tree, path)}# my own line\n`);
        jest.mocked(formatFiles).mockClear();
        expect(await refusal(tree, { port: 9000 })).toBe(
          `${path} was edited since it was generated; it was left as it is and nothing was written. Rerun with --overwrite to replace it (your edits are lost), or merge the changes by hand.`,
        );
      },
    );

    it.each<[string, string, string]>([
      [
        'docker/inference/Dockerfile',
        'FROM python:3.10-slim\nCMD ["python"]\n',
        `${INFERENCE} was written by hand, not by @ml/docker:images; it was left as it is and nothing was written. Keep it (docker-build, docker-test and docker-push work with any docker/<image>/Dockerfile; generate only the other image with --image=training), or replace it with --overwrite.`,
      ],
      [
        'docker/training/Dockerfile',
        'FROM python:3.10-slim\nCMD ["python", "train.py"]\n',
        `${TRAINING} was written by hand, not by @ml/docker:images; it was left as it is and nothing was written. Keep it (docker-build, docker-test and docker-push work with any docker/<image>/Dockerfile; generate only the other image with --image=inference), or replace it with --overwrite.`,
      ],
      [
        '.dockerignore',
        '.git\n',
        `${DOCKERIGNORE} was written by hand, not by @ml/docker:images; it was left as it is and nothing was written. Keep it, or replace it with --overwrite.`,
      ],
    ])(
      'refuses to replace the hand-written %s, which it never generated, and writes nothing',
      async (file, content, message) => {
        const tree = mlWorkspace({ [file]: content });
        expect(await refusal(tree)).toBe(message);
      },
    );

    it('points a hand-written CUDA training Dockerfile at --image=inference', async () => {
      const tree = mlWorkspace({
        'requirements.txt': TORCH_REQUIREMENTS,
        'docker/training-cuda/Dockerfile':
          'FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04\n',
      });
      expect(await refusal(tree, { accelerator: 'cuda12.4' })).toBe(
        `${TRAINING_CUDA} was written by hand, not by @ml/docker:images; it was left as it is and nothing was written. Keep it (docker-build, docker-test and docker-push work with any docker/<image>/Dockerfile; generate only the other image with --image=inference), or replace it with --overwrite.`,
      );
    });

    it('generates the other image next to a hand-written one', async () => {
      const handWritten = 'FROM python:3.10-slim\nCMD ["python", "train.py"]\n';
      const tree = mlWorkspace({ 'docker/training/Dockerfile': handWritten });
      await generate(tree, { image: 'inference' });
      expect(read(tree, TRAINING)).toBe(handWritten);
      expect(tree.exists(INFERENCE)).toBe(true);
    });

    it.each([
      ['an edited file', (text: string) => `${text}RUN echo my own edit\n`],
      ['a hand-written file', () => 'FROM python:3.10-slim\n'],
    ])('replaces %s with overwrite', async (_label, edit) => {
      const tree = mlWorkspace();
      await generate(tree, { port: 9000 });
      const pristine = read(tree, INFERENCE);
      tree.write(INFERENCE, edit(pristine));
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

    it('tells a registered @nx/docker to leave docker/<image>/Dockerfile to @ml/docker', async () => {
      const tree = withPlugins(['@nx/docker']);
      await generate(tree);
      expect(nxJsonPlugins(tree)).toEqual([
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
      },
    );

    it('leaves the targets of project.json as they are', async () => {
      const targets = {
        'docker-build': {
          executor: 'nx:run-commands',
          options: { command: 'docker build -t synth .' },
        },
      };
      const tree = mlWorkspace({}, targets);
      const before = tree.read(`${ROOT}/project.json`, 'utf-8');
      await generate(tree, { healthPath: '/healthz' });
      expect(tree.read(`${ROOT}/project.json`, 'utf-8')).toBe(before);
    });
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

    describe('with one library', () => {
      let tree: Tree;
      let library: ReturnType<typeof changes>;
      const inLibrary = (c: { path: string }) => c.path.startsWith('libs/');

      beforeAll(async () => {
        jest.spyOn(logger, 'info').mockImplementation(() => undefined);
        tree = mlWorkspace();
        addLib(tree, 'ml-common');
        library = changes(tree).filter(inLibrary);
        await generate(tree, { sharedLibs: ['ml-common'] });
        jest.restoreAllMocks();
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
          const runtime = stageArgs(read(tree, file), 'runtime', 'COPY');
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
        '%s needs BuildKit for its secret mounts only',
        (file) => {
          expect(
            needsBuildKit(
              read(tree, file).replace(/--mount=type=secret\S+/g, ''),
            ),
          ).toBeUndefined();
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
          stageArgs(text, 'runtime', 'COPY').filter((c) =>
            c.includes('/python/'),
          ),
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
        '--sharedLibs names "ml-common", which has no docker/lib/Dockerfile. A shared library ships as an artifact image (FROM scratch, its packages under /python/) that images COPY --from.',
      ],
      [
        'a second library that is not a project',
        ['ml-common', 'nope'],
        (tree) => addLib(tree, 'ml-common'),
        '--sharedLibs names "nope", which is not a project of this workspace. Check the name with: nx show projects',
      ],
    ])(
      'refuses %s and writes nothing',
      async (_label, sharedLibs, setup, message) => {
        const tree = mlWorkspace();
        setup(tree);
        expect(await refusal(tree, { sharedLibs })).toBe(message);
      },
    );
  });
});
