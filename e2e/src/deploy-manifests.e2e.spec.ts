/**
 * Deployment manifests, end to end on real parts: the synth example gets
 * manifests from `nx g @ml/docker:deploy`, docker-deploy-manifests builds,
 * tests and pushes it and pins the pushed digest, docker-check-manifests
 * passes them and catches a hand-written manifest's drift. Then the dev
 * overlay, rendered, validated against the Kubernetes schema, runs on
 * `podman kube play` with the image pulled from the local registry by
 * digest: as the image's UID, read-only root, capabilities dropped, ready,
 * answering the documented example on 127.0.0.1; `podman kube down` leaves
 * nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  readYamlDocs,
  renderKustomization,
} from '../../packages/docker/src/deploy/kustomize';
import { podmanUlimits } from '../../packages/docker/src/engine/detection';
import { ensureBaseInRegistry, PodmanStore } from './support/engines';
import { exampleMonorepo, removeImagesOf } from './support/example-monorepo';
import { expectFailure } from './support/failure-modes';
import { schemaErrors } from './support/kubernetes-schemas';
import { registryManifest, run, uniqueId, until } from './support/run';
import { Workspace } from './support/workspace';

const SYNTH = 'examples/synth';
const DEPLOY = `${SYNTH}/deploy`;
const DEV = `${DEPLOY}/kubernetes/overlays/dev`;

/* eslint-disable @typescript-eslint/no-explicit-any */

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('deployment manifests for synth, pinned, checked and run on podman kube play', () => {
  const repository = `e2e-${uniqueId('dep')}`;
  let ws: Workspace;
  let pinnedDigest: string;
  let fullName: string;

  beforeAll(() => {
    ws = exampleMonorepo(repository);
  });

  afterAll(() => {
    removeImagesOf(repository);
    ws?.dispose();
  });

  it('generates the kustomize base and overlays from the image, and refuses a project with no serving image', () => {
    const r = ws.nx(['g', '@ml/docker:deploy', '--project=synth']);
    expect(r.all).toMatch(
      /Image \S+\/synth-inference: port 8000, user 10001:10001, liveness \/health, readiness \/ready/,
    );
    const deployment = parse(
      readFileSync(
        join(ws.root, DEPLOY, 'kubernetes/base/deployment.yaml'),
        'utf8',
      ),
    );
    const c = deployment.spec.template.spec.containers[0];
    expect(c.readinessProbe.httpGet).toEqual({ path: '/ready', port: 8000 });
    expect(c.securityContext.runAsUser).toBe(10001);
    ws.nx([
      'g',
      '@ml/docker:deploy',
      '--project=synth',
      '--platform=cloud-run',
    ]);
    // ml-base builds a base image, not a service.
    expectFailure(
      ws.nx(['g', '@ml/docker:deploy', '--project=ml-base'], {
        allowFail: true,
      }),
      'deploy.no-serving-image',
    );
    ws.commitAll('deploy manifests');
  });

  it('refuses to pin before anything was pushed', () => {
    const before = readFileSync(
      join(ws.root, DEV, 'kustomization.yaml'),
      'utf8',
    );
    expectFailure(
      ws.nx(
        ['run', 'synth:docker-deploy-manifests', '--excludeTaskDependencies'],
        {
          allowFail: true,
        },
      ),
      'deploy.pin-without-push',
    );
    expect(readFileSync(join(ws.root, DEV, 'kustomization.yaml'), 'utf8')).toBe(
      before,
    );
  });

  it('builds, tests and pushes synth, then pins the digest the registry holds into both overlays', async () => {
    const r = ws.nx(['run', 'synth:docker-deploy-manifests']);
    const m = r.all.match(/pinned (\S+)@(sha256:[0-9a-f]{64}) in (.+)/);
    expect(m).not.toBeNull();
    [, fullName, pinnedDigest] = m!;
    expect(m![3]).toContain('overlays/dev/kustomization.yaml');
    expect(m![3]).toContain('overlays/prod/kustomization.yaml');
    expect(m![3]).toContain('cloud-run/service.yaml');
    const [, path] = fullName.match(/^[^/]+\/(.+)$/)!;
    expect((await registryManifest(path, 'latest')).digest).toBe(pinnedDigest);
    const overlay = parse(
      readFileSync(join(ws.root, DEV, 'kustomization.yaml'), 'utf8'),
    );
    expect(overlay.images).toEqual([
      { name: 'synth-inference', newName: fullName, digest: pinnedDigest },
    ]);
  });

  it('renders manifests valid against the Kubernetes API schema (both overlays) and Knative serving (Cloud Run), and the validator catches a wrong type', () => {
    const docs = [
      ...['dev', 'prod'].flatMap((o) =>
        renderKustomization(
          join(ws.root, DEPLOY, 'kubernetes/overlays', o),
          ws.root,
        ),
      ),
      ...readYamlDocs(join(ws.root, DEPLOY, 'cloud-run/service.yaml')),
    ].map((d) => d.doc as any);
    expect(docs.map((d) => `${d.apiVersion} ${d.kind}`).sort()).toEqual([
      'apps/v1 Deployment',
      'apps/v1 Deployment',
      'autoscaling/v2 HorizontalPodAutoscaler',
      'serving.knative.dev/v1 Service',
      'v1 ConfigMap',
      'v1 ConfigMap',
      'v1 Service',
      'v1 Service',
    ]);
    expect(schemaErrors(docs)).toEqual([]);
    const broken = structuredClone(docs.find((d) => d.kind === 'Deployment'));
    broken.spec.template.spec.containers[0].ports[0].containerPort = '8000';
    expect(schemaErrors([broken]).join('\n')).toMatch(
      /containerPort must be integer/,
    );
  });

  it('passes its own manifests, catches drift in a hand-written one, and refuses to overwrite an edited manifest', () => {
    expect(ws.nx(['run', 'synth:docker-check-manifests']).all).toMatch(
      /agree with the image \(port 8000, user 10001:10001, probes \/ready and \/health, digest sha256:/,
    );
    const docs = renderKustomization(join(ws.root, DEV), ws.root).map(
      (d) => d.doc as any,
    );
    const deployment = docs.find((d) => d.kind === 'Deployment');
    const c = deployment.spec.template.spec.containers[0];
    c.securityContext.runAsUser = 1000;
    c.livenessProbe.httpGet.path = '/healthz';
    ws.write(
      `${SYNTH}/k8s/app.yaml`,
      docs.map((d) => stringify(d)).join('---\n'),
    );
    expectFailure(
      ws.nx(
        ['run', 'synth:docker-check-manifests', '--manifests=k8s/app.yaml'],
        {
          allowFail: true,
        },
      ),
      'deploy.drift',
    );
    const base = join(ws.root, DEPLOY, 'kubernetes/base/deployment.yaml');
    const edited = readFileSync(base, 'utf8').replace('cpu: 500m', 'cpu: 750m');
    writeFileSync(base, edited);
    expectFailure(
      ws.nx(['g', '@ml/docker:deploy', '--project=synth'], { allowFail: true }),
      'deploy.edited-manifest',
    );
    expect(readFileSync(base, 'utf8')).toBe(edited);
  });

  describe('podman kube play', () => {
    let store: PodmanStore;
    let env: NodeJS.ProcessEnv;
    let playFile: string;
    let hostPort: number;
    const podman = (args: string[], allowFail = false) =>
      run('podman', args, { env, allowFail, timeoutMs: 10 * 60_000 });

    beforeAll(async () => {
      store = new PodmanStore('deploy');
      // Podman 4.3's pods need an infra ("pause") container: catatonit or
      // the k8s pause image, neither here offline, so a tiny one is built
      // from the offline base. kube play has no --ulimit: containers.conf
      // caps the limits at what this sandbox allows (see runFlags).
      const [nofile, nproc] = run('bash', [
        '-c',
        'ulimit -Hn; ulimit -Hu',
      ]).stdout.split('\n');
      const limits = podmanUlimits(
        nofile,
        nproc,
        readFileSync('/proc/sys/kernel/pid_max', 'utf8'),
      );
      const conf = join(store.dir, 'containers.conf');
      writeFileSync(
        conf,
        [
          '[containers]',
          `default_ulimits = ${JSON.stringify(limits)}`,
          '[engine]',
          'infra_image = "localhost/ml-docker-e2e/pause:1"',
          '',
        ].join('\n'),
      );
      env = { ...store.env, CONTAINERS_CONF: conf };
      const base = await ensureBaseInRegistry();
      writeFileSync(
        join(store.dir, 'Containerfile.pause'),
        `FROM ${base}\nENTRYPOINT ["sleep", "infinity"]\n`,
      );
      podman([
        'build',
        '--tls-verify=false',
        '-q',
        '-t',
        'localhost/ml-docker-e2e/pause:1',
        '-f',
        join(store.dir, 'Containerfile.pause'),
        store.dir,
      ]);
      hostPort = await freePort();
    });

    afterAll(() => {
      if (playFile) podman(['kube', 'down', playFile], true);
      store?.dispose();
    });

    it('renders the dev overlay pinned to the pushed digest', () => {
      const docs = renderKustomization(join(ws.root, DEV), ws.root).map(
        (d) => d.doc as any,
      );
      const deployment = docs.find((d) => d.kind === 'Deployment');
      const c = deployment.spec.template.spec.containers[0];
      expect(c.image).toBe(`${fullName}@${pinnedDigest}`);
      // Podman 4.3's kube play has no --publish: the test alone adds a
      // hostPort on 127.0.0.1 to reach the pod from here.
      c.ports[0] = { ...c.ports[0], hostPort, hostIP: '127.0.0.1' };
      playFile = join(store.dir, 'dev.yaml');
      writeFileSync(playFile, docs.map((d) => stringify(d)).join('---\n'));
    });

    it('runs the pod as the image user, read-only, without capabilities, ready and answering the documented example', async () => {
      podman(['kube', 'play', '--tls-verify=false', playFile]);
      const container = 'synth-inference-pod-0-inference';
      const budget = parse(
        readFileSync(playFile, 'utf8')
          .split('---\n')
          .find((d) => d.includes('kind: Deployment'))!,
      ).spec.template.spec.containers[0].startupProbe;
      const ready = await until(
        async () =>
          (await fetch(`http://127.0.0.1:${hostPort}/ready`).then(
            (r) => r.status,
            () => 0,
          )) === 200,
        budget.periodSeconds * budget.failureThreshold * 1000,
      );
      if (!ready)
        throw new Error(podman(['logs', container], true).all.slice(-3000));
      const inspect = JSON.parse(podman(['inspect', container]).stdout)[0];
      expect(inspect.Config.User).toBe('10001:10001');
      expect(inspect.HostConfig.ReadonlyRootfs).toBe(true);
      expect(inspect.HostConfig.SecurityOpt).toContain('no-new-privileges');
      // Podman turns the livenessProbe into its health check, on the liveness path.
      expect(inspect.Config.Healthcheck.Test.join(' ')).toContain(
        'http://localhost:8000/health',
      );
      expect(inspect.Config.Healthcheck.Interval).toBe(15e9);
      // What the README says Podman 4.3 does not honour, as seen here: the
      // health check needs curl (the image has none), no startup check,
      // the stop timeout is not terminationGracePeriodSeconds.
      expect(inspect.Config.HealthcheckOnFailureAction).toBe('restart');
      expect(podman(['healthcheck', 'run', container], true).status).not.toBe(
        0,
      );
      const health = JSON.parse(podman(['inspect', container]).stdout)[0].State
        .Health;
      expect(health.Log.at(-1).Output).toContain('curl: not found');
      expect(inspect.Config.StartupHealthCheck).toBeUndefined();
      expect(inspect.Config.StopTimeout).toBe(10);
      const inside = podman(
        [
          'exec',
          container,
          'sh',
          '-c',
          'id -u; id -g; grep -E "^(CapEff|NoNewPrivs)" /proc/1/status; touch /app/x 2>&1; touch /tmp/x && echo tmp-writable',
        ],
        true,
      ).all;
      expect(inside).toMatch(/^10001\n10001\n/);
      expect(inside).toMatch(/CapEff:\s+0000000000000000/);
      expect(inside).toMatch(/NoNewPrivs:\s+1/);
      expect(inside).toMatch(/\/app\/x.*Read-only file system/);
      expect(inside).toContain('tmp-writable');
      const body = readFileSync(
        join(ws.root, SYNTH, 'docker/smoke/predict.json'),
        'utf8',
      );
      const res = await fetch(`http://127.0.0.1:${hostPort}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(200);
      expect(Object.keys(await res.json())).toEqual(
        expect.arrayContaining(['classes', 'probabilities']),
      );
    });

    it('kube down leaves no pod, container or volume', () => {
      podman(['kube', 'down', playFile]);
      playFile = '';
      expect(podman(['pod', 'ps', '-q']).stdout.trim()).toBe('');
      expect(podman(['ps', '-aq']).stdout.trim()).toBe('');
      expect(podman(['volume', 'ls', '-q']).stdout.trim()).toBe('');
    });
  });
});
