// Every CI runner is fresh: synth's inference image (with the ~270 MB
// pip-install stand-in in its builder stage, as in fresh-engine-cache.mjs)
// rebuilt after a one-file source edit on an engine with an EMPTY data root,
// with the plugin's per-stage registry cache against no cache, against the
// old inline-only cache (--cache-from :latest), and against the same rebuild
// on a warm engine that built it before; the same for Podman (a fresh store
// against a warm one); and what pushing the cache images costs when nothing
// changed.
//
// Engines: two second dockerds through tools/toolchain/remote-engine.sh on
// 127.0.0.1 (own data root, exec root and bridge; never --bridge=none): a
// warm one (machine A: built and pushed first, keeps its layers) and a fresh
// one, purged (data root deleted) and started again before every fresh
// build. Podman: stores of their own (CONTAINERS_STORAGE_CONF naming a
// storage.conf with a temporary graphroot), a new one for every fresh build.
// The shared engine and Podman's default store are never built on, pruned
// or reset; the base images are pushed under a unique repository first.
//
// The command lines are the plugin's: buildCommand() and cachePlan() from
// dist/packages/docker (build it first), with the stage builds the build
// service runs for the per-stage cache (`--target builder`, tagged
// :buildcache-builder, --cache-from every stage image and :latest).
//
//   node bench/fresh-runner-cache.mjs [--runs=N] [--engines=docker,podman]
//   (N from 1 to 3, default 1: each run is about 10 fresh builds and pulls)
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  copyExample,
  deleteManifestsOnCleanup,
  docker,
  DOCKER,
  dockerOk,
  ensureBuildRecord,
  flag,
  fmtMs,
  fmtRatio,
  lastLines,
  loadToolchainEnv,
  main,
  makeTempDir,
  median,
  on,
  onCleanup,
  onOk,
  printReport,
  recordedName,
  ROOT,
  run,
  uniqueSuffix,
} from './lib.mjs';

const GOAL_VS_NONE = 5;
const GOAL_VS_WARM = 1.3;
const FRESH_PORT = 23753;
const WARM_PORT = 23754;
const BUILD_BOUND_MS = 30 * 60_000;
const PULL_BOUND_MS = 20 * 60_000;
const REMOTE_ENGINE = path.join(ROOT, 'tools', 'toolchain', 'remote-engine.sh');
const LIB = path.join(ROOT, 'dist', 'packages', 'docker', 'src');
const PODMAN = process.env.BENCH_PODMAN || '/usr/bin/podman';

const PIP_LINE = 'RUN /opt/venv/bin/pip install -r requirements.txt\n';
const PIP_STAND_IN = [
  '# Stand-in for pip install from PyPI (unreachable here): the ML stack of the',
  "# base's system packages (numpy, scipy, pandas, scikit-learn, …, 270 MB) copied",
  '# into the virtualenv and byte-compiled: the local half of what pip does.',
  'RUN cp -r /usr/lib/python3/dist-packages/. "$(/opt/venv/bin/python -c \'import sysconfig; print(sysconfig.get_paths()["purelib"])\')"/ \\',
  "    && find /opt/venv -name '*.pyc' -delete \\",
  '    && /opt/venv/bin/python -m compileall -q -j 0 /opt/venv > /dev/null',
  '',
].join('\n');
const SERVING_MODULE = path.join('src', 'serve', 'app.py');
const DOCKERFILE = path.join('docker', 'inference-heavy', 'Dockerfile');

// ------------------------------------------------------------------ engines

/** A second dockerd through the toolchain script (start/purge), on 127.0.0.1:port. */
function remoteEngine(port, label) {
  const script = (cmd) => {
    const r = run('bash', [REMOTE_ENGINE, cmd, String(port)], {
      timeoutMs: 180_000,
    });
    if (r.code !== 0)
      throw new Error(
        `remote-engine.sh ${cmd} ${port} failed: ${lastLines(r.stderr || r.stdout, 8)}`,
      );
  };
  const engine = {
    label,
    host: `tcp://127.0.0.1:${port}`,
    /** Stop, delete the data root, start: an engine that never saw anything. */
    startEmpty() {
      script('purge');
      script('start');
      const images = on(engine, ['images', '-aq']).stdout.trim();
      const df = on(engine, [
        'system',
        'df',
        '--format',
        '{{.Type}} {{.TotalCount}}',
      ]);
      if (images || !/Build Cache 0/.test(df.stdout))
        throw new Error(`the ${label} engine is not empty after purge`);
    },
    purge: () => script('purge'),
  };
  onCleanup(`remote engine ${engine.host}`, () => script('purge'));
  return engine;
}

