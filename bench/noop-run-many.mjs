// A no-op `nx run-many -t docker-build` on a workspace of ten model images
// (30 MB model each, plus their shared base image: 11 images), after a first
// full build, against:
//   (b) Nx's official @nx/docker, its inferred `docker:build` on the same
//       projects and the same Dockerfiles (not cacheable: it runs
//       `docker build` every time, all layers cached),
//   (c) a plain loop of `docker build`, one per image, all layers cached,
//   (d) Nx's own floor: a cacheable do-nothing `nx:run-commands` target
//       (`echo noop`) on the same 11 projects, run-many twice, the second timed.
// Engine builds are counted from `docker events` (see engineBuilds in
// fixtures/ten-models.mjs), not from Nx's output.
//
//   node bench/noop-run-many.mjs [--runs=N] [--template=DIR]
//   N from 1 to 9, default 3 (medians; every run is listed). --template reuses
//   a workspace with both plugins installed instead of creating one.
import {
  docker,
  flag,
  fmtMs,
  fmtRatio,
  lastLines,
  loadToolchainEnv,
  main,
  median,
  parseSize,
  fmtBytes,
  printReport,
} from './lib.mjs';
import {
  ALL_PROJECTS,
  checkpoint,
  contextBytes,
  MODEL_COUNT,
  MODEL_MB,
  nxCacheHits,
  nxReportedMs,
  tenModelsWorkspace,
  withEngineEvents,
} from './fixtures/ten-models.mjs';

const GOAL_RUN_DURATION_RATIO = 20;
const GOAL_FLOOR_OVERHEAD = 0.15;

