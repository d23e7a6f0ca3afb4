// Project graph of a generated 200-project workspace with Dockerfiles: how
// long the plugin's inference (createNodes) and Dockerfile edges
// (createDependencies) take, measured two ways:
//  (a) the built plugin's two exported functions called directly, each in a
//      fresh Node process (what one nx command without the daemon pays:
//      Nx 23 loads every plugin in its own worker process per command);
//  (b) `nx graph --file=…` wall time with the plugin registered against the
//      same workspace without it: the difference is what users wait for,
//      including the plugin worker's start and module loading.
// The edges both ways produce are compared with the ones the generator meant
// to create, so a fast number cannot come from a wrong graph.
//
//   node bench/graph-200.mjs [--runs=N] [--build]
//   (N from 1 to 9, default 3; --build rebuilds dist/packages/docker first)
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  flag,
  fmtMs,
  fmtRatio,
  lastLines,
  main,
  makeTempDir,
  median,
  printReport,
  ROOT,
  run,
  sleep,
} from './lib.mjs';

const PROJECTS = 200;
const GOAL_MS = 1000;
const WARM_REPEATS = 5;
const DIST = path.join(ROOT, 'dist', 'packages', 'docker');
// Files a complete build has: dist/ is rebuilt by other people's runs too,
// and a copy taken mid-build would load half a plugin.
const DIST_FILES = [
  'package.json',
  'src/index.js',
  'src/plugins/plugin.js',
  'src/dockerfile/dockerfile.js',
  'src/record/workspace-images.js',
  'src/build/docker-context.js',
];
/** The plugin as installed in the workspace (a copy of dist/packages/docker). */
const pluginMain = (ws) =>
  path.join(ws, 'node_modules', '@ml', 'docker', 'src', 'index.js');
// nx's own bin (from its package.json), so npx's start-up is not in the numbers.
const NX_BIN = (() => {
  const pkg = path.join(ROOT, 'node_modules', 'nx', 'package.json');
  return path.join(
    path.dirname(pkg),
    JSON.parse(fs.readFileSync(pkg, 'utf8')).bin.nx,
  );
})();
const REGISTRY = '127.0.0.1:5000';

// ------------------------------------------------------------ the workspace

/**
 * The three Dockerfile shapes of the generated model projects, in turn:
 * what each one's docker/inference and docker/training Dockerfiles use and
 * therefore which edges the plugin must draw.
 */
const SHAPES = [
  {
    // The generator's templates as they are (examples/synth): ml-base through
    // the BASE_IMAGE ARG default, ml-common's image as a named stage.
    name: 'ARG BASE_IMAGE=…/ml-base + FROM ${ML_COMMON_IMAGE} stage (as generated)',
    edges: ['ml-base', 'ml-common'],
    transform: (text) => text,
  },
  {
    // No shared library: only the base image.
    name: 'ARG BASE_IMAGE=…/ml-base, no library',
    edges: ['ml-base'],
    transform: (text) => withoutCommonStage(text, { keepCopy: false }),
  },
  {
    // An external base (no edge) and the library copied straight from its
    // image, like a hand-written Dockerfile: COPY --from=<image ref>.
    name: 'ARG BASE_IMAGE=python:3.11-slim (external) + COPY --from=…/ml-common-lib',
    edges: ['ml-common'],
    transform: (text) =>
      replaceOnce(
        withoutCommonStage(text, { keepCopy: true }),
        `ARG BASE_IMAGE=${REGISTRY}/ml-images/ml-base:latest`,
        'ARG BASE_IMAGE=python:3.11-slim',
      ),
  },
];

/** Replaces exactly one occurrence, or throws: a changed template must not silently change the edges. */
function replaceOnce(text, from, to) {
  const i = text.indexOf(from);
  if (i < 0 || text.indexOf(from, i + 1) >= 0)
    throw new Error(
      `generator: expected exactly one "${from}" in the template Dockerfile`,
    );
  return text.slice(0, i) + to + text.slice(i + from.length);
}