/** A Podman store of its own; removed (its images, mounts, folder) at cleanup. */
function podmanStore(label) {
  const dir = makeTempDir(`ml-bench-podman-${label}`);
  const conf = path.join(dir, 'storage.conf');
  fs.writeFileSync(
    conf,
    `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/graph"\nrunroot = "${dir}/run"\n`,
  );
  const store = { label, dir, env: { CONTAINERS_STORAGE_CONF: conf } };
  /** Its images, mounts and folder; also run early, once a fresh store has served. */
  store.dispose = () => {
    if (store.disposed) return;
    store.disposed = true;
    run(PODMAN, ['rmi', '-af'], { env: store.env, timeoutMs: 300_000 });
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m) => m && m.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) run('umount', ['-l', m], { timeoutMs: 30_000 });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  onCleanup(`podman store ${dir}`, store.dispose);
  const root = run(PODMAN, ['info', '--format', '{{.Store.GraphRoot}}'], {
    env: store.env,
  }).stdout.trim();
  if (root !== `${dir}/graph`)
    throw new Error(
      `podman ignores CONTAINERS_STORAGE_CONF (graph root ${root})`,
    );
  return store;
}

function podmanOk(store, args, opts = {}) {
  const r = run(PODMAN, args, { ...opts, env: { ...opts.env, ...store.env } });
  if (r.code !== 0)
    throw new Error(
      `podman ${args.slice(0, 2).join(' ')} in the ${store.label} store failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}): ${lastLines(r.stderr || r.stdout, 8)}`,
    );
  return r;
}

// ---------------------------------------------------------------- step logs

/** BuildKit plain progress: "#12 [builder 6/6] RUN …" opens a step, "#12 CACHED" skips it. */
function buildKitSteps(out) {
  const steps = new Map();
  for (const line of out.split('\n')) {
    const open = /^#(\d+) \[([^\]\s]+) (\d+\/\d+)\] (.*)$/.exec(line);
    if (open && !steps.has(open[1]))
      steps.set(open[1], {
        stage: open[2],
        name: `[${open[2]} ${open[3]}] ${open[4].trim()}`,
        instruction: open[4].trim(),
        cached: false,
      });
    const hit = /^#(\d+) CACHED\s*$/.exec(line.trim());
    if (hit && steps.has(hit[1])) steps.get(hit[1]).cached = true;
  }
  return [...steps.values()];
}

/** Podman: "[2/3] STEP 6/11: RUN …", then "--> Using cache <id>" when the layer was not built. */
function podmanStepsOf(out) {
  const steps = [];
  const names = new Map();
  for (const line of out.split('\n')) {
    const open = /^(?:\[(\d+)\/\d+\] )?STEP (\d+\/\d+): (.*)$/.exec(
      line.trim(),
    );
    if (open) {
      const index = open[1] ?? '1';
      const as = /^FROM \S+ AS (\S+)/i.exec(open[3]);
      if (as) names.set(index, as[1]);
      const stage = names.get(index) ?? `stage ${index}`;
      steps.push({
        stage,
        name: `[${stage} ${open[2]}] ${open[3].trim()}`,
        instruction: open[3].trim(),
        cached: false,
      });
    } else if (/^--> Using cache /.test(line.trim()) && steps.length)
      steps[steps.length - 1].cached = true;
  }
  return steps;
}

const builderWork = (steps) =>
  steps.filter((s) => s.stage === 'builder' && !/^FROM /i.test(s.instruction));
const short = (name) => name.replace(/^\[([^\]]+)\] (\S+).*$/, '[$1] $2');
function stepSummary(steps) {
  const b = builderWork(steps);
  const ran = b.filter((s) => !s.cached).map((s) => short(s.name));
  return `builder: ${b.length - ran.length}/${b.length} steps cached${ran.length ? `, ran ${ran.join(', ')}` : ''}`;
}

