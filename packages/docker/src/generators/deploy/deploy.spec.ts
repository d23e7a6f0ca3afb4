import {
  addProjectConfiguration,
  readProjectConfiguration,
  Tree,
  updateProjectConfiguration,
} from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { renderKustomization } from '../../deploy/kustomize';
import { UserFacingError } from '../../errors/errors';
import { wasEditedByHand } from '../../generated-files/generated-marker';
import { deployGenerator } from './deploy';

// formatFiles as a workspace made by create-nx-workspace formats YAML: prettier with singleQuote.
jest.mock('@nx/devkit', () => ({
  ...jest.requireActual('@nx/devkit'),
  formatFiles: jest.fn(async (tree: Tree) => {
    for (const c of tree.listChanges())
      if (c.type !== 'DELETE' && c.path.endsWith('.yaml'))
        tree.write(
          c.path,
          execFileSync(
            process.execPath,
            [
              require.resolve('prettier/bin/prettier.cjs'),
              '--parser',
              'yaml',
              '--single-quote',
            ],
            { input: tree.read(c.path, 'utf-8')!, encoding: 'utf8' },
          ),
        );
  }),
}));
import { DeployGeneratorSchema } from './schema';

const ROOT = 'apps/synth';
const DEPLOY = `${ROOT}/deploy`;
const BASE = `${DEPLOY}/kubernetes/base`;
const SYNTH_DOCKERFILE = readFileSync(
  join(__dirname, '../../../../../examples/synth/docker/inference/Dockerfile'),
  'utf8',
);

function workspace(dockerfile = SYNTH_DOCKERFILE): Tree {
  const tree = createTreeWithEmptyWorkspace();
  addProjectConfiguration(tree, 'synth', { root: ROOT });
  tree.write(`${ROOT}/docker/inference/Dockerfile`, dockerfile);
  return tree;
}

const run = (tree: Tree, o: Partial<DeployGeneratorSchema> = {}) =>
  deployGenerator(tree, { project: 'synth', skipFormat: true, ...o });

function yamlOf(tree: Tree, path: string) {
  return parse(tree.read(path, 'utf-8')!);
}

function containerOf(tree: Tree) {
  return yamlOf(tree, `${BASE}/deployment.yaml`).spec.template.spec
    .containers[0];
}

