// Size of synth's inference image built from the generated (multi-stage)
// Dockerfile against the seed's single-stage layout
// (bench/fixtures/seed-inference.Dockerfile), both FROM the same ml-base image
// and from the same temporary copy of examples/synth with ml-common's package
// copied in (the seed layout imports it from the context; ours COPYs it from
// the ml-common artifact image).
//
//   node bench/image-size.mjs
import fs from 'node:fs';
import path from 'node:path';
import {
  buildArgFlags,
  cleanupContainer,
  cleanupImageTag,
  copyExample,
  docker,
  DOCKER,
  fmtBytes,
  fmtRatio,
  imageSize,
  lastLines,
  loadToolchainEnv,
  main,
  OWNER_LABEL,
  printReport,
  recordedImage,
  ROOT,
  runStreaming,
  SEED_DOCKERFILE,
  uniqueSuffix,
} from './lib.mjs';

const GOAL_RATIO = 0.9;

/** Builds with BuildKit under a unique tag (removed at cleanup); returns the tag. */
async function build(contextDir, dockerfile, buildArgs, name) {
  const tag = `ml-bench-size-${uniqueSuffix()}/synth-inference:${name}`;
  cleanupImageTag(tag);
  const r = await runStreaming(
    DOCKER,
    [
      'build',
      '--progress=plain',
      '-f',
      dockerfile,
      ...buildArgFlags(buildArgs),
      '-t',
      tag,
      '.',
    ],
    // The seed layout runs apt-get against Debian's mirror: allow it time.
    { cwd: contextDir, env: { DOCKER_BUILDKIT: '1' }, timeoutMs: 15 * 60_000 },
  );
  if (r.code !== 0)
    throw new Error(
      `build of the ${name} image failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}):\n${lastLines(r.lines.join('\n'), 25)}`,
    );
  return tag;
}

/**
 * Layers an image adds on top of its base, biggest first. `docker history`
 * lists newest first, so they are the first (image - base) entries.
 */
function layersAboveBase(tag, baseRef) {
  const history = (ref) =>
    docker([
      'history',
      '--no-trunc',
      '--human=false',
      '--format',
      '{{.Size}}\t{{.CreatedBy}}',
      ref,
    ])
      .stdout.trim()
      .split('\n')
      .map((l) => {
        const [size, ...cmd] = l.split('\t');
        return {
          size: Number(size),
          cmd: cmd.join('\t').replace(/\s+/g, ' ').trim(),
        };
      });
  const own = history(tag);
  return own
    .slice(0, own.length - history(baseRef).length)
    .sort((x, y) => y.size - x.size);
}