await main(async () => {
  const { baseImage, registry } = loadToolchainEnv();
  const runs = Math.min(9, Math.max(1, Number(flag('runs', '3')) || 3));
  const ws = tenModelsWorkspace({
    baseImage,
    registry,
    nxDocker: true,
    templateFlag: flag('template'),
  });

  /** One nx command: wall time, Nx's run duration, cache hits, engine builds. */
  const nxRun = async (label, args) => {
    await checkpoint();
    const r = withEngineEvents(ws.prefixes, () => ws.nx(args));
    const out = r.stdout + r.stderr;
    if (r.code !== 0)
      throw new Error(
        `${label}: nx ${args.join(' ')} exited ${r.code}:\n${lastLines(out, 25)}`,
      );
    return {
      wallMs: r.ms,
      runMs: nxReportedMs(out),
      ...nxCacheHits(out),
      builds: r.engine.builds,
      out,
    };
  };

  /** (c) One `docker build` per image, in dependency order, as a user would type it. */
  const plainLoop = async () => {
    await checkpoint();
    return withEngineEvents(ws.prefixes, () => {
      const t0 = performance.now();
      const contexts = [];
      for (const p of ALL_PROJECTS) {
        const r = docker(
          [
            'build',
            '--progress=plain',
            '-f',
            ws.dockerfileOf(p),
            '-t',
            ws.plainTag(p),
            '.',
          ],
          {
            cwd: `${ws.root}/${ws.projectRoot(p)}`,
            env: ws.env,
            timeoutMs: 600_000,
          },
        );
        if (r.code !== 0)
          throw new Error(
            `docker build of ${p} failed:\n${lastLines(r.stderr, 15)}`,
          );
        contexts.push(...contextBytes(r.stderr + r.stdout));
      }
      return { ms: performance.now() - t0, contexts };
    });
  };

  // The first full build, and one unmeasured pass of each way: the task cache
  // holds every result, @nx/docker's and the loop's tags exist, nx's project
  // graph is computed. Static output so each build's context line is visible.
  const cold = await nxRun('first build', [
    'run-many',
    '-t',
    'docker-build',
    '--output-style=static',
  ]);
  const coldContexts = contextBytes(cold.out);
  await nxRun('floor warm-up', ['run-many', '-t', 'noop']);
  const nxdWarm = await nxRun('@nx/docker warm-up', [
    'run-many',
    '-t',
    'docker:build',
    '--output-style=static',
  ]);
  const nxdContexts = contextBytes(nxdWarm.out);
  const loopWarm = await plainLoop();
  await nxRun('ours warm-up', ['run-many', '-t', 'docker-build']);

  const a = [];
  const b = [];
  const c = [];
  const d = [];
  // Interleaved, so the noise of the shared engine spreads over all four.
  for (let i = 0; i < runs; i++) {
    a.push(await nxRun('ours', ['run-many', '-t', 'docker-build']));
    d.push(await nxRun('floor', ['run-many', '-t', 'noop']));
    b.push(await nxRun('@nx/docker', ['run-many', '-t', 'docker:build']));
    const loop = await plainLoop();
    c.push({
      wallMs: loop.ms,
      runMs: NaN,
      builds: loop.engine.builds,
      hits: NaN,
      contexts: loop.contexts,
    });
  }

  const images = ALL_PROJECTS.length;
  const rows = [
    [`(a) ours: \`nx run-many -t docker-build\`, nothing changed`, a],
    ['(b) @nx/docker: `nx run-many -t docker:build` (same Dockerfiles)', b],
    [`(c) plain loop: ${images} × \`docker build\`, all layers cached`, c],
    ['(d) Nx floor: `nx run-many -t noop` (cached `echo`), second run', d],
  ];
  const med = (xs, k) => median(xs.map((x) => x[k]));
  const aWall = med(a, 'wallMs');
  const aRun = med(a, 'runMs');
  const bRun = med(b, 'runMs');
  const dWall = med(d, 'wallMs');
  const aBuilds = a.map((x) => x.builds);
  const hitsText = (xs) =>
    xs.every((x) => Number.isFinite(x.tasks))
      ? xs.map((x) => `${x.hits}/${x.tasks}`).join(', ')
      : '-';

  printReport({
    title: `No-op run-many on ${MODEL_COUNT} model images of ${MODEL_MB} MB + their base (${runs} run${runs > 1 ? 's, medians' : ''})`,
    headers: [
      'way',
      'wall time',
      'wall vs (a)',
      'Nx run duration',
      'run duration vs (a)',
      'engine builds per run',
      'Nx cache hits',
      'wall time, each run',
    ],
    rows: rows.map(([label, xs]) => [
      label,
      fmtMs(med(xs, 'wallMs')),
      fmtRatio(med(xs, 'wallMs'), aWall),
      fmtMs(med(xs, 'runMs')),
      fmtRatio(med(xs, 'runMs'), aRun),
      xs.map((x) => x.builds).join(', '),
      hitsText(xs),
      xs.map((x) => fmtMs(x.wallMs)).join(', '),
    ]),
    goals: [
      {
        goal: '(a) starts 0 engine builds (docker events: image tags written under our names)',
        measured: `${aBuilds.join(', ')} (cache hits ${hitsText(a)})`,
        met: aBuilds.every((n) => n === 0),
      },
      {
        goal: `(a)'s Nx run duration at least ${GOAL_RUN_DURATION_RATIO}x lower than (b)'s`,
        measured: `${fmtMs(aRun)} vs ${fmtMs(bRun)}: ${fmtRatio(bRun, aRun)} lower`,
        met: Number.isFinite(bRun / aRun)
          ? bRun / aRun >= GOAL_RUN_DURATION_RATIO
          : undefined,
      },
      {
        goal: `(a)'s wall time within ${GOAL_FLOOR_OVERHEAD * 100}% of Nx's floor (d)`,
        measured: `${fmtMs(aWall)} vs ${fmtMs(dWall)}: ${fmtRatio(aWall, dWall)} (${aWall >= dWall ? '+' : ''}${(((aWall - dWall) / dWall) * 100).toFixed(1)}%)`,
        met: Number.isFinite(aWall / dWall)
          ? aWall / dWall <= 1 + GOAL_FLOOR_OVERHEAD
          : undefined,
      },
    ],
    notes: [
      `workspace: ${ws.template.reused ? `reused template ${ws.template.dir}` : `fresh create-nx-workspace@23.2.1 with the packed plugin and @nx/docker@23.2.1 (build + npm pack + create + install: ${fmtMs(ws.template.ms)})`}; ${images} projects written and committed in ${fmtMs(ws.workspaceMs)}; the ${MODEL_MB} MB models are committed, so Nx hashes ${MODEL_COUNT * MODEL_MB} MB of inputs on every run`,
      `first full build (ours, empty engine cache for these layers): ${fmtMs(cold.wallMs)} wall, Nx run duration ${fmtMs(cold.runMs)}, ${cold.builds} engine builds`,
      `fair setup: each project also has a root-level Dockerfile, byte for byte its docker/<image>/Dockerfile, so @nx/docker (registered with exclude **/docker/*/Dockerfile) infers docker:build on the same project with the same Dockerfile and the same context folder; its tag is made unique with its own buildTarget.args option (skipDefaultTag). It builds the models FROM the base's :latest tag, which our build wrote; ours passes the base's content tag (the same image)`,
      `build context (BuildKit's "transferring context" of each build): the same Dockerfile COPYs the same paths from the same folder, so each build gets the same context, ${MODEL_MB} MB for a model image, a few hundred bytes for the base. Seen: first build (ours) ${summarize(coldContexts)}; first pass of @nx/docker ${summarize(nxdContexts)}; plain loop, first pass ${summarize(loopWarm.contexts)}, measured passes ${summarize(c.flatMap((x) => x.contexts))}. A no-op of ours starts no build and sends nothing; (b)'s measured passes run with nx's default output, which hides their context lines. Why (b) and (c) resend the model in every pass that shows it: both run \`docker build .\` in each project folder, and the 20.10 client keys BuildKit's copy of a context by the path as typed, so each project's "." replaces the previous project's (checked by hand: a folder built twice in a row with "." sends 48 B the second time, alternated with another folder it sends everything; absolute paths, which ours passes, keep one copy per folder)`,
      `noise: (a) ranged ${spread(a)}, (d) ${spread(d)} over the runs; ${overlap(a, d) ? 'the ranges overlap, so the verdict on the floor goal is within the noise of this run (rerun with more --runs on a quiet engine)' : 'the ranges do not overlap'}`,
      `wall time: the whole nx process (node_modules/.bin/nx, no npx, NX_DAEMON=false, CI=true) or the whole loop; Nx run duration: the "Run duration" line of Nx's summary; nx runs tasks 3 at a time (its default parallel), the loop one at a time`,
      'engine builds: distinct repositories under our unique names that got an `image tag` event from `docker events --since/--until` around the command; dockerd emits one for every tag a build writes, fully cached builds included, and none when no build runs',
      `all with DOCKER_BUILDKIT=1 and /usr/bin/docker (engine 20.10) first on PATH; @nx/docker's \`docker build\` runs through nx:run-commands (a shell), ours spawns the client; ours also passes --cache-from <repo>:latest (registry cache), which asks the registry each build, but on a no-op no build runs`,
      'other engineers were using the same engine during the run: absolute times are noisy, ratios less so',
    ],
    command: `node bench/noop-run-many.mjs${runs !== 3 ? ` --runs=${runs}` : ''}`,
  });
});

