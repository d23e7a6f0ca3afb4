// A second push of unchanged images: ten model images (30 MB model each) and
// their shared base, three tags each (content tag, git SHA, latest), already
// pushed once to the local registry. Ours must upload nothing (the push
// executor asks the registry for each tag's manifest and skips the tag when
// its config digest is the image ID) and take at most 1 s per image; compared
// with plain `docker push` loops, which also upload no layer ("Layer already
// exists") but pay the round-trips and write the manifests again.
//
// Rows (order rotates from run to run):
//   (a) ours: `nx run-many -t docker-push --skip-nx-cache --excludeTaskDependencies`
//   (a1) the same with --parallel=1 (one image at a time, like the loops)
//   (b) plain: `docker push <repo>:<tag>` for each of the 33 tags
//   (c) plain: `docker push --all-tags <repo>` for each of the 11 images
// "Nothing uploaded" is checked three ways: the push output, dockerd's `push`
// events, and the registry's own storage (files written under our
// repositories: layer links, upload sessions, manifests).
//
//   node bench/second-push.mjs [--runs=N] [--template=DIR]
//   N from 1 to 9, default 3 (medians; every run is listed).
import fs from 'node:fs';
import path from 'node:path';
import {
  docker,
  flag,
  fmtMs,
  fmtRatio,
  lastLines,
  loadToolchainEnv,
  main,
  median,
  printReport,
  recordedName,
} from './lib.mjs';
import {
  ALL_PROJECTS,
  checkpoint,
  MODEL_COUNT,
  MODEL_MB,
  nxReportedMs,
  tenModelsWorkspace,
  withEngineEvents,
} from './fixtures/ten-models.mjs';

const GOAL_PER_IMAGE_MS = 1000;
// Where tools/install.sh's registry (Debian's docker-registry, config in
// /var/lib/ml-docker/registry/config.yml) keeps its files; read only.
const REGISTRY_STORAGE =
  process.env.BENCH_REGISTRY_STORAGE || '/var/lib/ml-docker/registry/storage';

/**
 * mtime of every file and folder the registry keeps for our repositories.
 * The registry logs only warnings here, so its storage is the record of what
 * a push did: an upload opens a session under _uploads/ and links the layer
 * under _layers/; a manifest PUT (re)writes links under _manifests/.
 */
function registrySnapshot(repository) {
  const repositories = path.join(
    REGISTRY_STORAGE,
    'docker',
    'registry',
    'v2',
    'repositories',
  );
  if (!fs.existsSync(repositories)) return undefined; // another registry: not checked
  const dir = path.join(repositories, repository);
  const snap = new Map();
  if (!fs.existsSync(dir)) return snap;
  for (const e of fs.readdirSync(dir, {
    withFileTypes: true,
    recursive: true,
  })) {
    const p = path.join(e.parentPath ?? e.path, e.name);
    try {
      snap.set(path.relative(dir, p), fs.statSync(p).mtimeMs);
    } catch {
      // an upload session removed while we walked
    }
  }
  return snap;
}

/**
 * What changed between two snapshots: link files new or rewritten under
 * _layers/ and _manifests/, and any change in an _uploads folder (a session
 * that came and went leaves only the folder's mtime).
 */
function registryWrites(before, after) {
  if (!before || !after) return undefined;
  const counts = { layers: 0, uploads: 0, manifests: 0 };
  for (const [p, mtime] of after) {
    if (before.get(p) === mtime) continue;
    if (/(^|\/)_uploads(\/|$)/.test(p)) counts.uploads++;
    else if (!p.endsWith('/link'))
      continue; // folders follow their files
    else if (p.includes('/_layers/')) counts.layers++;
    else if (p.includes('/_manifests/')) counts.manifests++;
  }
  return counts;
}

const writesText = (w) =>
  w
    ? `${w.layers} layer links, ${w.uploads} upload-session entries, ${w.manifests} manifest links`
    : 'n/a';

/** Nx's "Task Execution Timings: { "p:t": ms, … }" block (NX_PERF_LOGGING=true). */
function taskTimings(output) {
  const m = /Task Execution Timings:\s*(\{[^}]*\})/.exec(output);
  try {
    return m ? JSON.parse(m[1]) : {};
  } catch {
    return {};
  }
}

/** Layers a `docker push` output says it sent, and those it found already there. */
function pushedLayers(output) {
  return {
    pushed: (output.match(/^[0-9a-f]{12}: Pushed$/gm) ?? []).length,
    existed: (
      output.match(
        /^[0-9a-f]{12}: (Layer already exists|Mounted from .*)$/gm,
      ) ?? []
    ).length,
  };
}