function withoutCommonStage(text, { keepCopy }) {
  let t = replaceOnce(
    text,
    `ARG ML_COMMON_IMAGE=${REGISTRY}/ml-images/ml-common-lib:latest\n`,
    '',
  );
  t = replaceOnce(
    t,
    "# Shared library ml-common, built by that project's docker/lib/Dockerfile.\nFROM ${ML_COMMON_IMAGE} AS ml-common\n",
    '',
  );
  return replaceOnce(
    t,
    'COPY --from=ml-common --chown=10001:10001 /python/ ./\n',
    keepCopy
      ? `COPY --from=${REGISTRY}/ml-images/ml-common-lib:latest --chown=10001:10001 /python/ ./\n`
      : '',
  );
}

/**
 * node_modules of the temporary workspace: a symlink to each package of the
 * repository's node_modules. The plugin itself is copied in by installPlugin().
 */
function linkNodeModules(ws) {
  const nm = path.join(ws, 'node_modules');
  fs.mkdirSync(path.join(nm, '@ml'), { recursive: true });
  for (const entry of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    if (entry === '@ml' || entry.startsWith('.package-lock')) continue;
    fs.symlinkSync(
      path.join(ROOT, 'node_modules', entry),
      path.join(nm, entry),
    );
  }
}

/**
 * Copies the built plugin to node_modules/@ml/docker, as if installed from a
 * registry (its own imports resolve through the linked packages). A copy, not
 * a link: someone rebuilding dist/ mid-benchmark must not change what is
 * measured. Retries while dist/ is incomplete (being rebuilt).
 */
async function installPlugin(ws) {
  const dest = path.join(ws, 'node_modules', '@ml', 'docker');
  for (let attempt = 1; ; attempt++) {
    fs.rmSync(dest, { recursive: true, force: true });
    const stamp = () =>
      fs.existsSync(path.join(DIST, 'src', 'plugins', 'plugin.js'))
        ? fs.statSync(path.join(DIST, 'src', 'plugins', 'plugin.js')).mtimeMs
        : NaN;
    const before = stamp();
    if (DIST_FILES.every((f) => fs.existsSync(path.join(DIST, f)))) {
      fs.cpSync(DIST, dest, { recursive: true });
      const complete = DIST_FILES.every((f) =>
        fs.existsSync(path.join(dest, f)),
      );
      if (complete && stamp() === before) return new Date(before).toISOString();
    }
    if (attempt === 12)
      throw new Error(
        `${DIST} stayed incomplete for a minute (being rebuilt?)`,
      );
    await sleep(5000);
  }
}

function writeNxJson(ws, withPlugin) {
  fs.writeFileSync(
    path.join(ws, 'nx.json'),
    JSON.stringify(
      {
        $schema: './node_modules/nx/schemas/nx-schema.json',
        analytics: false,
        // Its own cache: Nx 23 otherwise shares one per repository under ~/.nx.
        cacheDirectory: '.nx/cache',
        plugins: withPlugin ? ['@ml/docker'] : [],
      },
      null,
      2,
    ),
  );
}

/**
 * 2 shared projects (examples/ml-base, examples/ml-common) and 198 model
 * projects, each a copy of examples/synth (without its trained model) with
 * both Dockerfiles in one of the SHAPES. Returns the edges the plugin should
 * draw, as "source>target", and each model's shape (index into SHAPES).
 */
