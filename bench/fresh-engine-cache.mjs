// A fresh engine (emptied data root) building with the registry's layer
// cache against the same fresh engine building with no cache.
//
// "Fresh" is real here: every build runs on a second dockerd of its own,
// started for that build with a new, empty --data-root (and its own
// --exec-root, socket and pid file) and removed right after. The shared
// engine on /var/run/docker.sock is never emptied, pruned or restarted.
// The cache is what another CI agent left in the registry: a first engine
// (also a throwaway one, so the shared engine's build cache keeps nothing of
// ours) builds with inline cache metadata and pushes :latest under a unique
// repository; each (a) build then reads it back with --cache-from.
//
// The build command is the plugin's own: buildCommand() from the built
// dist/packages/docker/src/engine/commands.js, with registryCache (the default:
// BUILDKIT_INLINE_CACHE=1, --cache-from <repo>:latest) for (a) and without
// it for (b).
//
//   node bench/fresh-engine-cache.mjs [--runs=N] [--images=synth,heavy]
//   (N from 1 to 5, default 3)
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  copyExample,
  deleteManifestsOnCleanup,
  docker,
  DOCKER,
  dockerOk,
  flag,
  fmtMs,
  fmtRatio,
  lastLines,
  loadToolchainEnv,
  main,
  median,
  on,
  onCleanup,
  onOk,
  printReport,
  recordedImage,
  ROOT,
  run,
  sleep,
  uniqueSuffix,
} from './lib.mjs';

const GOAL_RATIO = 3;
const ENGINE_START_BOUND_MS = 60_000;
const ENGINE_STOP_BOUND_MS = 30_000;
const BUILD_BOUND_MS = 20 * 60_000;
const ENGINE_JS = path.join(
  ROOT,
  'dist',
  'packages',
  'docker',
  'src',
  'engine',
  'commands.js',
);

// Each second dockerd gets a bridge of its own (created here, deleted with the
// engine): never --bridge=none, which makes dockerd delete the host's docker0
// at start-up (moby removes "the default bridge interface" when the bridge is
// disabled) and so cuts the shared engine's containers off. With its own
// bridge the engine has a default network, and the builds run exactly the
// plugin's command line, RUN steps on the default network included.

// The heavy variant: the generated synth Dockerfile with its requirements
// install replaced by a deterministic, slow stand-in. PyPI is out of reach
// here, and offline pip finds everything in the base's system packages in a
// second, so the generated Dockerfile builds much faster than it would in CI.
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

const IMAGES = {
  synth: {
    what: 'synth inference, generated Dockerfile as is',
    dockerfile: 'docker/inference/Dockerfile',
  },
  heavy: {
    what: 'synth inference with a 270 MB pip-install stand-in (copy + byte-compile the ML stack)',
    dockerfile: 'docker/inference-heavy/Dockerfile',
  },
};

// ------------------------------------------------------- a dockerd of our own

const syncSleep = (ms) =>
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Running, and not a zombie waiting for Node to reap it. */
function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return (
      stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
    );
  } catch {
    return false;
  }
}

function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/**
 * Stops one engine we started and deletes everything it had. Synchronous, so
 * it also runs from the SIGINT handler. Only processes started for this
 * engine are signalled: dockerd by the pid we spawned, its containerd by the
 * pid file in this engine's exec root, and only when its command line names
 * this engine's folder.
 */
function stopEngine(engine) {
  if (engine.stopped) return;
  engine.stopped = true;
  const waitGone = (pid, ms) => {
    for (let t = 0; t < ms && alive(pid); t += 100) syncSleep(100);
    return !alive(pid);
  };
  if (alive(engine.pid)) {
    process.kill(engine.pid, 'SIGTERM'); // dockerd shuts down its containerd too
    if (!waitGone(engine.pid, ENGINE_STOP_BOUND_MS)) {
      process.kill(engine.pid, 'SIGKILL');
      waitGone(engine.pid, 5000);
    }
  }
  const ctrPidFile = path.join(
    engine.dir,
    'exec',
    'containerd',
    'containerd.pid',
  );
  const ctrPid = fs.existsSync(ctrPidFile)
    ? Number(fs.readFileSync(ctrPidFile, 'utf8').trim())
    : NaN;
  if (ctrPid > 0 && alive(ctrPid) && cmdline(ctrPid).includes(engine.dir)) {
    process.kill(ctrPid, 'SIGKILL');
    waitGone(ctrPid, 5000);
  }
  // A killed dockerd can leave overlay and shm mounts under its folders.
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && m.startsWith(`${engine.dir}/`))
    .sort((x, y) => y.length - x.length);
  for (const m of mounts) run('umount', ['-l', m], { timeoutMs: 30_000 });
  fs.rmSync(engine.dir, { recursive: true, force: true });
  run('ip', ['link', 'delete', engine.bridge.name], { timeoutMs: 10_000 });
}

