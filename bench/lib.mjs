// Shared helpers for the bench/ scripts: spawning (docker, nx), timing,
// cleanup of what a script creates, the example projects' build records, and
// the Markdown report every script prints. Benchmarks, not tests: nothing here
// asserts, and every script exits 0 with "goal met"/"goal missed" lines.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
);

// One rule for the scripts, the e2e harness and the benchmarks (README,
// "Working on the plugin"): ML_DOCKER_CLIENT, else Debian's /usr/bin/docker
// (the engine's own 20.10 client, BuildKit through DOCKER_BUILDKIT=1), else
// docker on PATH.
export const DOCKER =
  process.env.ML_DOCKER_CLIENT ||
  (fs.existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker');

/** The seed's single-stage inference Dockerfile, the baseline of two scripts. */
export const SEED_DOCKERFILE = path.join(
  ROOT,
  'bench',
  'fixtures',
  'seed-inference.Dockerfile',
);

/** Label on every container we start, so a stray one can be traced back here. */
export const OWNER_LABEL = 'ml-bench.owner';

// ---------------------------------------------------------------- environment

/** Reads tmp/toolchain.env (export K='V' lines) without overriding the caller's env. */
export function loadToolchainEnv() {
  const file = path.join(ROOT, 'tmp', 'toolchain.env');
  if (fs.existsSync(file)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^\s*export\s+([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
      if (!m || process.env[m[1]] !== undefined) continue;
      process.env[m[1]] = m[2].trim().replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  const baseImage = process.env.ML_DOCKER_BASE_IMAGE;
  if (!baseImage)
    throw new Error(
      `ML_DOCKER_BASE_IMAGE is not set and ${file} is missing: run "npm run demo" (tools/install.sh) first.`,
    );
  return { baseImage, registry: process.env.ML_DOCKER_REGISTRY };
}

/** A short random suffix: other engineers share this engine, names must not collide. */
export function uniqueSuffix() {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** `--name=value` flags, parsed without a dependency. */
export function flag(name, fallback) {
  const prefix = `--${name}=`;
  const hit = process.argv.find((a) => a.startsWith(prefix));
  return hit ? hit.slice(prefix.length) : fallback;
}

// ------------------------------------------------------------------- spawning

/** Runs a command to completion (no shell). Never throws on a non-zero exit. */
export function run(
  cmd,
  args,
  { cwd = ROOT, env = {}, timeoutMs = 600_000 } = {},
) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    code: r.status ?? -1,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    ms: performance.now() - t0,
    timedOut: r.error?.code === 'ETIMEDOUT',
  };
}

export const docker = (args, opts) => run(DOCKER, args, opts);

/** Like docker(), but a failure is an exception carrying the engine's message. */
export function dockerOk(args, opts) {
  const r = docker(args, opts);
  if (r.code !== 0)
    throw new Error(
      `docker ${args.slice(0, 3).join(' ')} … failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}): ${lastLines(r.stderr || r.stdout, 5)}`,
    );
  return r.stdout.trim();
}

/** nx the way the README says to run it from scripts: no daemon, CI output. */
export function nx(args, opts = {}) {
  return run('npx', ['nx', ...args], {
    ...opts,
    env: { CI: 'true', NX_DAEMON: 'false', ...opts.env },
  });
}

/**
 * Spawns a command and hands each output line (stdout and stderr) to onLine.
 * onLine may return 'stop' to end the command early (we kill only this child,
 * by its pid). Bounded by timeoutMs.
 */
export function runStreaming(
  cmd,
  args,
  { cwd = ROOT, env = {}, timeoutMs = 600_000, onLine = () => undefined } = {},
) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // A script interrupted mid-build must not leave the client running.
    onCleanup(`${path.basename(cmd)} pid ${child.pid}`, () => {
      if (child.exitCode === null && child.signalCode === null)
        child.kill('SIGKILL');
    });
    const lines = [];
    let stoppedEarly = false;
    let timedOut = false;
    const stop = () => {
      child.kill('SIGTERM');
      setTimeout(
        () => child.exitCode === null && child.kill('SIGKILL'),
        5000,
      ).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    for (const stream of [child.stdout, child.stderr]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          lines.push(line);
          if (
            !stoppedEarly &&
            onLine(line, performance.now() - t0) === 'stop'
          ) {
            stoppedEarly = true;
            stop();
          }
        }
      });
    }
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code: code ?? -1,
        lines,
        stoppedEarly,
        timedOut,
        ms: performance.now() - t0,
      });
    });
  });
}