// ----------------------------------------------------------------- building

async function loadPlugin() {
  const req = createRequire(import.meta.url);
  for (let i = 0; i < 12; i++) {
    try {
      return {
        ...req(path.join(LIB, 'engine', 'commands.js')),
        ...req(path.join(LIB, 'engine', 'detection.js')),
        ...req(path.join(LIB, 'build', 'cache-plan.js')),
        ...req(path.join(LIB, 'registry', 'image-ref.js')),
        ...req(path.join(LIB, 'build', 'podman-arg-cache.js')),
        ...req(path.join(LIB, 'registry', 'registry-client.js')),
      };
    } catch {
      await new Promise((r) => setTimeout(r, 5000)); // dist/ being rebuilt
    }
  }
  throw new Error(
    `${LIB} is missing: build the plugin (npx nx run docker:build)`,
  );
}

/** Appends a new comment to the serving module: the one-file edit of every measured build. */
let edits = 0;
function editSource(ctx) {
  edits += 1;
  fs.appendFileSync(
    path.join(ctx.dir, SERVING_MODULE),
    `# bench edit ${edits} ${uniqueSuffix()}\n`,
  );
}

/**
 * The build service's sequence for one image: on Podman with the cache, the
 * ARG steps of the cache repository taken into the store first (buildah
 * looks them up only there); each stage of the cache plan (--target, tagged
 * as its cache image), then the image. Returns the wall time of all of it,
 * each build's step log, and the image's layers.
 */
async function pluginBuild(P, where, ctx, image, plan, tags) {
  const engine =
    where.kind === 'podman'
      ? { kind: 'podman', client: PODMAN, mode: 'podman', ulimits: P.ulimits }
      : { kind: 'docker', client: DOCKER, mode: 'buildkit' };
  const base = {
    context: ctx.dir,
    dockerfile: path.join(ctx.dir, DOCKERFILE),
    buildArgs: { ...plan.buildArgs, ...ctx.buildArgs },
    insecureRegistries: true, // every registry here is 127.0.0.1:5000
  };
  const specs = [
    ...plan.stages.map((s) => ({
      ...base,
      tags: [s.ref],
      target: s.stage,
      cacheFrom: plan.cacheFrom,
    })),
    {
      ...base,
      tags,
      cacheFrom: plan.cacheFrom,
      cacheTo: plan.cacheTo,
    },
  ];
  const env =
    where.kind === 'podman'
      ? where.store.env
      : { DOCKER_HOST: where.engine.host };
  const t0 = performance.now();
  let seeded = 0;
  if (where.kind === 'podman' && plan.mode === 'podman') {
    // The plugin's podman calls take the store from the environment, as a user's shell gives it.
    const saved = process.env.CONTAINERS_STORAGE_CONF;
    process.env.CONTAINERS_STORAGE_CONF =
      where.store.env.CONTAINERS_STORAGE_CONF;
    try {
      seeded = (
        await P.seedArgSteps(
          engine,
          plan.cacheFrom[0],
          P.stageBases(
            fs.readFileSync(base.dockerfile, 'utf8'),
            base.buildArgs,
          ),
          new P.RegistryClient(image.registry),
        )
      ).length;
    } finally {
      if (saved === undefined) delete process.env.CONTAINERS_STORAGE_CONF;
      else process.env.CONTAINERS_STORAGE_CONF = saved;
    }
  }
  const builds = [];
  for (const spec of specs) {
    const cmd = P.buildCommand(engine, spec);
    const r = run(cmd.file, cmd.args, {
      cwd: ctx.dir,
      env: { ...cmd.env, ...env },
      timeoutMs: BUILD_BOUND_MS,
    });
    const out = r.stdout + r.stderr;
    if (r.code !== 0)
      throw new Error(
        `build of ${image.name} (${where.label}) failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}):\n${lastLines(out, 25)}`,
      );
    builds.push({
      target: spec.target ?? 'image',
      out,
      steps: where.kind === 'podman' ? podmanStepsOf(out) : buildKitSteps(out),
      pushedCache: (out.match(/^--> Pushing cache /gm) ?? []).length,
    });
  }
  const ms = performance.now() - t0;
  const inspect = [
    'image',
    'inspect',
    '--format',
    '{{json .RootFS.Layers}}',
    tags[0],
  ];
  const layers = JSON.parse(
    where.kind === 'podman'
      ? podmanOk(where.store, inspect).stdout
      : onOk(where.engine, inspect).stdout,
  );
  return {
    ms,
    seeded,
    builds,
    layers,
    steps: builds.flatMap((b) => b.steps),
    summary: builds
      .map(
        (b) =>
          `${b.target === 'image' ? 'image build' : `--target ${b.target}`}: ${stepSummary(b.steps)}`,
      )
      .join('; '),
  };
}