/** The tree's deploy/ folder on disk, for the renderer and kubectl. */
function onDisk(tree: Tree): string {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-spec-'));
  const walk = (p: string) => {
    for (const c of tree.children(p)) {
      const child = `${p}/${c}`;
      if (tree.isFile(child)) {
        mkdirSync(dirname(join(dir, child)), { recursive: true });
        writeFileSync(join(dir, child), tree.read(child)!);
      } else walk(child);
    }
  };
  walk(DEPLOY);
  return join(dir, DEPLOY);
}

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('deploy generator: kubernetes', () => {
  it('takes port, user, probe paths from the image and writes a hardened Deployment', async () => {
    const tree = workspace();
    await run(tree);
    const pod = yamlOf(tree, `${BASE}/deployment.yaml`).spec.template.spec;
    const c = pod.containers[0];
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8000 }]);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
    });
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/ready', port: 8000 });
    expect(c.startupProbe.httpGet).toEqual({ path: '/ready', port: 8000 });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/health', port: 8000 });
    // Only /tmp: synth's image declares no folder it writes.
    expect(c.volumeMounts).toEqual([{ name: 'w-tmp', mountPath: '/tmp' }]);
    expect(pod.volumes).toEqual([{ name: 'w-tmp', emptyDir: {} }]);
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    expect(c.resources.requests).toEqual({ cpu: '500m', memory: '512Mi' });
    expect(yamlOf(tree, `${BASE}/service.yaml`).spec.ports[0].targetPort).toBe(
      8000,
    );
  });

  it('mounts an emptyDir exactly over each folder the image says the app writes', async () => {
    const tree = workspace(
      SYNTH_DOCKERFILE.replace(
        'ml-docker.ready-path="/ready" \\',
        'ml-docker.ready-path="/ready" \\\n      ml-docker.writable="logs/ cache/" \\',
      ),
    );
    await run(tree);
    expect(
      containerOf(tree).volumeMounts.map(
        (m: { mountPath: string }) => m.mountPath,
      ),
    ).toEqual(['/tmp', '/app/logs', '/app/cache']);
  });

  it.each([
    ['no test record: a minute to ready assumed', undefined, 36],
    ['ready in 4 s: the 30 s floor', 4_000, 6],
    ['ready in 20 s: three times that', 20_000, 12],
    ['ready in 95 s', 95_000, 57],
  ])(
    'derives the startup budget from the measured time to ready (%s)',
    async (_, timeToReadyMs, failureThreshold) => {
      const tree = workspace();
      if (timeToReadyMs !== undefined)
        tree.write(
          'dist/docker/apps/synth/test-record.json',
          JSON.stringify({
            version: 1,
            project: 'synth',
            images: [
              {
                image: 'inference',
                name: '127.0.0.1:5000/ml-images/synth-inference',
                imageId: 'sha256:' + 'a'.repeat(64),
                passedAt: '2026-01-01T00:00:00Z',
                service: {
                  port: 8000,
                  livenessPath: '/health',
                  readinessPath: '/ready',
                  user: '10001:10001',
                  writable: [],
                  timeToHealthyMs: timeToReadyMs / 2,
                  timeToReadyMs,
                },
              },
            ],
          }),
        );
      await run(tree);
      const c = containerOf(tree);
      expect(c.startupProbe.periodSeconds).toBe(5);
      expect(c.startupProbe.failureThreshold).toBe(failureThreshold);
      expect(tree.read(`${BASE}/deployment.yaml`, 'utf-8')).toContain(
        timeToReadyMs === undefined
          ? 'No test record yet'
          : 'from the time to ready docker-test measured',
      );
    },
  );

  it("puts docker-test's service env in the ConfigMap, and leaves secret-looking names out", async () => {
    const tree = workspace();
    const config = readProjectConfiguration(tree, 'synth');
    updateProjectConfiguration(tree, 'synth', {
      ...config,
      targets: {
        'docker-test': {
          options: {
            service: { env: { MODEL_PATH: 'models/m.joblib', API_TOKEN: 'x' } },
          },
        },
      },
    });
    await run(tree);
    expect(yamlOf(tree, `${BASE}/configmap.yaml`).data).toEqual({
      MODEL_PATH: 'models/m.joblib',
    });
  });

  it('writes an HPA into the prod overlay unless --hpa=false', async () => {
    const withHpa = workspace();
    await run(withHpa);
    expect(
      yamlOf(withHpa, `${DEPLOY}/kubernetes/overlays/prod/kustomization.yaml`)
        .resources,
    ).toEqual(['../../base', 'hpa.yaml']);
    const without = workspace();
    await run(without, { hpa: false });
    expect(without.exists(`${DEPLOY}/kubernetes/overlays/prod/hpa.yaml`)).toBe(
      false,
    );
  });

  // Schema validation (kubernetes-models) is in e2e/src/deploy-manifests: the packages are ES modules only.
  it('renders every overlay as kubectl kustomize renders it', async () => {
    const tree = workspace();
    await run(tree);
    const dir = onDisk(tree);
    try {
      for (const overlay of ['dev', 'prod']) {
        const path = join(dir, 'kubernetes', 'overlays', overlay);
        const docs = renderKustomization(path, dir).map((d) => d.doc);
        expect(docs.map((d) => d.kind).sort()).toEqual(
          overlay === 'prod'
            ? ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Service']
            : ['ConfigMap', 'Deployment', 'Service'],
        );
        const deployment = docs.find((d) => d.kind === 'Deployment') as {
          spec: {
            replicas: number;
            template: { spec: { containers: Array<{ image: string }> } };
          };
        };
        expect(deployment.spec.replicas).toBe(overlay === 'prod' ? 2 : 1);
        expect(deployment.spec.template.spec.containers[0].image).toBe(
          '127.0.0.1:5000/ml-images/synth-inference',
        );
        if (hasKubectl()) {
          const kubectl = parseAllDocuments(
            execFileSync('kubectl', ['kustomize', path], { encoding: 'utf8' }),
          ).map((d) => d.toJS());
          const byKind = (a: object, b: object) =>
            String((a as { kind: string }).kind).localeCompare(
              (b as { kind: string }).kind,
            );
          expect([...docs].sort(byKind)).toEqual(kubectl.sort(byKind));
        }
      }
    } finally {
      rmSync(dir.slice(0, dir.indexOf(DEPLOY)), {
        recursive: true,
        force: true,
      });
    }
  });

  it("is unedited after the workspace's prettier (single quotes) formats it: a rerun rewrites nothing and refuses nothing", async () => {
    const tree = workspace();
    await run(tree, { skipFormat: false, platform: 'cloud-run' });
    await run(tree, { skipFormat: false });
    const files = tree
      .listChanges()
      .filter((c) => c.path.startsWith(DEPLOY))
      .map((c) => c.path);
    expect(files.length).toBe(8);
    const before = files.map((f) => tree.read(f, 'utf-8')!);
    // Formatting did change something (quotes), so the re-marking is what keeps them unedited.
    expect(before.join('')).toContain("'0'");
    for (const text of before) expect(wasEditedByHand(text)).toBe(false);
    await run(tree, { skipFormat: false });
    await run(tree, { skipFormat: false, platform: 'cloud-run' });
    expect(files.map((f) => tree.read(f, 'utf-8'))).toEqual(before);
  });
});