/**
 * A bridge for one second engine: a name and a /24 no route on this host
 * uses yet (10.213.x.0/24), up, with the gateway address dockerd takes for
 * its default network. No iptables rule: the builds need no traffic out.
 */
function createBridge(dir) {
  const name = `mlb${path
    .basename(dir)
    .slice(-6)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')}`;
  const routes = run('ip', ['-4', 'route', 'show'], {
    timeoutMs: 10_000,
  }).stdout;
  const free = [...Array(254).keys()]
    .map((i) => i + 1)
    .find((i) => !routes.includes(`10.213.${i}.`));
  if (!free) throw new Error('no free 10.213.x.0/24 subnet for a bench bridge');
  for (const args of [
    ['link', 'add', name, 'type', 'bridge'],
    ['addr', 'add', `10.213.${free}.1/24`, 'dev', name],
    ['link', 'set', name, 'up'],
  ]) {
    const r = run('ip', args, { timeoutMs: 10_000 });
    if (r.code !== 0) {
      run('ip', ['link', 'delete', name], { timeoutMs: 10_000 });
      throw new Error(`ip ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
    }
  }
  return { name, subnet: `10.213.${free}.0/24` };
}

/**
 * Starts a dockerd with an empty data root in a new temporary folder, and
 * registers its stop first, so a failure or Ctrl-C at any point removes it.
 * It must not touch what the shared engine owns: no bridge, no iptables,
 * no IP masquerading or forwarding changes, its own socket/pid/exec root,
 * its own containerd namespaces.
 */
async function startEngine(label) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-bench-dockerd-'));
  const config = path.join(dir, 'daemon.json');
  fs.writeFileSync(config, '{}\n'); // never /etc/docker/daemon.json
  const host = `unix://${dir}/docker.sock`;
  const ns = `ml-bench-${path.basename(dir).slice(-6).toLowerCase()}`;
  const bridge = createBridge(dir);
  const log = fs.openSync(path.join(dir, 'dockerd.log'), 'a');
  const args = [
    '--config-file',
    config,
    '--data-root',
    path.join(dir, 'data'),
    '--exec-root',
    path.join(dir, 'exec'),
    '--pidfile',
    path.join(dir, 'docker.pid'),
    '-H',
    host,
    `--bridge=${bridge.name}`,
    '--iptables=false',
    '--ip-masq=false',
    '--ip-forward=false',
    '--containerd-namespace',
    ns,
    '--containerd-plugins-namespace',
    `${ns}-plugins`,
    '--log-level=warn',
  ];
  const child = spawn('dockerd', args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const engine = { label, dir, host, pid: child.pid, stopped: false, bridge };
  onCleanup(`dockerd ${label} (pid ${child.pid}, ${dir})`, () =>
    stopEngine(engine),
  );
  let exited = null;
  child.on('exit', (code, signal) => (exited = signal ?? code));
  const t0 = performance.now();
  while (performance.now() - t0 < ENGINE_START_BOUND_MS) {
    if (exited !== null) break;
    const v = docker(['version', '-f', '{{.Server.Version}}'], {
      env: { DOCKER_HOST: host },
      timeoutMs: 10_000,
    });
    if (v.code === 0 && v.stdout.trim()) {
      engine.startMs = performance.now() - t0;
      return engine;
    }
    await sleep(250);
  }
  const tail = lastLines(
    fs.readFileSync(path.join(dir, 'dockerd.log'), 'utf8'),
    10,
  );
  stopEngine(engine);
  throw new Error(
    `the second dockerd did not answer within ${ENGINE_START_BOUND_MS / 1000} s (${exited !== null ? `exited: ${exited}` : 'still starting'}):\n${tail}`,
  );
}

/** Images and build cache records on an engine: both 0 on an empty one. */
function contents(engine) {
  const images = on(engine, ['images', '-aq']).stdout.trim();
  const df = on(engine, [
    'system',
    'df',
    '--format',
    '{{.Type}} {{.TotalCount}}',
  ]);
  const cache = /Build Cache (\d+)/.exec(df.stdout);
  return {
    images: images ? images.split('\n').length : 0,
    cacheRecords: cache ? Number(cache[1]) : NaN,
  };
}

/**
 * The base images, pulled from the registry as a CI runner would, before the
 * build's clock starts (timed on their own, not part of the ratio).
 */
function pullBases(engine, refs) {
  const t0 = performance.now();
  for (const ref of refs)
    onOk(engine, ['pull', '-q', ref], { timeoutMs: 600_000 });
  return performance.now() - t0;
}

// ------------------------------------------------------------------ building

/** The plugin's build command line, registryCache on or off. */
function pluginBuildCommand(buildCommand, ctx, image, { registryCache }) {
  const buildArgs = { ...ctx.buildArgs };
  const cacheFrom = [];
  // What build.impl.ts adds with registryCache and BuildKit.
  if (registryCache) {
    buildArgs.BUILDKIT_INLINE_CACHE ??= '1';
    cacheFrom.push(`${image.repo}:latest`);
  }
  const cmd = buildCommand(
    { client: DOCKER, mode: 'buildkit' },
    {
      context: ctx.dir,
      dockerfile: path.join(ctx.dir, image.dockerfile),
      tags: [`${image.repo}:bench`, `${image.repo}:latest`],
      buildArgs,
      cacheFrom,
    },
  );
  return cmd;
}

/** One timed build on an engine; reads BuildKit's plain progress. */
function build(engine, cmd, image, cwd) {
  const r = run(cmd.file, cmd.args, {
    cwd, // the executor runs it from the project root too
    env: { ...cmd.env, DOCKER_HOST: engine.host },
    timeoutMs: BUILD_BOUND_MS,
  });
  const out = r.stdout + r.stderr;
  if (r.code !== 0)
    throw new Error(
      `build of ${image.key} on the ${engine.label} engine failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}):\n${lastLines(out, 25)}`,
    );
  // "#12 [runtime 4/8] COPY …" opens a step; "#12 CACHED" says it was not run.
  const steps = new Map(); // step number → "[stage n/m] INSTRUCTION"
  const cached = new Set();
  for (const line of out.split('\n')) {
    const step = /^#(\d+) (\[[^\]]*\d+\/\d+\] \S+)/.exec(line);
    if (step) steps.set(step[1], step[2]);
    const hit = /^#(\d+) CACHED$/.exec(line.trim());
    if (hit) cached.add(hit[1]);
  }
  const ran = [...steps].filter(([n]) => !cached.has(n)).map(([, t]) => t);
  return {
    ms: r.ms,
    steps: steps.size,
    cached: steps.size - ran.length,
    ran,
    importedCache: out.includes(
      `importing cache manifest from ${image.repo}:latest`,
    ),
    layers: JSON.parse(
      onOk(engine, [
        'image',
        'inspect',
        '-f',
        '{{json .RootFS.Layers}}',
        `${image.repo}:bench`,
      ]).stdout,
    ),
  };
}

/** The plugin's buildCommand, from dist/ (waits a little if dist/ is being rebuilt). */
async function loadBuildCommand() {
  for (let i = 0; i < 12; i++) {
    if (fs.existsSync(ENGINE_JS)) {
      try {
        return createRequire(import.meta.url)(ENGINE_JS).buildCommand;
      } catch {
        // half-written: retry
      }
    }
    await sleep(5000);
  }
  throw new Error(
    `${ENGINE_JS} is missing: build the plugin (npx nx run docker:build)`,
  );
}

// ---------------------------------------------------------------------- main

await main(async () => {
  loadToolchainEnv();
  const registry = process.env.ML_DOCKER_REGISTRY || '127.0.0.1:5000';
  const runs = Math.min(5, Math.max(1, Number(flag('runs', '3')) || 3));
  const keys = flag('images', 'synth,heavy')
    .split(',')
    .filter((k) => IMAGES[k]);
  if (!keys.length)
    throw new Error(`--images takes ${Object.keys(IMAGES).join(', ')}`);
  const buildCommand = await loadBuildCommand();
  const loadStart = os.loadavg()[0];

  // The exact images synth's docker-build would build on (content tags from
  // the build records; the registry holds them).
  const base = recordedImage('ml-base', 'base');
  const common = recordedImage('ml-common', 'lib');
  const bases = [base.ref, common.ref];
  // A record may come from a build that was never pushed: the fresh engines
  // pull the bases from the registry, so it must hold them (a no-op when it does).
  for (const ref of bases) dockerOk(['push', ref], { timeoutMs: 600_000 });

  const dir = copyExample('synth');
  const generated = fs.readFileSync(
    path.join(dir, IMAGES.synth.dockerfile),
    'utf8',
  );
  if (!generated.includes(PIP_LINE))
    throw new Error(
      `${IMAGES.synth.dockerfile} has no "${PIP_LINE.trim()}" line to stand in for`,
    );
  fs.mkdirSync(path.join(dir, 'docker', 'inference-heavy'), {
    recursive: true,
  });
  fs.writeFileSync(
    path.join(dir, IMAGES.heavy.dockerfile),
    generated.replace(PIP_LINE, PIP_STAND_IN),
  );
  const ctx = {
    dir,
    buildArgs: { BASE_IMAGE: base.ref, ML_COMMON_IMAGE: common.ref },
  };

  const repoPath = `ml-bench-fresh-${uniqueSuffix()}`;
  const images = keys.map((key) => {
    deleteManifestsOnCleanup(registry, `${repoPath}/${key}-inference`, () => [
      'latest',
    ]);
    return {
      key,
      ...IMAGES[key],
      repo: `${registry}/${repoPath}/${key}-inference`,
    };
  });

  // Agent A: a fresh engine builds with inline cache metadata and pushes.
  const seed = await startEngine('seed');
  pullBases(seed, bases);
  const seeded = {};
  for (const image of images) {
    const cmd = pluginBuildCommand(buildCommand, ctx, image, {
      registryCache: true,
    });
    seeded[image.key] = build(seed, cmd, image, ctx.dir);
    onOk(seed, ['push', `${image.repo}:latest`], { timeoutMs: 600_000 });
  }
  stopEngine(seed);

  // Agent B: per build a new engine with an empty data root.
  const results = Object.fromEntries(
    images.map((i) => [i.key, { cache: [], none: [] }]),
  );
  const engineStarts = [];
  let emptyAtStart = true;
  for (let r = 0; r < runs; r++) {
    for (const image of images) {
      // Alternate which mode goes first, so a drift in the machine's load
      // (others share it) does not always favour the same one.
      const modes = r % 2 ? ['none', 'cache'] : ['cache', 'none'];
      for (const mode of modes) {
        const engine = await startEngine(`fresh-${mode}`);
        engineStarts.push(engine.startMs);
        const before = contents(engine);
        if (before.images !== 0 || before.cacheRecords !== 0)
          emptyAtStart = false;
        const pullMs = pullBases(engine, bases);
        const cmd = pluginBuildCommand(buildCommand, ctx, image, {
          registryCache: mode === 'cache',
        });
        const b = build(engine, cmd, image, ctx.dir);
        b.pullMs = pullMs;
        b.sameLayers =
          JSON.stringify(b.layers) === JSON.stringify(seeded[image.key].layers);
        results[image.key][mode].push(b);
        stopEngine(engine);
      }
    }
  }

  const rows = [];
  const goals = [];
  const each = (xs) => xs.map(fmtMs).join(', ');
  for (const image of images) {
    const { cache, none } = results[image.key];
    const a = median(cache.map((x) => x.ms));
    const b = median(none.map((x) => x.ms));
    const pull = median([...cache, ...none].map((x) => x.pullMs));
    const s = seeded[image.key];
    rows.push(
      [
        image.what,
        '(a) fresh engine, registry cache (inline cache + --cache-from :latest)',
        fmtMs(a),
        '1.00x',
        each(cache.map((x) => x.ms)),
        `${cache[0].cached}/${cache[0].steps} steps CACHED (not: ${cache[0].ran.join(', ') || 'none'}); cache manifest imported: ${cache.every((x) => x.importedCache) ? 'yes' : 'NO'}; layers identical to the pushed image: ${cache.every((x) => x.sameLayers) ? 'yes' : 'NO'}`,
      ],
      [
        image.what,
        '(b) fresh engine, no cache (registryCache off)',
        fmtMs(b),
        fmtRatio(b, a),
        each(none.map((x) => x.ms)),
        `${none[0].cached}/${none[0].steps} steps CACHED; layers identical to the pushed image: ${none.some((x) => x.sameLayers) ? 'yes (some)' : 'no (rebuilt)'}`,
      ],
      [
        image.what,
        '(b)/(a) counting the pull of ml-base + ml-common-lib a runner does first',
        '',
        fmtRatio(b + pull, a + pull),
        '',
        `pull median ${fmtMs(pull)} (not in the rows above), ${fmtMs(a + pull)} against ${fmtMs(b + pull)}`,
      ],
      [
        image.what,
        'seed: agent A on a fresh engine, inline cache, then pushed',
        fmtMs(s.ms),
        '-', // not a (b): the seed may reuse steps of the image it built before
        fmtMs(s.ms),
        `${s.cached}/${s.steps} steps CACHED${s.cached ? ' (shared with the image this engine built before)' : ''}`,
      ],
    );
    goals.push({
      goal: `${image.what}: (a) at least ${GOAL_RATIO}x faster than (b)`,
      measured: `${fmtRatio(b, a)} (${fmtMs(a)} against ${fmtMs(b)})`,
      met:
        Number.isFinite(a) && Number.isFinite(b)
          ? b / a >= GOAL_RATIO
          : undefined,
    });
  }

  const sample = pluginBuildCommand(buildCommand, ctx, images[0], {
    registryCache: true,
  });
  printReport({
    title: `Fresh engine (empty data root) building with the registry's layer cache vs no cache (${runs} run${runs > 1 ? 's, medians' : ''})`,
    headers: ['image', 'build', 'time', '(b)/(a)', 'each run', 'checked'],
    rows,
    goals,
    notes: [
      `every build ran on its own dockerd (20.10, BuildKit via DOCKER_BUILDKIT=1) with a new empty --data-root under ${os.tmpdir()}, a bridge of its own (never --bridge=none, which deletes the host's docker0), --iptables=false --ip-masq=false --ip-forward=false, removed right after (${emptyAtStart ? '0 images and 0 build cache records before every build' : 'NOT EMPTY before some build'}); starting one took ${fmtMs(median(engineStarts))} (median)`,
      `before each build's clock started the engine pulled ${bases.join(' and ')} from ${registry} (what a CI runner does, the same for (a) and (b)); the third row of each image counts it in`,
      `command line: buildCommand() of dist/packages/docker/src/engine/commands.js with the plugin's registryCache additions, e.g. for (a): DOCKER_BUILDKIT=1 ${sample.args.join(' ').replaceAll(`${ctx.dir}/`, '').replace(ctx.dir, '.')} (for (b) without BUILDKIT_INLINE_CACHE and --cache-from); no OCI labels (they come last and change no cached layer)`,
      "every build runs the plugin's own command line (no --network): each engine has a default network on its own bridge",
      `heavy variant: ${IMAGES.synth.dockerfile} with "${PIP_LINE.trim()}" replaced by a stand-in that copies the base's system dist-packages (numpy, scipy, pandas, scikit-learn, …) into the virtualenv and byte-compiles them with compileall -j 0: the unpack-and-compile half of a real pip install, without its downloads, so (b) is faster than a real PyPI install would be`,
      `the seed pushed ${images.map((i) => `${i.repo}:latest`).join(', ')}; those manifests are deleted at the end (their blobs stay until the registry's garbage collection); nothing was built on the shared engine, whose images and build cache are untouched`,
      `machine load (1-min load average, ${os.cpus().length} cores): ${loadStart.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end; other users' e2e suites share the machine and the registry`,
    ],
    command: `node bench/fresh-engine-cache.mjs${runs !== 3 ? ` --runs=${runs}` : ''}${keys.join(',') !== 'synth,heavy' ? ` --images=${keys.join(',')}` : ''}`,
  });
});