/** The plugin's cache plans for the engine's BuildKit, plus the old inline-only one and none. */
function dockerPlans(P, repo, text) {
  const stages = P.cachePlan({ mode: 'buildkit' }, repo, text, {
    registryCache: true,
    tagsLatest: true,
  });
  const empty = { buildArgs: {}, cacheFrom: [], cacheTo: [], stages: [] };
  return {
    stages,
    inline: {
      ...empty,
      buildArgs: { BUILDKIT_INLINE_CACHE: '1' },
      cacheFrom: [`${P.fullName(repo)}:latest`],
    },
    none: empty,
  };
}

/** Diff ID → the instruction that made it, from the pushed image's config in the registry. */
async function layerHistory(registry, repoPath, tag) {
  const accept =
    'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';
  const m = await fetch(`http://${registry}/v2/${repoPath}/manifests/${tag}`, {
    headers: { accept },
  });
  if (m.status !== 200) throw new Error(`${repoPath}:${tag}: HTTP ${m.status}`);
  const manifest = await m.json();
  const config = await (
    await fetch(
      `http://${registry}/v2/${repoPath}/blobs/${manifest.config.digest}`,
    )
  ).json();
  const made = config.history.filter((h) => !h.empty_layer);
  return {
    configDigest: manifest.config.digest,
    layers: made.map((h, i) => ({
      diffId: config.rootfs.diff_ids[i],
      createdBy: h.created_by ?? '',
    })),
  };
}