await main(async () => {
  const { baseImage, registry } = loadToolchainEnv();
  const runs = Math.min(9, Math.max(1, Number(flag('runs', '3')) || 3));
  const ws = tenModelsWorkspace({
    baseImage,
    registry,
    templateFlag: flag('template'),
  });
  const images = ALL_PROJECTS.length;

  /** Runs fn with the engine's events and the registry's writes around it. */
  const observed = (fn) => {
    const before = registrySnapshot(ws.repository);
    const r = withEngineEvents(ws.prefixes, fn);
    return {
      ...r,
      writes: registryWrites(before, registrySnapshot(ws.repository)),
    };
  };
  // docker-push depends on docker-test (it starts every image), which is not
  // what this measures; the build records exist from the build below.
  const pushArgs = [
    'run-many',
    '-t',
    'docker-push',
    '--skip-nx-cache',
    '--excludeTaskDependencies',
    '--output-style=static',
  ];
  const nxPush = async (label, extra = []) => {
    await checkpoint();
    const r = observed(() => ws.nx([...pushArgs, ...extra]));
    const out = r.stdout + r.stderr;
    if (r.code !== 0)
      throw new Error(`${label} exited ${r.code}:\n${lastLines(out, 25)}`);
    return {
      wallMs: r.ms,
      runMs: nxReportedMs(out),
      skippedTags: (
        out.match(
          /already in the registry \(sha256:[0-9a-f]+\); nothing uploaded/g,
        ) ?? []
      ).length,
      pushedTags: (out.match(/@ml\/docker: pushed /g) ?? []).length,
      layers: pushedLayers(out),
      pushEvents: r.engine.pushes,
      writes: r.writes,
    };
  };

  const build = ws.nx(['run-many', '-t', 'docker-build']);
  if (build.code !== 0)
    throw new Error(
      `build failed:\n${lastLines(build.stdout + build.stderr, 25)}`,
    );
  const tags = ALL_PROJECTS.flatMap((p) => {
    const img = ws.record(p).images[0];
    return img.tags.map((t) => `${recordedName(img)}:${t}`);
  });
  const repos = ALL_PROJECTS.map((p) => recordedName(ws.record(p).images[0]));
  const first = await nxPush('first push');

  const plainLoop = async (refs, args) => {
    await checkpoint();
    return observed(() => {
      const t0 = performance.now();
      let out = '';
      for (const ref of refs) {
        const r = docker(['push', ...args, ref], { timeoutMs: 600_000 });
        if (r.code !== 0)
          throw new Error(
            `docker push ${ref} failed: ${lastLines(r.stderr, 5)}`,
          );
        out += r.stdout + r.stderr;
      }
      return { ms: performance.now() - t0, out };
    });
  };
  const plainRow = (r) => ({
    wallMs: r.ms,
    runMs: NaN,
    layers: pushedLayers(r.out),
    pushEvents: r.engine.pushes,
    writes: r.writes,
  });

  const rows = { a: [], a1: [], b: [], c: [] };
  const ways = {
    a: async () => rows.a.push(await nxPush('ours')),
    a1: async () =>
      rows.a1.push(await nxPush('ours --parallel=1', ['--parallel=1'])),
    b: async () => rows.b.push(plainRow(await plainLoop(tags, []))),
    c: async () =>
      rows.c.push(plainRow(await plainLoop(repos, ['--all-tags']))),
  };
  const order = Object.keys(ways);
  for (let i = 0; i < runs; i++)
    for (let k = 0; k < order.length; k++)
      await ways[order[(i + k) % order.length]]();

  // One more pass, not a row: Nx's own per-task times (NX_PERF_LOGGING),
  // one task at a time, to show where ours spends its time per image.
  await checkpoint();
  const perf = ws.nx([...pushArgs, '--parallel=1'], {
    env: { NX_PERF_LOGGING: 'true' },
  });
  const taskMs = Object.values(taskTimings(perf.stdout + perf.stderr));

  const med = (xs, k) => median(xs.map((x) => x[k]));
  const aWall = med(rows.a, 'wallMs');
  const labels = {
    a: '(a) ours: `nx run-many -t docker-push --skip-nx-cache --excludeTaskDependencies`',
    a1: '(a1) ours, with --parallel=1',
    b: `(b) plain: \`docker push <repo>:<tag>\` × ${tags.length} tags`,
    c: `(c) plain: \`docker push --all-tags <repo>\` × ${images} images`,
  };
  const sum = (xs, f) => xs.reduce((n, x) => n + f(x), 0);
  const ours = [...rows.a, ...rows.a1];
  const nothingUploaded = ours.every(
    (x) =>
      x.pushedTags === 0 &&
      x.skippedTags === tags.length &&
      x.layers.pushed === 0 &&
      x.pushEvents === 0 &&
      (!x.writes ||
        x.writes.layers + x.writes.uploads + x.writes.manifests === 0),
  );
  const storageSeen = ours.every((x) => x.writes);

  printReport({
    title: `Second push of ${images} unchanged images (${MODEL_COUNT} models of ${MODEL_MB} MB + their base, ${tags.length} tags) to ${registry} (${runs} run${runs > 1 ? 's, medians' : ''})`,
    headers: [
      'way',
      'wall time',
      'per image',
      'vs (a)',
      'Nx run duration',
      'layers uploaded',
      'dockerd push events',
      'registry files written',
      'wall time, each run',
    ],
    rows: order.map((k) => {
      const xs = rows[k];
      return [
        labels[k],
        fmtMs(med(xs, 'wallMs')),
        fmtMs(med(xs, 'wallMs') / images),
        fmtRatio(med(xs, 'wallMs'), aWall),
        fmtMs(med(xs, 'runMs')),
        xs.map((x) => x.layers.pushed).join(', '),
        xs.map((x) => x.pushEvents).join(', '),
        writesText(xs[xs.length - 1].writes),
        xs.map((x) => fmtMs(x.wallMs)).join(', '),
      ];
    }),
    goals: [
      {
        goal: 'ours uploads nothing on the second push',
        measured: `${sum(ours, (x) => x.skippedTags)} of ${ours.length * tags.length} tags skipped as already in the registry, ${sum(ours, (x) => x.pushedTags)} pushed; ${sum(ours, (x) => x.layers.pushed)} layers uploaded; ${sum(ours, (x) => x.pushEvents)} dockerd push events; registry storage: ${storageSeen ? `${sum(ours, (x) => x.writes.layers + x.writes.uploads + x.writes.manifests)} files written` : 'not readable here, not checked'}`,
        met: nothingUploaded,
      },
      {
        goal: `ours at most ${GOAL_PER_IMAGE_MS / 1000} s per image (whole nx process / ${images} images)`,
        measured: `${fmtMs(aWall / images)} (${fmtMs(aWall)} for ${images}); one image at a time (a1): ${fmtMs(med(rows.a1, 'wallMs') / images)}`,
        met: Number.isFinite(aWall)
          ? aWall / images <= GOAL_PER_IMAGE_MS
          : undefined,
      },
    ],
    notes: [
      `workspace: ${ws.template.reused ? `reused template ${ws.template.dir}` : `fresh create-nx-workspace@23.2.1 with the packed plugin (build + npm pack + create + install: ${fmtMs(ws.template.ms)})`}; ${images} projects written and committed in ${fmtMs(ws.workspaceMs)}, built with \`nx run-many -t docker-build\` in ${fmtMs(build.ms)}`,
      `first push (uploads everything; not a measured row): ${fmtMs(first.wallMs)} wall, Nx run duration ${fmtMs(first.runMs)}, ${first.pushedTags} tags pushed, ${first.layers.pushed} layers uploaded, ${first.pushEvents} dockerd push events; registry: ${writesText(first.writes)}`,
      `ours runs only the push tasks: docker-push depends on docker-test, which starts each image (not what is measured here), hence --excludeTaskDependencies; --skip-nx-cache as asked (docker-push is not cacheable anyway). nx runs 3 tasks at a time by default (a), the loops one push at a time; (a1) is ours one at a time. Per image = wall time / ${images}`,
      `Nx's own time per push task (NX_PERF_LOGGING "Task Execution Timings", one extra pass with --parallel=1): median ${fmtMs(median(taskMs))}, ${taskMs.length ? `${fmtMs(Math.min(...taskMs))} to ${fmtMs(Math.max(...taskMs))}` : 'n/a'}; the loops' per-image cost above is the whole client round trip, for comparison`,
      `what ours does per image: a task process, a /v2/ ping, picking the docker client (\`docker version\` of each docker on PATH, once per process), docker image inspect of the recorded image, and one manifest GET per tag (config digest == image ID: skip); the loops: the client pushes, HEADs every layer ("Layer already exists") and PUTs the manifest again, which the registry rewrites`,
      `registry files written: links under ${REGISTRY_STORAGE}/docker/registry/v2/repositories/<our repository>/ whose mtime changed during the command (_layers: a layer uploaded or mounted; _uploads: an upload session; _manifests: a manifest put), last run; the registry logs only warnings, so its storage is the record`,
      `layers uploaded: "<id>: Pushed" lines in the push output (ours streams docker push's output when it pushes); dockerd push events: \`docker events\` of type image, action push, under our names`,
      `the repositories ${registry}/${ws.repository}/* stay in the registry (about ${MODEL_COUNT * MODEL_MB} MB of model layers; nothing else is deleted there); local tags are removed`,
      'other engineers were using the same engine and registry during the run: absolute times are noisy, ratios less so',
    ],
    command: `node bench/second-push.mjs${runs !== 3 ? ` --runs=${runs}` : ''}`,
  });
});