describe('deploy generator: cloud-run', () => {
  it('writes a Knative serving Service with the port through $PORT and the same probes', async () => {
    const tree = workspace();
    await run(tree, { platform: 'cloud-run' });
    const svc = yamlOf(tree, `${DEPLOY}/cloud-run/service.yaml`);
    const spec = svc.spec.template.spec;
    expect(spec.containerConcurrency).toBe(4);
    const c = spec.containers[0];
    expect(c.ports).toEqual([{ name: 'http1', containerPort: 8000 }]);
    expect(
      c.env.find((e: { name: string }) => e.name === 'PORT'),
    ).toBeUndefined();
    expect(c.startupProbe.httpGet.path).toBe('/ready');
    expect(c.livenessProbe.httpGet.path).toBe('/health');
    expect(tree.exists(`${DEPLOY}/kubernetes`)).toBe(false);
  });
});

describe('deploy generator: generated-file rules', () => {
  it('reruns to the same files', async () => {
    const tree = workspace();
    await run(tree);
    const before = tree.read(`${BASE}/deployment.yaml`, 'utf-8');
    await run(tree);
    expect(tree.read(`${BASE}/deployment.yaml`, 'utf-8')).toBe(before);
  });

  it.each([
    [
      'edited since generated',
      (t: string) => t.replace('cpu: 500m', 'cpu: 750m'),
      /deployment\.yaml was edited since it was generated; it was left as it is and nothing was written\. Rerun with --overwrite/,
    ],
    [
      'written by hand',
      () => 'apiVersion: apps/v1\nkind: Deployment\n',
      /deployment\.yaml was written by hand, not by @ml\/docker:deploy; it was left as it is and nothing was written\. Keep it \(docker-check-manifests checks hand-written manifests against the image\), or replace it with --overwrite\./,
    ],
  ])(
    'refuses to replace a file %s, and --overwrite replaces it',
    async (_, edit, message) => {
      const tree = workspace();
      await run(tree);
      const path = `${BASE}/deployment.yaml`;
      const edited = edit(tree.read(path, 'utf-8')!);
      tree.write(path, edited);
      await expect(run(tree)).rejects.toThrow(message);
      expect(tree.read(path, 'utf-8')).toBe(edited);
      await run(tree, { overwrite: true });
      expect(wasEditedByHand(tree.read(path, 'utf-8')!)).toBe(false);
    },
  );
});

describe('deploy generator: refusals', () => {
  it.each([
    [
      'no such project',
      workspace,
      { project: 'nope' },
      /Project "nope" does not exist in this workspace/,
    ],
    [
      'no serving image',
      () => {
        const t = workspace();
        t.delete(`${ROOT}/docker/inference/Dockerfile`);
        return t;
      },
      {},
      /apps\/synth\/docker\/inference\/Dockerfile does not exist, so there is no image to deploy\. Generate it first \(nx g @ml\/docker:images --project=synth\)/,
    ],
    [
      'root user',
      () =>
        workspace(SYNTH_DOCKERFILE.replace('USER 10001:10001', 'USER root')),
      {},
      /runs as USER root; runAsNonRoot needs a numeric non-root USER such as 10001:10001/,
    ],
    [
      'no EXPOSE',
      () => workspace(SYNTH_DOCKERFILE.replace('EXPOSE 8000', '')),
      {},
      /has no EXPOSE with a port number/,
    ],
    [
      'no liveness label',
      () =>
        workspace(
          SYNTH_DOCKERFILE.replace('ml-docker.health-path="/health"', 'x="y"'),
        ),
      {},
      /has no ml-docker\.health-path label, so the probes would be guesses/,
    ],
    [
      'unknown platform',
      workspace,
      { platform: 'nomad' },
      /--platform must be kubernetes or cloud-run \(got "nomad"\)/,
    ],
  ])('%s', async (_, make, options, message) => {
    const tree = make();
    const err = await run(
      tree,
      options as Partial<DeployGeneratorSchema>,
    ).catch((e) => e);
    expect(err).toBeInstanceOf(UserFacingError);
    expect(err.message).toMatch(message);
    expect(tree.exists(DEPLOY)).toBe(false);
  });
});