/** Against the seed's layers: is the /opt/venv layer the same, and which layers differ. */
function compareLayers(seed, layers) {
  const venv = seed.findIndex((l) => /COPY .*\/opt\/venv/.test(l.createdBy));
  const differ = seed
    .filter((l, i) => layers[i] !== l.diffId)
    .map((l) =>
      l.createdBy
        .replace(/ # buildkit$/, '')
        .replace(/^\/bin\/sh -c #\(nop\) /, ''),
    );
  return {
    sameVenv: venv >= 0 && layers[venv] === seed[venv].diffId,
    differ:
      layers.length === seed.length
        ? differ
        : [`${layers.length} layers against ${seed.length}`],
  };
}
const layerNote = (c) =>
  `/opt/venv layer identical to the seed's: ${c.sameVenv ? 'yes' : 'no'}; layers that differ: ${c.differ.length ? c.differ.map((d) => d.slice(0, 40)).join(', ') : 'none'}`;

async function tagsOf(registry, repoPath) {
  const r = await fetch(`http://${registry}/v2/${repoPath}/tags/list`).catch(
    () => undefined,
  );
  return r?.status === 200 ? ((await r.json()).tags ?? []) : [];
}

/**
 * One image of an example project's build record (version 2: `name`, not
 * lib.mjs's `repository`), made present in the shared engine: by ID, else
 * pulled by its content tag. Builds the record through nx when missing.
 */
function recordedImageOf(project, key) {
  ensureBuildRecord(project);
  const file = path.join(
    ROOT,
    'dist',
    'docker',
    'examples',
    project,
    'build-record.json',
  );
  const img = JSON.parse(fs.readFileSync(file, 'utf8')).images.find(
    (i) => i.image === key,
  );
  if (!img) throw new Error(`${file} has no "${key}" image`);
  if (docker(['image', 'inspect', img.imageId]).code !== 0)
    dockerOk(['pull', `${recordedName(img)}:${img.contentTag}`], {
      timeoutMs: PULL_BOUND_MS,
    });
  return img;
}

// --------------------------------------------------------------------- main

await main(async () => {
  loadToolchainEnv();
  const registry = process.env.ML_DOCKER_REGISTRY || '127.0.0.1:5000';
  const runs = Math.min(3, Math.max(1, Number(flag('runs', '1')) || 1));
  const engines = flag('engines', 'docker,podman').split(',');
  const P = await loadPlugin();
  const limits = run('/bin/sh', [
    '-c',
    'ulimit -Hn; ulimit -Hu; cat /proc/sys/kernel/pid_max',
  ]);
  P.ulimits = P.podmanUlimits(...limits.stdout.split('\n'));
  const loadStart = os.loadavg()[0];
  const t0 = Date.now();

  // The bases synth builds on, under a repository of ours so every fresh
  // engine and store can pull exactly them.
  const benchRepo = `ml-bench-runner-${uniqueSuffix()}`;
  const bases = {};
  for (const [key, project, image] of [
    ['BASE_IMAGE', 'ml-base', 'base'],
    ['ML_COMMON_IMAGE', 'ml-common', 'lib'],
  ]) {
    const recorded = recordedImageOf(project, image);
    const ref = `${registry}/${benchRepo}/${project}:bench`;
    dockerOk(['tag', recorded.imageId, ref]);
    onCleanup(`tag ${ref}`, () => docker(['rmi', ref]));
    deleteManifestsOnCleanup(registry, `${benchRepo}/${project}`, () => [
      'bench',
    ]);
    const pushed = docker(['push', ref], { timeoutMs: PULL_BOUND_MS });
    if (pushed.code !== 0)
      throw new Error(`push of ${ref}: ${lastLines(pushed.stderr, 5)}`);
    bases[key] = ref;
  }
  const pullDocker = (engine) => {
    const t = performance.now();
    for (const ref of Object.values(bases))
      onOk(engine, ['pull', '-q', ref], { timeoutMs: PULL_BOUND_MS });
    return performance.now() - t;
  };
  const pullPodman = (store) => {
    const t = performance.now();
    for (const ref of Object.values(bases))
      podmanOk(store, ['pull', '-q', '--tls-verify=false', ref], {
        timeoutMs: PULL_BOUND_MS,
      });
    return performance.now() - t;
  };

  const dir = copyExample('synth');
  const generated = fs.readFileSync(
    path.join(dir, 'docker', 'inference', 'Dockerfile'),
    'utf8',
  );
  if (!generated.includes(PIP_LINE))
    throw new Error(
      `docker/inference/Dockerfile has no "${PIP_LINE.trim()}" line`,
    );
  const text = generated.replace(PIP_LINE, PIP_STAND_IN);
  fs.mkdirSync(path.dirname(path.join(dir, DOCKERFILE)), { recursive: true });
  fs.writeFileSync(path.join(dir, DOCKERFILE), text);
  const ctx = { dir, buildArgs: bases };

  const rows = [];
  const goals = [];
  const notes = [];
  const each = (xs) => xs.map((x) => fmtMs(x.ms)).join(', ');

  // ------------------------------------------------------------- Docker
  if (engines.includes('docker')) {
    const repo = { registry, path: `${benchRepo}/heavy-inference` };
    const name = P.fullName(repo);
    deleteManifestsOnCleanup(registry, repo.path, () => [
      'latest',
      'buildcache-builder',
    ]);
    const plans = dockerPlans(P, repo, text);
    const warm = remoteEngine(WARM_PORT, 'warm');
    const fresh = remoteEngine(FRESH_PORT, 'fresh');

    // Machine A: builds (per-stage cache images included) and pushes.
    warm.startEmpty();
    pullDocker(warm);
    const seed = await pluginBuild(
      P,
      { kind: 'docker', engine: warm, label: 'seed' },
      ctx,
      repo,
      plans.stages,
      [`${name}:latest`],
    );
    for (const tag of ['latest', 'buildcache-builder'])
      onOk(warm, ['push', `${name}:${tag}`], { timeoutMs: PULL_BOUND_MS });
    const history = await layerHistory(registry, repo.path, 'latest');

    // The cost of pushing the cache image again, unchanged.
    const stageId = onOk(warm, [
      'image',
      'inspect',
      '-f',
      '{{.Id}}',
      `${name}:buildcache-builder`,
    ]).stdout.trim();
    const tc = performance.now();
    const remote = await layerHistory(
      registry,
      repo.path,
      'buildcache-builder',
    );
    const checkMs = performance.now() - tc;
    const again = onOk(warm, ['push', `${name}:buildcache-builder`], {
      timeoutMs: PULL_BOUND_MS,
    });
    const pushOut = again.stdout + again.stderr;
    const uploaded = (pushOut.match(/: Pushed\s*$/gm) ?? []).length;
    const existed = (pushOut.match(/: Layer already exists\s*$/gm) ?? [])
      .length;

    const results = { stages: [], inline: [], none: [], warm: [] };
    const pulls = [];
    for (let r = 0; r < runs; r++) {
      const modes =
        r % 2 ? ['none', 'inline', 'stages'] : ['stages', 'inline', 'none'];
      for (const mode of modes) {
        fresh.startEmpty();
        pulls.push(pullDocker(fresh));
        editSource(ctx);
        const b = await pluginBuild(
          P,
          { kind: 'docker', engine: fresh, label: `fresh ${mode}` },
          ctx,
          repo,
          plans[mode],
          [`${name}:bench`],
        );
        b.cmp = compareLayers(history.layers, b.layers);
        results[mode].push(b);
      }
      editSource(ctx);
      const w = await pluginBuild(
        P,
        { kind: 'docker', engine: warm, label: 'warm' },
        ctx,
        repo,
        plans.stages,
        [`${name}:bench`],
      );
      w.cmp = compareLayers(history.layers, w.layers);
      results.warm.push(w);
    }
    warm.purge();
    fresh.purge();

    const med = (k) => median(results[k].map((x) => x.ms));
    const [a, inl, none, wrm] = ['stages', 'inline', 'none', 'warm'].map(med);
    const what = 'Docker 20.10 (engine BuildKit)';
    rows.push(
      [
        what,
        '(a) fresh engine, per-stage registry cache (the plugin: --target builder, then the image)',
        fmtMs(a),
        '1.00x',
        each(results.stages),
        `${results.stages[0].summary}; ${layerNote(results.stages[0].cmp)}`,
      ],
      [
        what,
        '(b) fresh engine, no cache (registryCache: false)',
        fmtMs(none),
        fmtRatio(none, a),
        each(results.none),
        `${results.none[0].summary}; ${layerNote(results.none[0].cmp)}`,
      ],
      [
        what,
        '(c) warm engine (built the seed, keeps its layers), same rebuild with the per-stage cache',
        fmtMs(wrm),
        fmtRatio(wrm, a),
        each(results.warm),
        `${results.warm[0].summary}; ${layerNote(results.warm[0].cmp)}`,
      ],
      [
        what,
        '(d) fresh engine, old inline-only cache (BUILDKIT_INLINE_CACHE=1, --cache-from :latest only)',
        fmtMs(inl),
        fmtRatio(inl, a),
        each(results.inline),
        `${results.inline[0].summary}; ${layerNote(results.inline[0].cmp)}`,
      ],
      [
        what,
        'pulls of ml-base + ml-common-lib before each fresh build (not in the times above)',
        fmtMs(median(pulls)),
        '',
        pulls.map(fmtMs).join(', '),
        '',
      ],
      [
        what,
        'unchanged second push of the cache image: the plugin asks the registry first',
        fmtMs(checkMs),
        '',
        '',
        `config digest ${remote.configDigest === stageId ? 'equals' : 'DIFFERS FROM'} the stage image ID: skipped, 0 layers uploaded`,
      ],
      [
        what,
        'unchanged second push of the cache image with plain docker push',
        fmtMs(again.ms),
        '',
        '',
        `${uploaded} layers uploaded ("Pushed"), ${existed} "Layer already exists"`,
      ],
      [
        what,
        'seed: machine A, empty engine, per-stage cache images built, then pushed (not a row to compare)',
        fmtMs(seed.ms),
        '',
        '',
        seed.summary,
      ],
    );
    goals.push(
      {
        goal: `${what}: (a) fresh engine with the per-stage cache at least ${GOAL_VS_NONE}x faster than (b) no cache`,
        measured: `${fmtRatio(none, a)} (${fmtMs(a)} against ${fmtMs(none)})`,
        met: none / a >= GOAL_VS_NONE,
      },
      {
        goal: `${what}: (a) within ${GOAL_VS_WARM}x of (c) the warm engine`,
        measured: `${fmtRatio(a, wrm)} (${fmtMs(a)} against ${fmtMs(wrm)})`,
        met: a / wrm <= GOAL_VS_WARM,
      },
      {
        goal: `${what}: an unchanged second push of the cache image uploads 0 layers`,
        measured: `plugin: skipped by the manifest check; docker push: ${uploaded} uploaded`,
        met: remote.configDigest === stageId && uploaded === 0,
      },
    );
  }

  // ------------------------------------------------------------- Podman
  if (engines.includes('podman')) {
    const repo = { registry, path: `${benchRepo}/heavy-inference-podman` };
    const name = P.fullName(repo);
    const cacheRepo = `${repo.path}-buildcache`;
    let cacheTags = [];
    deleteManifestsOnCleanup(registry, cacheRepo, () => cacheTags);
    deleteManifestsOnCleanup(registry, repo.path, () => ['latest']);
    const plan = P.cachePlan({ mode: 'podman' }, repo, text, {
      registryCache: true,
      tagsLatest: true,
    });
    const none = { buildArgs: {}, cacheFrom: [], cacheTo: [], stages: [] };
    const warm = podmanStore('warm');
    pullPodman(warm);
    const seed = await pluginBuild(
      P,
      { kind: 'podman', store: warm, label: 'podman seed' },
      ctx,
      repo,
      plan,
      [`${name}:latest`],
    );
    podmanOk(warm, ['push', '--tls-verify=false', `${name}:latest`], {
      timeoutMs: PULL_BOUND_MS,
    });
    const { layers: history } = await layerHistory(
      registry,
      repo.path,
      'latest',
    );

    const results = { cache: [], none: [], warm: [] };
    const pulls = [];
    for (let r = 0; r < runs; r++) {
      for (const mode of r % 2 ? ['none', 'cache'] : ['cache', 'none']) {
        const store = podmanStore(`fresh-${mode}-${r}`);
        pulls.push(pullPodman(store));
        editSource(ctx);
        const b = await pluginBuild(
          P,
          { kind: 'podman', store, label: `podman fresh ${mode}` },
          ctx,
          repo,
          mode === 'cache' ? plan : none,
          [`${name}:bench`],
        );
        b.cmp = compareLayers(history, b.layers);
        results[mode].push(b);
        store.dispose();
      }
      editSource(ctx);
      const w = await pluginBuild(
        P,
        { kind: 'podman', store: warm, label: 'podman warm' },
        ctx,
        repo,
        plan,
        [`${name}:bench`],
      );
      w.cmp = compareLayers(history, w.layers);
      results.warm.push(w);
    }
    // Nothing changed since the last warm build: what does the cache push cost?
    const unchanged = await pluginBuild(
      P,
      { kind: 'podman', store: warm, label: 'podman unchanged' },
      ctx,
      repo,
      plan,
      [`${name}:bench`],
    );
    cacheTags = await tagsOf(registry, cacheRepo);

    const med = (k) => median(results[k].map((x) => x.ms));
    const [a, nc, wrm] = ['cache', 'none', 'warm'].map(med);
    const pushedIn = (b) => b.builds.reduce((n, x) => n + x.pushedCache, 0);
    const what = `Podman ${run(PODMAN, ['version', '--format', '{{.Client.Version}}']).stdout.trim()}`;
    rows.push(
      [
        what,
        '(a) fresh store, registry cache (--cache-from/--cache-to <image>-buildcache)',
        fmtMs(a),
        '1.00x',
        each(results.cache),
        `${results.cache[0].seeded} ARG step(s) taken from the cache repository first; ${results.cache[0].summary}; ${pushedIn(results.cache[0])} cache layers pushed; ${layerNote(results.cache[0].cmp)}`,
      ],
      [
        what,
        '(b) fresh store, no cache (--layers only)',
        fmtMs(nc),
        fmtRatio(nc, a),
        each(results.none),
        `${results.none[0].summary}; ${layerNote(results.none[0].cmp)}`,
      ],
      [
        what,
        '(c) warm store (built the seed), same rebuild with the registry cache',
        fmtMs(wrm),
        fmtRatio(wrm, a),
        each(results.warm),
        `${results.warm[0].summary}; ${pushedIn(results.warm[0])} cache layers pushed; ${layerNote(results.warm[0].cmp)}`,
      ],
      [
        what,
        'pulls of ml-base + ml-common-lib into each fresh store (not in the times above)',
        fmtMs(median(pulls)),
        '',
        pulls.map(fmtMs).join(', '),
        '',
      ],
      [
        what,
        'unchanged rebuild on the warm store: what the cache push costs',
        fmtMs(unchanged.ms),
        '',
        '',
        `${pushedIn(unchanged)} cache layers pushed ("--> Pushing cache"); ${unchanged.summary}`,
      ],
      [
        what,
        'seed: empty store, built with --cache-to (pushes every layer as it goes)',
        fmtMs(seed.ms),
        '',
        '',
        `${pushedIn(seed)} cache layers pushed; ${seed.summary}`,
      ],
    );
    goals.push(
      {
        goal: `${what}: (a) fresh store with the registry cache at least ${GOAL_VS_NONE}x faster than (b) no cache`,
        measured: `${fmtRatio(nc, a)} (${fmtMs(a)} against ${fmtMs(nc)})`,
        met: nc / a >= GOAL_VS_NONE,
      },
      {
        goal: `${what}: (a) within ${GOAL_VS_WARM}x of (c) the warm store`,
        measured: `${fmtRatio(a, wrm)} (${fmtMs(a)} against ${fmtMs(wrm)})`,
        met: a / wrm <= GOAL_VS_WARM,
      },
      {
        goal: `${what}: an unchanged rebuild pushes 0 cache layers`,
        measured: `${pushedIn(unchanged)} pushed`,
        met: pushedIn(unchanged) === 0,
      },
    );
  }

  notes.push(
    `image: synth's generated inference Dockerfile with "${PIP_LINE.trim()}" replaced by the ~270 MB stand-in of fresh-engine-cache.mjs (copy the base's system dist-packages into the virtualenv, byte-compile with compileall -j 0); the builder stage is where it runs`,
    `every measured build follows a new one-line comment appended to ${SERVING_MODULE} (so only the last layer, COPY src/, can change); the seed was built before any edit`,
    `Docker: two second dockerds through tools/toolchain/remote-engine.sh (warm: 127.0.0.1:${WARM_PORT}; fresh: 127.0.0.1:${FRESH_PORT}, purged and started again before every fresh build: 0 images, 0 build cache records), client ${DOCKER} over TCP; Podman: a store of its own per fresh build (CONTAINERS_STORAGE_CONF, temporary graphroot)`,
    `bases pushed under ${registry}/${benchRepo}/ (ml-base and ml-common-lib from the repository's build records) and pulled into each engine or store before its build's clock starts`,
    `commands: buildCommand() and cachePlan() of dist/packages/docker/src/{engine,build} (per-stage: the build service's sequence, --target builder tagged :buildcache-builder with BUILDKIT_INLINE_CACHE=1, then the image; --cache-from ${'<image>'}:buildcache-builder and :latest); labels left out (they come last)`,
    `the registry manifests pushed here are deleted at the end (blobs stay until the registry's garbage collection); both second engines are purged; the Podman stores are deleted`,
    `machine load (1-min load average, ${os.cpus().length} cores): ${loadStart.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end; ${((Date.now() - t0) / 60_000).toFixed(1)} min in all; other users' e2e suites share the machine and the registry`,
  );
  printReport({
    title: `Fresh runner: a one-file edit rebuilt on an empty engine with the per-stage registry cache, against no cache, the old inline-only cache and a warm engine (${runs} run${runs > 1 ? 's, medians' : ''})`,
    headers: [
      'engine',
      'build',
      'time',
      'ratio to (a)',
      'each run',
      "checked (the build's own step log; layer diff IDs)",
    ],
    rows,
    goals,
    notes,
    command: `node bench/fresh-runner-cache.mjs${runs !== 1 ? ` --runs=${runs}` : ''}${engines.join(',') !== 'docker,podman' ? ` --engines=${engines.join(',')}` : ''}`,
  });
});