function generateWorkspace(ws) {
  fs.mkdirSync(ws, { recursive: true });
  linkNodeModules(ws);
  fs.writeFileSync(
    path.join(ws, 'package.json'),
    JSON.stringify({ name: 'bench-ws', private: true }, null, 2),
  );
  fs.writeFileSync(path.join(ws, '.gitignore'), 'node_modules\n.nx\ndist\n');
  writeNxJson(ws, true);

  const examples = path.join(ROOT, 'examples');
  for (const lib of ['ml-base', 'ml-common'])
    fs.cpSync(path.join(examples, lib), path.join(ws, 'libs', lib), {
      recursive: true,
    });

  const synth = path.join(examples, 'synth');
  const templates = Object.fromEntries(
    ['inference', 'training'].map((image) => [
      image,
      fs.readFileSync(path.join(synth, 'docker', image, 'Dockerfile'), 'utf8'),
    ]),
  );
  const projectJson = fs.readFileSync(path.join(synth, 'project.json'), 'utf8');
  const expected = new Set();
  const shapeOf = new Map();
  const models = PROJECTS - 2;
  for (let i = 1; i <= models; i++) {
    const name = `model-${String(i).padStart(3, '0')}`;
    const root = `apps/${name}`;
    const dir = path.join(ws, root);
    fs.cpSync(synth, dir, {
      recursive: true,
      // The trained model (git-ignored, 0.4 MB) is not what the graph reads.
      filter: (src) => !src.startsWith(path.join(synth, 'models')),
    });
    fs.writeFileSync(
      path.join(dir, 'project.json'),
      projectJson
        .replaceAll('examples/synth', root)
        .replace('"name": "synth"', `"name": "${name}"`),
    );
    const shape = SHAPES[i % SHAPES.length];
    shapeOf.set(name, i % SHAPES.length);
    for (const [image, text] of Object.entries(templates))
      fs.writeFileSync(
        path.join(dir, 'docker', image, 'Dockerfile'),
        shape
          .transform(text)
          .replace(`title="synth-${image}"`, `title="${name}-${image}"`),
      );
    for (const target of shape.edges) expected.add(`${name}>${target}`);
  }
  return { expected, shapeOf };
}