/** "RUN |5 A= B= /bin/sh -c apt-get update && …" → "RUN apt-get update && …", shortened. */
function shortCmd(cmd) {
  const clean = cmd
    .replace(/^RUN \|\d+ (\S+=\S* )*/, 'RUN ')
    .replace('/bin/sh -c ', '')
    .replace(/ # buildkit$/, '');
  return clean.length > 60 ? `${clean.slice(0, 57)}...` : clean;
}

/**
 * Bytes apt left in an image: package lists and /var/cache/apt (its binary
 * caches pkgcache.bin and srcpkgcache.bin, and downloaded .debs). The offline
 * base, unlike the official python images, has no docker-clean apt hook, so a
 * bare `apt-get install` keeps both. Read as root (the seed runs as appuser).
 */
function aptLeftovers(tag) {
  const name = `ml-bench-size-du-${uniqueSuffix()}`;
  cleanupContainer(name);
  const r = docker(
    [
      'run',
      '--rm',
      '--name',
      name,
      '--label',
      `${OWNER_LABEL}=bench-image-size`,
      '--network',
      'none',
      '--user',
      '0',
      '--entrypoint',
      'du',
      tag,
      '-sb',
      '/var/lib/apt/lists',
      '/var/cache/apt',
    ],
    { timeoutMs: 120_000 },
  );
  const bytes = r.stdout
    .trim()
    .split('\n')
    .map((l) => Number(l.split('\t')[0]));
  return { lists: bytes[0], cache: bytes[1] };
}

await main(async () => {
  loadToolchainEnv();
  const base = recordedImage('ml-base', 'base');
  const common = recordedImage('ml-common', 'lib');

  // One context for both builds; the trained model when there is one.
  const dir = copyExample('synth');
  fs.cpSync(
    path.join(ROOT, 'examples', 'ml-common', 'ml_common'),
    path.join(dir, 'ml_common'),
    { recursive: true },
  );

  const ours = await build(
    dir,
    'docker/inference/Dockerfile',
    { BASE_IMAGE: base.ref, ML_COMMON_IMAGE: common.ref },
    'ours',
  );
  const seed = await build(
    dir,
    SEED_DOCKERFILE,
    { BASE_IMAGE: base.ref },
    'seed',
  );

  const baseBytes = imageSize(base.ref);
  const images = [
    { label: 'ours: generated multi-stage Dockerfile', tag: ours },
    {
      label: 'seed: single-stage layout (fixtures/seed-inference.Dockerfile)',
      tag: seed,
    },
  ].map((img) => {
    const bytes = imageSize(img.tag);
    return {
      ...img,
      bytes,
      added: bytes - baseBytes,
      top: layersAboveBase(img.tag, base.ref)[0],
    };
  });
  const [o, s] = images;
  const apt = aptLeftovers(seed);
  const seedLean = s.bytes - apt.lists - apt.cache;

  printReport({
    title:
      "Size of synth's inference image: generated Dockerfile vs the seed's single-stage layout",
    headers: [
      'image',
      'size',
      'added on top of ml-base',
      'biggest layer it adds',
      'ratio to seed (total)',
      'ratio to seed (added)',
    ],
    rows: [
      ...images.map((img) => [
        img.label,
        fmtBytes(img.bytes),
        fmtBytes(img.added),
        `${fmtBytes(img.top?.size)}: ${shortCmd(img.top?.cmd ?? '')}`,
        fmtRatio(img.bytes, s.bytes),
        fmtRatio(img.added, s.added),
      ]),
      // Computed, not built: how the goal hinges on the seed's apt leftovers.
      [
        "seed minus apt's lists and caches (computed, not built)",
        fmtBytes(seedLean),
        fmtBytes(seedLean - baseBytes),
        '-',
        fmtRatio(seedLean, s.bytes),
        fmtRatio(seedLean - baseBytes, s.added),
      ],
      [
        'ml-base (the common base of both)',
        fmtBytes(baseBytes),
        '-',
        '-',
        fmtRatio(baseBytes, s.bytes),
        '-',
      ],
    ],
    goals: [
      {
        goal: `ours at most ${GOAL_RATIO}x the seed's size (docker image inspect .Size)`,
        measured: fmtRatio(o.bytes, s.bytes),
        met: o.bytes <= GOAL_RATIO * s.bytes,
      },
      {
        goal: `same, against a seed that had cleaned up after apt (computed)`,
        measured: fmtRatio(o.bytes, seedLean),
        met: o.bytes <= GOAL_RATIO * seedLean,
      },
    ],
    notes: [
      `what dominates: the shared ml-base image (${base.ref}), ${fmtBytes(baseBytes)} = ${Math.round((100 * baseBytes) / o.bytes)}% of ours and ${Math.round((100 * baseBytes) / s.bytes)}% of the seed's; above it ours adds mostly "${shortCmd(o.top.cmd)}", the seed mostly "${shortCmd(s.top.cmd)}"`,
      `of the seed's apt layer, ${fmtBytes(apt.lists)} are apt's package lists and ${fmtBytes(apt.cache)} apt's caches in /var/cache/apt (pkgcache.bin, srcpkgcache.bin, .debs; no \`rm -rf /var/lib/apt/lists/*\`, and this offline base has no docker-clean apt hook, unlike the official python images); the rest is curl and the libraries it pulls in`,
      `ours duplicates the base's /opt/venv: its runtime stage copies the builder's virtualenv (${fmtBytes(o.top.size)}, mostly pip and setuptools) over the one ml-base already holds at the same path`,
      `both built with DOCKER_BUILDKIT=1 ${DOCKER} build from one temporary copy of examples/synth (+ ml_common/, + its models/) with --build-arg BASE_IMAGE=${base.ref}; ours also with ML_COMMON_IMAGE=${common.ref}`,
      'decimal units (1 MB = 10^6 bytes); both tags are removed at the end (a tag on an image someone else also tagged only untags)',
    ],
    command: 'node bench/image-size.mjs',
  });
});