/** { K: v } → ['--build-arg', 'K=v', …] (arguments, never a shell string). */
export function buildArgFlags(buildArgs) {
  return Object.entries(buildArgs).flatMap(([k, v]) => [
    '--build-arg',
    `${k}=${v}`,
  ]);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function lastLines(text, n) {
  return text.trim().split('\n').slice(-n).join('\n');
}

// -------------------------------------------------------------------- cleanup

// Everything a script creates (containers, image tags, temp folders) registers
// an undo here; runCleanups() runs them newest first, from a finally block and
// on SIGINT/SIGTERM. Undos are synchronous so they also work from a signal.
const cleanups = [];

export function onCleanup(label, fn) {
  cleanups.push({ label, fn });
}

export function runCleanups() {
  while (cleanups.length) {
    const { label, fn } = cleanups.pop();
    try {
      fn();
    } catch (e) {
      console.error(`cleanup of ${label} failed: ${e.message}`);
    }
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    runCleanups();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

/** Registers removal of a container we are about to start under this name. */
export function cleanupContainer(name) {
  onCleanup(`container ${name}`, () =>
    docker(['rm', '-f', '-v', name], { timeoutMs: 60_000 }),
  );
}

/**
 * Registers removal of an image tag we create. `rmi <tag>` without -f only
 * untags when another tag (someone else's) points at the same image.
 */
export function cleanupImageTag(tag) {
  onCleanup(`image ${tag}`, () => {
    if (docker(['image', 'inspect', tag]).code === 0)
      docker(['rmi', tag], { timeoutMs: 120_000 });
  });
}

/** A fresh folder under the OS temp dir, removed at cleanup. */
export function makeTempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  onCleanup(`folder ${dir}`, () =>
    fs.rmSync(dir, { recursive: true, force: true }),
  );
  return dir;
}

/**
 * Copies an example project (never written to in place) into a temp folder.
 * Ensures models/model.joblib exists: the inference Dockerfile COPYs models/,
 * and a fresh clone has no trained model (models/ is git-ignored).
 */
export function copyExample(name, { placeholderModel = false } = {}) {
  const dest = path.join(makeTempDir(`ml-bench-${name}`), name);
  fs.cpSync(path.join(ROOT, 'examples', name), dest, { recursive: true });
  const model = path.join(dest, 'models', 'model.joblib');
  if (placeholderModel || !fs.existsSync(model)) {
    fs.mkdirSync(path.dirname(model), { recursive: true });
    fs.writeFileSync(
      model,
      'placeholder: the context benchmarks never load it\n'.repeat(64),
    );
  }
  return dest;
}

/** Total bytes of the regular files under dir (what "no .dockerignore" would send). */
export function folderBytes(dir) {
  let total = 0;
  for (const entry of fs.readdirSync(dir, {
    withFileTypes: true,
    recursive: true,
  })) {
    if (entry.isFile())
      total += fs.statSync(
        path.join(entry.parentPath ?? entry.path, entry.name),
      ).size;
  }
  return total;
}

// -------------------------------------------------------------- build records

const recordPath = (project) =>
  path.join(ROOT, 'dist', 'docker', 'examples', project, 'build-record.json');

/** Builds the project's images through nx when its build record is missing. */
export function ensureBuildRecord(project) {
  if (fs.existsSync(recordPath(project))) return;
  console.error(
    `no build record for ${project}: running nx run ${project}:docker-build (trains first for synth)…`,
  );
  const r = nx(['run', `${project}:docker-build`], { timeoutMs: 45 * 60_000 });
  if (r.code !== 0 || !fs.existsSync(recordPath(project)))
    throw new Error(
      `nx run ${project}:docker-build failed:\n${lastLines(r.stdout + r.stderr, 30)}`,
    );
}

/** The full image name a build record entry names: `name` (record version 2) or `repository` (version 1). */
export const recordedName = (img) => img.name ?? img.repository;

/**
 * One image of a project's build record, as { ref, imageId, ... } where ref is
 * the content tag (stable, unlike :latest which a concurrent run may move).
 * Makes sure the engine holds it, pulling the content tag from the registry.
 */
export function recordedImage(project, key) {
  ensureBuildRecord(project);
  const record = JSON.parse(fs.readFileSync(recordPath(project), 'utf8'));
  const img = record.images.find((i) => i.image === key);
  if (!img) throw new Error(`${recordPath(project)} has no "${key}" image`);
  const ref = `${recordedName(img)}:${img.contentTag}`;
  if (docker(['image', 'inspect', img.imageId]).code !== 0)
    dockerOk(['pull', ref], { timeoutMs: 600_000 });
  return { ...img, ref };
}

/** Image size in bytes as the engine reports it (docker image inspect .Size). */
export function imageSize(ref) {
  return Number(dockerOk(['image', 'inspect', '-f', '{{.Size}}', ref]));
}

// ------------------------------------------------------------------ reporting

// Decimal units, the same as BuildKit's "transferring context" and `docker images`.
const UNITS = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 };

/** "209.7MB" / "1.23kB" / "32B" → bytes. */
export function parseSize(text) {
  const m = /^([\d.]+)\s*([kKMG]?B)$/.exec(text.trim());
  return m ? Number(m[1]) * UNITS[m[2]] : NaN;
}

export function fmtBytes(n) {
  if (!Number.isFinite(n)) return 'n/a';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

export function fmtMs(ms) {
  if (!Number.isFinite(ms)) return 'n/a';
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** a / b as "12.3x" ("n/a" when either side is missing). */
export function fmtRatio(a, b) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return 'n/a';
  const r = a / b;
  return `${r >= 100 ? Math.round(r) : r.toFixed(r >= 10 ? 1 : 2)}x`;
}

export function median(values) {
  const v = values.filter(Number.isFinite).sort((x, y) => x - y);
  if (!v.length) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function mdTable(headers, rows) {
  const esc = (c) => String(c).replace(/\|/g, '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** One line describing the machine the numbers come from. */
export function machine() {
  const cpus = os.cpus();
  const engine = docker(['version', '-f', '{{.Server.Version}}']);
  return [
    `${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'})`,
    `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `${os.type()} ${os.release()}`,
    `Node ${process.version}`,
    `Docker engine ${engine.code === 0 ? engine.stdout.trim() : 'unreachable'}`,
  ].join(', ');
}

/**
 * Prints the report: title, date and machine, the measurements table, one
 * line per goal ("goal met"/"goal missed"), notes, and how to reproduce.
 * goals: [{ goal, measured, met }], met === undefined when not measured.
 */
export function printReport({
  title,
  headers,
  rows,
  goals = [],
  notes = [],
  command,
}) {
  const out = [
    `### ${title}`,
    '',
    `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} on ${machine()}`,
    '',
    mdTable(headers, rows),
    '',
  ];
  if (goals.length) {
    out.push(
      mdTable(
        ['goal', 'measured', 'verdict'],
        goals.map((g) => [
          g.goal,
          g.measured,
          g.met === undefined
            ? 'goal missed (not measured)'
            : g.met
              ? 'goal met'
              : 'goal missed',
        ]),
      ),
      '',
    );
  }
  for (const n of notes) out.push(`- ${n}`);
  if (notes.length) out.push('');
  out.push(`Reproduce: \`cd ${ROOT} && ${command}\``);
  console.log(out.join('\n'));
}

/**
 * Runs a script's main() with cleanup and the "exit 0 anyway" rule: a failure
 * is printed, never turned into a non-zero exit (these are benchmarks).
 */
export async function main(fn) {
  try {
    await fn();
  } catch (e) {
    console.log(`\nbenchmark did not complete: ${e.message}`);
  } finally {
    runCleanups();
  }
  process.exit(0);
}

/**
 * When the script ends, removes the manifests it pushed under these tags (the
 * registry allows deletes; `tags` is asked then, so it may name tags pushed
 * later). Their blobs stay until the registry's garbage collection, which is
 * not ours to run.
 */
export function deleteManifestsOnCleanup(registry, repoPath, tags) {
  onCleanup(`registry ${registry}/${repoPath}`, () => {
    for (const tag of tags()) {
      const head = run(
        'curl',
        [
          '-sfI',
          '-m',
          '10',
          '-H',
          'Accept: application/vnd.docker.distribution.manifest.v2+json',
          `http://${registry}/v2/${repoPath}/manifests/${tag}`,
        ],
        { timeoutMs: 15_000 },
      );
      const digest = /docker-content-digest:\s*(\S+)/i.exec(head.stdout)?.[1];
      if (digest)
        run(
          'curl',
          [
            '-sf',
            '-m',
            '10',
            '-X',
            'DELETE',
            `http://${registry}/v2/${repoPath}/manifests/${digest}`,
          ],
          { timeoutMs: 15_000 },
        );
    }
  });
}

/** docker against a second engine of ours ({ host, label }), by DOCKER_HOST. */
export const on = (engine, args, opts = {}) =>
  docker(args, { ...opts, env: { ...opts.env, DOCKER_HOST: engine.host } });

export function onOk(engine, args, opts) {
  const r = on(engine, args, opts);
  if (r.code !== 0)
    throw new Error(
      `docker ${args.slice(0, 2).join(' ')} on the ${engine.label} engine failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}): ${lastLines(r.stderr || r.stdout, 8)}`,
    );
  return r;
}