/** Every file under dir (workspace-relative, '/'-separated), without node_modules and .nx. */
function listFiles(ws, dir = '') {
  const out = [];
  for (const e of fs.readdirSync(path.join(ws, dir), { withFileTypes: true })) {
    if (!dir && (e.name === 'node_modules' || e.name === '.nx')) continue;
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(ws, rel));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

// ----------------------------------------------- (a) the plugin's functions

/**
 * What Nx hands the plugin, prepared outside the clock: the files matching
 * its glob (Nx globs them natively), nx.json, and every project's files.
 */
function pluginInputs(ws) {
  const files = listFiles(ws).sort();
  const projectRoots = files
    .filter((f) => f.endsWith('/project.json'))
    .map((f) => path.posix.dirname(f));
  const projectJsons = Object.fromEntries(
    projectRoots.map((root) => [
      root,
      JSON.parse(fs.readFileSync(path.join(ws, root, 'project.json'), 'utf8')),
    ]),
  );
  const projectFileMap = {};
  const nonProjectFiles = [];
  for (const file of files) {
    const root = projectRoots.find((r) => file.startsWith(`${r}/`));
    const entry = { file, hash: '0' };
    if (root) (projectFileMap[projectJsons[root].name] ??= []).push(entry);
    else nonProjectFiles.push(entry);
  }
  return {
    dockerfiles: files.filter((f) =>
      /(^|\/)docker\/[^/]+\/Dockerfile$/.test(f),
    ),
    nxJsonConfiguration: JSON.parse(
      fs.readFileSync(path.join(ws, 'nx.json'), 'utf8'),
    ),
    projectJsons,
    fileMap: { projectFileMap, nonProjectFiles },
  };
}

/**
 * What Nx does between the two calls: project.json over the inferred
 * configuration (target by target, options merged).
 */
function mergeProjects(projectJsons, nodesResults) {
  const inferred = {};
  for (const [, result] of nodesResults)
    Object.assign(inferred, result.projects ?? {});
  const projects = {};
  for (const [root, pj] of Object.entries(projectJsons)) {
    const targets = { ...(inferred[root]?.targets ?? {}) };
    for (const [t, cfg] of Object.entries(pj.targets ?? {}))
      targets[t] = {
        ...targets[t],
        ...cfg,
        options: { ...targets[t]?.options, ...cfg.options },
      };
    projects[pj.name] = { ...inferred[root], ...pj, root, targets };
  }
  return projects;
}

/** Runs in a child process: one fresh process = one nx command's plugin worker. */
async function childMeasure(ws) {
  const inputs = pluginInputs(ws);
  const t0 = performance.now();
  const plugin = createRequire(import.meta.url)(pluginMain(ws));
  const loadMs = performance.now() - t0;
  const once = async () => {
    const t1 = performance.now();
    const nodes = await plugin.createNodes[1](
      inputs.dockerfiles,
      {},
      {
        nxJsonConfiguration: inputs.nxJsonConfiguration,
        workspaceRoot: ws,
      },
    );
    const nodesMs = performance.now() - t1;
    const projects = mergeProjects(inputs.projectJsons, nodes);
    const t2 = performance.now();
    const deps = await plugin.createDependencies(
      {},
      {
        projects,
        externalNodes: {},
        nxJsonConfiguration: inputs.nxJsonConfiguration,
        fileMap: inputs.fileMap,
        // A graph computed from scratch: every file is new to the plugin.
        filesToProcess: inputs.fileMap,
        workspaceRoot: ws,
      },
    );
    const depsMs = performance.now() - t2;
    return { nodes, projects, deps, nodesMs, depsMs };
  };
  const first = await once();
  const warm = [];
  for (let i = 0; i < WARM_REPEATS; i++) warm.push(await once());
  process.stdout.write(
    JSON.stringify({
      loadMs,
      dockerfiles: inputs.dockerfiles.length,
      cold: { nodesMs: first.nodesMs, depsMs: first.depsMs },
      warm: {
        nodesMs: median(warm.map((w) => w.nodesMs)),
        depsMs: median(warm.map((w) => w.depsMs)),
      },
      inferredProjects: Object.values(first.projects).filter(
        (p) => p.targets?.['docker-build']?.executor === '@ml/docker:build',
      ).length,
      deps: first.deps.map((d) => `${d.source}>${d.target}`),
    }),
  );
}

// ------------------------------------------------------- (b) nx graph

/** Nx's environment for a nested run: nothing inherited from an outer nx. */
function nxEnv() {
  const env = {};
  for (const k of Object.keys(process.env))
    if (k.startsWith('NX_')) env[k] = undefined; // undefined: not passed on
  return {
    ...env,
    CI: 'true',
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    FORCE_COLOR: '0',
  };
}

/**
 * `nx graph --file` in the workspace, through nx's bin. cold: .nx removed first, so Nx has no cached file map or
 * graph and hands every file to createDependencies; warm: the previous run's
 * cache is there, so only createNodes runs again and the edges come from it.
 */
function nxGraph(ws, out, { cold }) {
  if (cold) fs.rmSync(path.join(ws, '.nx'), { recursive: true, force: true });
  fs.rmSync(out, { force: true });
  const r = run(process.execPath, [NX_BIN, 'graph', `--file=${out}`], {
    cwd: ws,
    env: nxEnv(),
    timeoutMs: 300_000,
  });
  if (r.code !== 0 || !fs.existsSync(out))
    throw new Error(
      `nx graph failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}):\n${lastLines(r.stdout + r.stderr, 20)}`,
    );
  const { graph } = JSON.parse(fs.readFileSync(out, 'utf8'));
  const edges = Object.values(graph.dependencies)
    .flat()
    .filter((d) => graph.nodes[d.target]) // workspace projects, not npm packages
    .map((d) => `${d.source}>${d.target}`);
  const inferred = Object.values(graph.nodes).filter(
    (n) => n.data.targets?.['docker-build']?.executor === '@ml/docker:build',
  ).length;
  return {
    ms: r.ms,
    projects: Object.keys(graph.nodes).length,
    edges,
    inferred,
  };
}

/** Missing and unexpected edges, as a short text ("right" when none). */
function edgeCheck(found, expected) {
  const got = new Set(found);
  const missing = [...expected].filter((e) => !got.has(e));
  const extra = [...got].filter((e) => !expected.has(e));
  if (!missing.length && !extra.length) return { ok: true, text: 'right' };
  const some = (list) =>
    list.length
      ? ` (${list.slice(0, 3).join(', ')}${list.length > 3 ? ', …' : ''})`
      : '';
  return {
    ok: false,
    text: `${missing.length} missing${some(missing)}, ${extra.length} unexpected${some(extra)}`,
  };
}

/**
 * When edges of the COPY --from=<image> --chown shape are missing, checks the
 * likely cause on the parser itself: dockerfile-ast's getFromFlag() returns
 * null unless --from is the COPY's only flag.
 */
function copyFromFlagNote(ws, found, expected, shapeOf) {
  const got = new Set(found);
  const missing = [...expected].filter((e) => !got.has(e));
  if (!missing.length) return [];
  const shapes = new Set(missing.map((e) => shapeOf.get(e.split('>')[0]) + 1));
  const req = createRequire(pluginMain(ws));
  const { DockerfileParser } = req('dockerfile-ast');
  const { version } = req('dockerfile-ast/package.json');
  const copy = (flags) =>
    DockerfileParser.parse(`FROM x\nCOPY ${flags} /a /b\n`)
      .getCOPYs()[0]
      .getFromFlag()
      ?.getValue() ?? 'null';
  return [
    `missing edges come from shape(s) ${[...shapes].map((s) => `(${s})`).join(', ')}; dockerfile-ast ${version} (the plugin's parser), asked here: getFromFlag() of \`COPY --from=img /a /b\` is ${copy('--from=img')}, of \`COPY --from=img --chown=1:1 /a /b\` is ${copy('--from=img --chown=1:1')}, of \`COPY --chown=1:1 --from=img /a /b\` is ${copy('--chown=1:1 --from=img')} — packages/docker/src/dockerfile/dockerfile.ts imageUses() reads copy.getFromFlag(), so a COPY --from=<image> with any other flag gives no edge (the generated Dockerfiles only COPY --from stages, which need none)`,
  ];
}

/** Expected edges found, shape by shape: "(1) 132/132, (2) 66/66, (3) 0/66". */
function perShape(found, expected, shapeOf) {
  const got = new Set(found);
  return SHAPES.map((_, s) => {
    const want = [...expected].filter(
      (e) => shapeOf.get(e.split('>')[0]) === s,
    );
    return `(${s + 1}) ${want.filter((e) => got.has(e)).length}/${want.length}`;
  }).join(', ');
}

// -------------------------------------------------------------------- main

/** The built plugin: from dist/, built on request or when missing. */
function ensurePlugin(rebuild) {
  if (rebuild || !fs.existsSync(path.join(DIST, 'src', 'index.js'))) {
    console.error('building the plugin: nx run docker:build --skip-nx-cache …');
    const r = run('npx', ['nx', 'run', 'docker:build', '--skip-nx-cache'], {
      env: nxEnv(),
      timeoutMs: 600_000,
    });
    if (r.code !== 0)
      throw new Error(
        `nx run docker:build failed:\n${lastLines(r.stdout + r.stderr, 20)}`,
      );
  }
}

/** Plugin sources changed after the build that is measured (said in the report). */
function sourcesNewerThan(builtAt) {
  const built = Date.parse(builtAt);
  const src = path.join(ROOT, 'packages', 'docker', 'src');
  return fs
    .readdirSync(src, { recursive: true })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
    .map((f) => path.join('packages', 'docker', 'src', f))
    .filter((f) => fs.statSync(path.join(ROOT, f)).mtimeMs > built);
}

if (flag('child')) {
  await childMeasure(flag('child'));
  process.exit(0);
}

await main(async () => {
  const runs = Math.min(9, Math.max(1, Number(flag('runs', '3')) || 3));
  // Others run e2e suites on this machine: the load is part of the numbers.
  const loadStart = os.loadavg()[0];
  ensurePlugin(process.argv.includes('--build'));
  const tmp = makeTempDir('ml-bench-graph');
  const ws = path.join(tmp, 'ws');
  const { expected, shapeOf } = generateWorkspace(ws);
  const builtAt = await installPlugin(ws);
  const newer = sourcesNewerThan(builtAt);
  const files = listFiles(ws).length;

  // (a) one fresh process per run
  const a = [];
  for (let i = 0; i < runs; i++) {
    const r = run(
      process.execPath,
      [path.join(ROOT, 'bench', 'graph-200.mjs'), `--child=${ws}`],
      { timeoutMs: 300_000 },
    );
    if (r.code !== 0)
      throw new Error(`plugin measurement failed:\n${lastLines(r.stderr, 20)}`);
    a.push(JSON.parse(r.stdout));
  }
  const aEdges = edgeCheck(a[0].deps, expected);
  const aColdTotal = a.map((x) => x.cold.nodesMs + x.cold.depsMs);
  const aWarmTotal = a.map((x) => x.warm.nodesMs + x.warm.depsMs);

  // (b) nx graph without and with the plugin, alternating so that a change
  // in the machine's load (others share it) hits both alike. Each warm run
  // follows the cold run of the same setup and reuses the cache it left.
  const b = {
    'without-cold': [],
    'without-warm': [],
    'with-cold': [],
    'with-warm': [],
  };
  for (let i = 0; i < runs; i++) {
    for (const setup of ['without', 'with']) {
      writeNxJson(ws, setup === 'with');
      for (const state of ['cold', 'warm'])
        b[`${setup}-${state}`].push(
          nxGraph(ws, path.join(tmp, `${setup}-${state}-${i}.json`), {
            cold: state === 'cold',
          }),
        );
    }
  }
  const med = (key) => median(b[key].map((x) => x.ms));
  const bCheck = (key, want) => {
    const checks = b[key].map((x) => edgeCheck(x.edges, want));
    return checks.find((c) => !c.ok) ?? checks[0];
  };
  const costCold = med('with-cold') - med('without-cold');
  const costWarm = med('with-warm') - med('without-warm');
  const aCold = median(aColdTotal);
  const aLoadCold = median(
    a.map((x) => x.loadMs + x.cold.nodesMs + x.cold.depsMs),
  );

  const each = (values) => values.map(fmtMs).join(', ');
  const loadEnd = os.loadavg()[0];
  const rows = [
    [
      '(a) createNodes, first call in a fresh process',
      fmtMs(median(a.map((x) => x.cold.nodesMs))),
      '',
      each(a.map((x) => x.cold.nodesMs)),
      `${a[0].inferredProjects} projects get docker-* targets`,
    ],
    [
      '(a) createDependencies, first call (every Dockerfile parsed)',
      fmtMs(median(a.map((x) => x.cold.depsMs))),
      '',
      each(a.map((x) => x.cold.depsMs)),
      `${a[0].deps.length} edges from ${a[0].dockerfiles} Dockerfiles: ${aEdges.text}`,
    ],
    [
      '(a) createNodes + createDependencies, first call',
      fmtMs(aCold),
      fmtRatio(aCold, GOAL_MS),
      each(aColdTotal),
      '',
    ],
    [
      '(a) same, plus loading the plugin module (require of @ml/docker)',
      fmtMs(aLoadCold),
      fmtRatio(aLoadCold, GOAL_MS),
      each(a.map((x) => x.loadMs + x.cold.nodesMs + x.cold.depsMs)),
      `module load alone ${fmtMs(median(a.map((x) => x.loadMs)))}`,
    ],
    [
      `(a) createNodes + createDependencies, warm (median of ${WARM_REPEATS} more calls)`,
      fmtMs(median(aWarmTotal)),
      fmtRatio(median(aWarmTotal), GOAL_MS),
      each(aWarmTotal),
      '',
    ],
  ];
  for (const [key, label, want] of [
    [
      'without-cold',
      '(b) `nx graph` without the plugin, cold (.nx removed)',
      new Set(),
    ],
    [
      'with-cold',
      '(b) `nx graph` with the plugin, cold (.nx removed)',
      expected,
    ],
    [
      'without-warm',
      '(b) `nx graph` without the plugin, warm (cache of the run before)',
      new Set(),
    ],
    [
      'with-warm',
      '(b) `nx graph` with the plugin, warm (cache of the run before)',
      expected,
    ],
  ]) {
    const x = b[key][0];
    rows.push([
      label,
      fmtMs(med(key)),
      '',
      each(b[key].map((y) => y.ms)),
      `${x.projects} projects, ${x.inferred} with docker-* targets, ${x.edges.length} edges: ${bCheck(key, want).text}`,
    ]);
  }
  rows.push(
    [
      '(b) plugin cost, cold: with − without',
      fmtMs(costCold),
      fmtRatio(costCold, GOAL_MS),
      '',
      'includes starting its plugin worker',
    ],
    [
      '(b) plugin cost, warm: with − without',
      fmtMs(costWarm),
      fmtRatio(costWarm, GOAL_MS),
      '',
      'createNodes runs again; createDependencies gets only the changed files (none)',
    ],
  );

  const edgesRight =
    aEdges.ok &&
    bCheck('with-cold', expected).ok &&
    bCheck('with-warm', expected).ok;
  const coldGraphEdges = b['with-cold'][0].edges;
  printReport({
    title: `Project graph of a generated ${PROJECTS}-project workspace with Dockerfiles (${runs} run${runs > 1 ? 's, medians' : ''})`,
    headers: [
      'measurement',
      'time',
      'ratio to the 1 s goal',
      'each run',
      'checked',
    ],
    rows,
    goals: [
      {
        goal: `(a) the plugin's inference and Dockerfile edges (createNodes + createDependencies, first call) under ${GOAL_MS / 1000} s`,
        measured: fmtMs(aCold),
        met: Number.isFinite(aCold) ? aCold < GOAL_MS : undefined,
      },
      {
        goal: `(b) what the plugin adds to a cold \`nx graph\` (with − without) under ${GOAL_MS / 1000} s`,
        measured: fmtMs(costCold),
        met: Number.isFinite(costCold) ? costCold < GOAL_MS : undefined,
      },
      {
        // A time is only worth as much as the graph it produced.
        goal: `the edges are right: the ${expected.size} the Dockerfiles declare, none extra, in (a) and in every (b) run with the plugin`,
        measured: `found per shape ${perShape(coldGraphEdges, expected, shapeOf)}; ${bCheck('with-cold', expected).text}`,
        met: edgesRight,
      },
    ],
    notes: [
      `workspace: ${PROJECTS} projects (libs/ml-base, libs/ml-common from examples/, ${PROJECTS - 2} copies of examples/synth as apps/model-NNN), ${files} files, ${a[0].dockerfiles} Dockerfiles; each model's inference and training Dockerfiles in one of ${SHAPES.length} shapes, in turn: ${SHAPES.map((s, i) => `(${i + 1}) ${s.name} → ${s.edges.join(' + ')}`).join('; ')}`,
      `expected edges: ${expected.size} (model → ml-base / ml-common); "right" means the graph has exactly these between workspace projects, none missing, none extra (without the plugin: none at all)`,
      ...copyFromFlagNote(ws, coldGraphEdges, expected, shapeOf),
      `plugin: a copy of dist/packages/docker (plugin.js built ${builtAt}${newer.length ? `; sources newer than that build: ${newer.join(', ')}` : '; no plugin source is newer'}) installed as the workspace's node_modules/@ml/docker; the other packages linked from the repository's node_modules`,
      "(a) runs in a fresh `node` process per run (Nx 23 loads each plugin in its own worker per command without the daemon); Nx's own parts (globbing, file map, project.json merge) are prepared outside the clock; the OS file cache is warm (the workspace was just written); the module-load row may overstate what Nx's plugin worker pays, as that worker has parts of nx (which @nx/devkit loads) in memory already",
      `(b) \`node ${path.relative(ROOT, NX_BIN)} graph --file=<tmp>/….json\` with CI=true NX_DAEMON=false NX_NO_CLOUD=true and no inherited NX_* variable; cold = the workspace's .nx folder removed before each run; warm = right after, with the cache the cold run left; without and with the plugin alternate`,
      `machine load (1-min load average on ${os.cpus().length} cores): ${loadStart.toFixed(2)} at the start, ${loadEnd.toFixed(2)} at the end; other users' e2e suites share it`,
    ],
    command: `node bench/graph-200.mjs${runs !== 3 ? ` --runs=${runs}` : ''}`,
  });
});
