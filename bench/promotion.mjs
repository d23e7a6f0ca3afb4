// Promoting the synth example's images from the local registry (dev) to
// another registry (prod): docker-promote's registry-to-registry copy by
// digest against the engine's way, `docker pull` + `docker tag` + `docker
// push`. Each destination is a fresh docker-registry of its own (empty
// storage, a random port), and every byte between the registries and their
// clients passes through a counting proxy in this process: the source's
// proxy counts what was read from dev, each destination's what was written
// to prod.
//
// Rows, in one run:
//   (a) pull-tag-push: docker pull <dev>/<image>:<content tag>, docker tag,
//       docker push <prod>/<image>:<tag> for every recorded tag, per image.
//       The engine holds the layers already (it built them), so its pull moves
//       only manifests and config: the best case for it. A fresh CI runner's
//       pull downloads every layer too; the "fresh runner" line adds the
//       compressed layer sizes the manifests list.
//   (b) promotion: the plugin's copy (dist/packages/docker, built first when
//       missing), same images and tags, to the other fresh registry.
//   (c) the same promotion again: what a rerun moves.
//
//   node bench/promotion.mjs [--images=training,inference]
import fs from 'node:fs';
import { createServer, request } from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  DOCKER,
  cleanupImageTag,
  fmtBytes,
  fmtMs,
  fmtRatio,
  flag,
  lastLines,
  loadToolchainEnv,
  main,
  makeTempDir,
  nx,
  onCleanup,
  printReport,
  recordedImage,
  recordedName,
  ROOT,
  runStreaming,
  sleep,
} from './lib.mjs';

const GOAL_TIME_RATIO = 2; // promotion at least twice as fast as the engine's way
const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** The plugin's promotion library as published (tsc output), built when missing. */
function promotionLibrary() {
  const dist = path.join(ROOT, 'dist', 'packages', 'docker', 'src');
  const copy = path.join(dist, 'promotion', 'registry-copy.js');
  if (!fs.existsSync(copy)) {
    console.error('building the plugin (dist/packages/docker)…');
    const r = nx(['run', 'docker:build', '--skip-nx-cache'], {
      timeoutMs: 10 * 60_000,
    });
    if (r.code !== 0 || !fs.existsSync(copy))
      throw new Error(
        `nx run docker:build failed:\n${lastLines(r.stdout + r.stderr, 20)}`,
      );
  }
  const require = createRequire(import.meta.url);
  return {
    ...require(copy),
    ...require(path.join(dist, 'registry', 'registry-client.js')),
  };
}

/**
 * An HTTP proxy on 127.0.0.1 in front of a registry, counting the bytes of
 * request and response bodies. The Host header is kept, so the registry's
 * upload locations point back through it.
 */