/** "1262 ms to 1875 ms": the wall times of one way over the runs. */
function spread(xs) {
  const w = xs.map((x) => x.wallMs);
  return `${fmtMs(Math.min(...w))} to ${fmtMs(Math.max(...w))}`;
}

/** Whether two ways' wall-time ranges overlap. */
function overlap(xs, ys) {
  const w = (zs) => zs.map((z) => z.wallMs);
  return (
    Math.min(...w(xs)) <= Math.max(...w(ys)) &&
    Math.min(...w(ys)) <= Math.max(...w(xs))
  );
}

/**
 * BuildKit's context sizes of several builds ("30.01MB", "633B", …), as
 * "3 of 11 sent 30.01 MB, the others at most 633 B".
 */
function summarize(sizes) {
  const bytes = sizes.map(parseSize).filter(Number.isFinite);
  if (!bytes.length) return 'n/a';
  const big = bytes.filter((n) => n >= 1e6);
  const small = bytes.filter((n) => n < 1e6);
  if (!small.length)
    return `all ${bytes.length} sent ${fmtBytes(Math.max(...big))}`;
  if (!big.length)
    return `all ${bytes.length} at most ${fmtBytes(Math.max(...small))}`;
  return `${big.length} of ${bytes.length} sent ${fmtBytes(Math.max(...big))}, the others at most ${fmtBytes(Math.max(...small))}`;
}