async function countingProxy(upstream) {
  const [host, port] = upstream.split(':');
  const counts = { bytes: 0 };
  const server = createServer((req, res) => {
    const up = request(
      {
        host,
        port: Number(port),
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.on('data', (c) => (counts.bytes += c.length));
        answer.pipe(res);
      },
    );
    up.on('error', () => req.socket.destroy());
    req.on('data', (c) => (counts.bytes += c.length));
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  onCleanup(`proxy for ${upstream}`, () => server.close());
  return {
    registry: `127.0.0.1:${server.address().port}`,
    counts,
  };
}

/** A fresh docker-registry with its own storage, stopped and removed at cleanup. */
async function freshRegistry(label) {
  const dir = makeTempDir(`ml-bench-promo-${label}`);
  const probe = createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${probe.address().port}`;
  await new Promise((r) => probe.close(r));
  fs.writeFileSync(
    path.join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: { level: error }',
      `storage: { filesystem: { rootdirectory: ${path.join(dir, 'storage')} } }`,
      `http: { addr: "${host}" }`,
      '',
    ].join('\n'),
  );
  const { spawn } = await import('node:child_process');
  const child = spawn(
    'docker-registry',
    ['serve', path.join(dir, 'config.yml')],
    {
      stdio: 'ignore',
    },
  );
  onCleanup(`registry ${host}`, () => child.kill('SIGTERM'));
  for (let i = 0; i < 75; i++) {
    const up = await fetch(`http://${host}/v2/`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) return host;
    await sleep(200);
  }
  throw new Error(`docker-registry did not start on ${host}`);
}

async function manifestOf(registry, repoPath, tag) {
  const res = await fetch(
    `http://${registry}/v2/${repoPath}/manifests/${tag}`,
    {
      headers: { accept: MANIFEST_TYPES },
    },
  );
  if (res.status !== 200) return undefined;
  return {
    digest: res.headers.get('docker-content-digest'),
    body: await res.json(),
  };
}

async function dockerAsync(args, what) {
  const r = await runStreaming(DOCKER, args, { timeoutMs: 60 * 60_000 });
  if (r.code !== 0)
    throw new Error(
      `${what} failed (exit ${r.code}):\n${lastLines(r.lines.join('\n'), 10)}`,
    );
  return r;
}

await main(async () => {
  const { registry: devRegistry } = loadToolchainEnv();
  const dev = devRegistry || '127.0.0.1:5000';
  const keys = flag('images', 'training,inference').split(',');
  const lib = promotionLibrary();

  // The synth images as recorded, each pushed to dev under its content tag.
  const images = [];
  for (const key of keys) {
    const img = recordedImage('synth', key);
    const name = recordedName(img);
    const repoPath = name.slice(name.indexOf('/') + 1);
    if (!(await manifestOf(dev, repoPath, img.contentTag))) {
      console.error(`pushing ${img.ref} to ${dev}…`);
      await dockerAsync(['push', img.ref], `docker push ${img.ref}`);
    }
    const m = await manifestOf(dev, repoPath, img.contentTag);
    images.push({
      key,
      repoPath,
      own: repoPath.split('/').pop(),
      tag: img.contentTag,
      digest: m.digest,
      layerBytes: (m.body.layers ?? []).reduce((n, l) => n + l.size, 0),
    });
  }

  const source = await countingProxy(dev);
  const engineDest = await countingProxy(await freshRegistry('engine'));
  const promoDest = await countingProxy(await freshRegistry('promotion'));
  const reset = () => {
    source.counts.bytes = 0;
    engineDest.counts.bytes = 0;
    promoDest.counts.bytes = 0;
  };

  // (a) the engine's way
  reset();
  let t0 = performance.now();
  for (const img of images) {
    const from = `${source.registry}/${img.repoPath}:${img.tag}`;
    const to = `${engineDest.registry}/prod/${img.own}:${img.tag}`;
    cleanupImageTag(from);
    cleanupImageTag(to);
    await dockerAsync(['pull', from], `docker pull ${from}`);
    await dockerAsync(['tag', from, to], `docker tag ${to}`);
    await dockerAsync(['push', to], `docker push ${to}`);
  }
  const engine = {
    ms: performance.now() - t0,
    bytes: source.counts.bytes + engineDest.counts.bytes,
  };
  for (const img of images) {
    const at = await manifestOf(
      engineDest.registry,
      `prod/${img.own}`,
      img.tag,
    );
    img.engineDigest = at?.digest;
  }

  // (b) promotion, then (c) the same again
  const promote = async () => {
    reset();
    const started = performance.now();
    const stats = [];
    for (const img of images) {
      const from = {
        client: new lib.RegistryClient(source.registry),
        path: img.repoPath,
      };
      const to = {
        client: new lib.RegistryClient(promoDest.registry),
        path: `prod/${img.own}`,
      };
      const manifest = await lib.fetchManifest(from, img.tag);
      stats.push(
        await lib.copyImage(from, to, manifest, [img.tag], { retries: 3 }),
      );
    }
    return {
      ms: performance.now() - started,
      bytes: source.counts.bytes + promoDest.counts.bytes,
      copied: stats.reduce((n, s) => n + s.bytesCopied, 0),
    };
  };
  const first = await promote();
  const again = await promote();
  for (const img of images) {
    const at = await manifestOf(promoDest.registry, `prod/${img.own}`, img.tag);
    img.promotedDigest = at?.digest;
  }

  const layerBytes = images.reduce((n, i) => n + i.layerBytes, 0);
  const same = images.every((i) => i.promotedDigest === i.digest);
  printReport({
    title: `Promotion of synth's ${keys.join(' and ')} images between two registries`,
    headers: ['row', 'time', 'bytes moved', 'vs promotion (time / bytes)'],
    rows: [
      [
        '(a) docker pull + tag + push (engine holds the layers)',
        fmtMs(engine.ms),
        fmtBytes(engine.bytes),
        `${fmtRatio(engine.ms, first.ms)} / ${fmtRatio(engine.bytes, first.bytes)}`,
      ],
      [
        '(a) the same on a fresh runner (adds the layers its pull downloads)',
        'not run',
        fmtBytes(engine.bytes + layerBytes),
        `– / ${fmtRatio(engine.bytes + layerBytes, first.bytes)}`,
      ],
      [
        '(b) docker-promote copy',
        fmtMs(first.ms),
        fmtBytes(first.bytes),
        '1.00x',
      ],
      [
        '(c) docker-promote again',
        fmtMs(again.ms),
        fmtBytes(again.bytes),
        `${fmtRatio(again.ms, first.ms)} / ${fmtRatio(again.bytes, first.bytes)}`,
      ],
    ],
    goals: [
      {
        goal: 'the digest at prod is the one in dev (promotion)',
        measured: images
          .map(
            (i) =>
              `${i.key}: ${i.promotedDigest === i.digest ? 'same' : `${i.promotedDigest} ≠ ${i.digest}`}`,
          )
          .join(', '),
        met: same,
      },
      {
        goal: `promotion at least ${GOAL_TIME_RATIO}× faster than pull-tag-push`,
        measured: fmtRatio(engine.ms, first.ms),
        met: engine.ms >= GOAL_TIME_RATIO * first.ms,
      },
      {
        goal: 'a second promotion uploads no layer',
        measured: `${fmtBytes(again.bytes)} moved (manifests and HEADs)`,
        met: again.bytes < 64 * 1024,
      },
    ],
    notes: [
      `Bytes moved: request and response bodies through a counting proxy in front of dev and of each destination; the payload copied by the promotion was ${fmtBytes(first.copied)} (compressed layers and config).`,
      `Digests at the engine's destination: ${images.map((i) => `${i.key} ${i.engineDigest === i.digest ? 'same as dev' : 'differs from dev (the engine re-encoded the manifest)'}`).join(', ')}.`,
      'The promotion row calls the library directly (no nx start-up); through nx add about a second for the task runner.',
    ],
    command: `node bench/promotion.mjs --images=${keys.join(',')}`,
  });
});
