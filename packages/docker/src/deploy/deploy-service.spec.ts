/* eslint-disable @typescript-eslint/no-explicit-any */
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import {
  markGenerated,
  wasEditedByHand,
} from '../generated-files/generated-marker';
import { UserFacingError } from '../errors/errors';
import {
  checkManifests,
  DeployTargetOptions,
  pinManifests,
} from './deploy-service';
import { servingFacts } from './image-facts';
import { renderKustomization } from './kustomize';
import {
  cloudRunService,
  kubernetesManifests,
  ManifestNames,
  manifestText,
} from './manifests';

const SYNTH = readFileSync(
  join(__dirname, '../../../../examples/synth/docker/inference/Dockerfile'),
  'utf8',
);
const NAME = '127.0.0.1:5000/ml-images/synth-inference';
const DIGEST = `sha256:${'d'.repeat(64)}`;
const IMAGE_ID = `sha256:${'1'.repeat(64)}`;
const NAMES: ManifestNames = {
  project: 'synth',
  app: 'synth-inference',
  imageName: 'synth-inference',
  fullImageName: NAME,
};

let root: string;
let o: DeployTargetOptions;
const proj = (...p: string[]) => join(root, 'apps/synth', ...p);
const write = (path: string, text: string) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
};
const records = (...p: string[]) => join(root, 'dist/docker/apps/synth', ...p);

function writeRecords({ push = true, tested = true } = {}) {
  write(
    records('build-record.json'),
    JSON.stringify({
      version: 2,
      project: 'synth',
      images: [
        {
          image: 'inference',
          dockerfile: 'docker/inference/Dockerfile',
          name: NAME,
          registry: '127.0.0.1:5000',
          tags: ['c0ffee', 'latest'],
          imageId: IMAGE_ID,
          sizeBytes: 1,
          durationMs: 1,
          builtWith: 'docker',
          createdAt: '2026-01-01T00:00:00Z',
        },
      ],
    }),
  );
  if (push)
    write(
      records('push-record.json'),
      JSON.stringify({
        version: 1,
        project: 'synth',
        pushedAt: '2026-01-01T00:00:00Z',
        tags: ['c0ffee', 'latest'].map((t) => ({
          ref: `${NAME}:${t}`,
          digest: DIGEST,
          uploaded: true,
        })),
      }),
    );
  if (tested)
    write(
      records('test-record.json'),
      JSON.stringify({
        version: 1,
        project: 'synth',
        images: [
          {
            image: 'inference',
            name: NAME,
            imageId: IMAGE_ID,
            passedAt: '2026-01-01T00:00:00Z',
          },
        ],
      }),
    );
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'deploy-service-'));
  write(proj('docker/inference/Dockerfile'), SYNTH);
  const facts = servingFacts('inference', SYNTH, 'Dockerfile');
  const options = { env: {}, hpa: true };
  for (const m of [
    ...kubernetesManifests(facts, NAMES, options),
    cloudRunService(facts, NAMES, options),
  ]) {
    const path = proj('deploy', m.path);
    write(path, markGenerated(path, manifestText(m), 'deploy'));
  }
  o = {
    workspaceRoot: root,
    project: { name: 'synth', root: 'apps/synth' },
    buildRecordPath: records('build-record.json'),
    buildTarget: 'docker-build',
    pushTarget: 'docker-push',
    image: 'inference',
    deployDir: 'deploy',
  };
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

function failure(f: () => void): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserFacingError);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

const OVERLAYS = ['dev', 'prod'].map((e) =>
  join('apps/synth/deploy/kubernetes/overlays', e, 'kustomization.yaml'),
);

describe('pinManifests', () => {
  it('writes the pushed digest into both overlays and the Cloud Run service, which stay generated files', () => {
    writeRecords();
    expect(pinManifests(o).sort()).toEqual(
      [...OVERLAYS, 'apps/synth/deploy/cloud-run/service.yaml'].sort(),
    );
    for (const overlay of ['dev', 'prod']) {
      const dir = proj('deploy/kubernetes/overlays', overlay);
      const text = readFileSync(join(dir, 'kustomization.yaml'), 'utf8');
      expect(wasEditedByHand(text)).toBe(false);
      expect(text).toContain('docker-deploy-manifests adds the digest');
      const deployment = renderKustomization(dir, root).find(
        (d) => d.doc.kind === 'Deployment',
      )!.doc as {
        spec: { template: { spec: { containers: Array<{ image: string }> } } };
      };
      expect(deployment.spec.template.spec.containers[0].image).toBe(
        `${NAME}@${DIGEST}`,
      );
    }
    expect(
      readFileSync(proj('deploy/cloud-run/service.yaml'), 'utf8'),
    ).toContain(`image: ${NAME}@${DIGEST}`);
    // Nothing left to change the second time.
    expect(pinManifests(o)).toEqual([]);
  });

  it('renders pinned overlays as kubectl kustomize does', () => {
    writeRecords();
    pinManifests(o);
    let kubectl = true;
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    } catch {
      kubectl = false;
    }
    if (!kubectl) return;
    const dir = proj('deploy/kubernetes/overlays/prod');
    const theirs = parseAllDocuments(
      execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' }),
    ).map((d) => d.toJS());
    const mine = renderKustomization(dir, root).map((d) => d.doc);
    const byKind = (a: object, b: object) =>
      String((a as { kind: string }).kind).localeCompare(
        (b as { kind: string }).kind,
      );
    expect(mine.sort(byKind)).toEqual(theirs.sort(byKind));
  });

  it.each([
    [
      'a push record but no build record',
      () => {
        writeRecords();
        unlinkSync(records('build-record.json'));
      },
      /No image "inference" in the build record .*build-record\.json, so nothing was pushed to pin\. Run nx run synth:docker-push \(it builds and tests first\), then rerun\./,
    ],
    [
      'no push record',
      () => writeRecords({ push: false }),
      /No push record at .*push-record\.json: the image was never pushed, so there is no tested digest to pin\. Run nx run synth:docker-push, then rerun\./,
    ],
    [
      'an image the test record does not list',
      () => {
        writeRecords();
        const path = records('test-record.json');
        writeFileSync(
          path,
          readFileSync(path, 'utf8').replace(
            IMAGE_ID,
            `sha256:${'2'.repeat(64)}`,
          ),
        );
      },
      /synth-inference \(image sha256:111111111111\) was pushed but never passed docker-test\. Run nx run synth:docker-push \(it tests first\), then rerun\./,
    ],
    [
      'a build newer than the push',
      () => {
        writeRecords();
        const path = records('build-record.json');
        writeFileSync(
          path,
          readFileSync(path, 'utf8')
            .replace('c0ffee', 'beef00')
            .replace('"latest"', '"other"'),
        );
      },
      /holds no digest for .*synth-inference as last built/,
    ],
  ])('refuses with %s, and changes nothing', (_, setup, message) => {
    setup();
    const before = readFileSync(
      proj('deploy/kubernetes/overlays/prod/kustomization.yaml'),
      'utf8',
    );
    expect(failure(() => pinManifests(o))).toMatch(message);
    expect(
      readFileSync(
        proj('deploy/kubernetes/overlays/prod/kustomization.yaml'),
        'utf8',
      ),
    ).toBe(before);
  });
});

describe('checkManifests', () => {
  it('passes the generated manifests once pinned', () => {
    writeRecords();
    pinManifests(o);
    expect(() => checkManifests(o)).not.toThrow();
  });

  it('says each unpinned workload of the generated manifests, one line each', () => {
    writeRecords();
    const message = failure(() => checkManifests(o));
    expect(message).toMatch(
      /^3 mismatches between the manifests and the image 127\.0\.0\.1:5000\/ml-images\/synth-inference:/,
    );
    expect(message.match(/is not pinned by digest/g)).toHaveLength(3);
    expect(message).toContain(
      'Pin the tested digest: nx run synth:docker-deploy-manifests',
    );
  });

  /** The prod overlay, pinned and rendered, as a team would keep it by hand in one file. */
  function handWritten(edit: (docs: any[]) => void): string {
    writeRecords();
    pinManifests(o);
    const docs = renderKustomization(
      proj('deploy/kubernetes/overlays/prod'),
      root,
    ).map((d) => d.doc);
    edit(docs);
    write(proj('k8s/app.yaml'), docs.map((d) => stringify(d)).join('---\n'));
    return 'k8s/app.yaml';
  }
  const deploymentOf = (docs: any[]) =>
    docs.find((d) => d.kind === 'Deployment');
  const container = (docs: any[]) =>
    deploymentOf(docs).spec.template.spec.containers[0];

  it.each([
    [
      'a UID typed by hand',
      (d: any[]) => (container(d).securityContext.runAsUser = 1000),
      /container inference: runAsUser 1000, but the image's user is 10001:10001 \(USER\), which owns the folders it writes\. Set runAsUser: 10001\./,
    ],
    [
      'a GID typed by hand',
      (d: any[]) => {
        deploymentOf(d).spec.template.spec.securityContext.runAsGroup = 0;
        delete container(d).securityContext.runAsGroup;
      },
      /runAsGroup 0, but the image's user is 10001:10001/,
    ],
    [
      'a probe on a path the image does not serve',
      (d: any[]) => (container(d).livenessProbe.httpGet.path = '/healthz'),
      /livenessProbe path \/healthz is not served by the image \(liveness \/health, readiness \/ready, from its labels\)\. Probe \/health\./,
    ],
    [
      'no readiness probe',
      (d: any[]) => delete container(d).readinessProbe,
      /no readinessProbe, so the Service sends requests before the model is loaded\. Add readinessProbe: httpGet \/ready on port 8000\./,
    ],
    [
      'another container port',
      (d: any[]) => (container(d).ports[0].containerPort = 8080),
      /containerPort 8080, but the image listens on 8000 \(EXPOSE\)\. Set containerPort: 8000\./,
    ],
    [
      'a probe on another port',
      (d: any[]) => (container(d).startupProbe.httpGet.port = 8080),
      /startupProbe port 8080, but the image listens on 8000\. Set port: 8000\./,
    ],
    [
      'the image by tag',
      (d: any[]) => (container(d).image = `${NAME}:latest`),
      /image 127\.0\.0\.1:5000\/ml-images\/synth-inference:latest is not pinned by digest/,
    ],
    [
      'another digest',
      (d: any[]) => (container(d).image = `${NAME}@sha256:${'e'.repeat(64)}`),
      /image is pinned to sha256:eeeeeeeeeeee…, but the image docker-test passed and docker-push pushed is sha256:dddddddddddd…/,
    ],
    [
      'a Service to another port',
      (d: any[]) =>
        (d.find((x) => x.kind === 'Service').spec.ports[0].targetPort = 8080),
      /Service\/synth-inference port 80: targetPort 8080 is 8080, but the image listens on 8000\. Set targetPort: 8000\./,
    ],
    [
      'a read-only root with no /tmp',
      (d: any[]) => (container(d).volumeMounts = []),
      /readOnlyRootFilesystem, but nothing is mounted on \/tmp/,
    ],
  ])('catches %s, in one line', (_, edit, line) => {
    const file = handWritten(edit);
    const message = failure(() => checkManifests(o, [file]));
    expect(message).toMatch(/^1 mismatch between/);
    expect(message).toMatch(line);
    expect(message).toMatch(
      /\n {2}- apps\/synth\/k8s\/app\.yaml: (Deployment|Service)\/synth-inference /,
    );
  });

  it('passes the same hand-written file untouched', () => {
    const file = handWritten(() => undefined);
    expect(() => checkManifests(o, [file])).not.toThrow();
  });

  it.each([
    [
      'a missing file',
      ['nope.yaml'],
      /apps\/synth\/nope\.yaml does not exist\. Fix the manifests option/,
    ],
    [
      'YAML that does not parse',
      ['bad.yaml'],
      /apps\/synth\/bad\.yaml is not valid YAML: .*\. Fix it, then rerun\./,
    ],
    [
      'no workload running the image',
      ['other.yaml'],
      /No Deployment, Pod or Cloud Run service in the manifests runs the image \(synth-inference or 127\.0\.0\.1:5000\/ml-images\/synth-inference\)/,
    ],
    [
      'a kustomization using fields not rendered',
      ['patched'],
      /patched\/kustomization\.yaml uses patches, which the manifest check does not render .* Render it yourself \(kubectl kustomize apps\/synth\/patched > rendered\.yaml\)/,
    ],
  ])('refuses %s', (_, manifests, message) => {
    writeRecords();
    write(proj('bad.yaml'), 'a: [1\n');
    write(
      proj('other.yaml'),
      stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'x' },
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'a', image: 'nginx' },
                { name: 'b', image: 'redis' },
              ],
            },
          },
        },
      }),
    );
    write(
      proj('patched/kustomization.yaml'),
      stringify({ resources: [], patches: [] }),
    );
    expect(failure(() => checkManifests(o, manifests))).toMatch(message);
  });

  it('refuses when there is nothing to check', () => {
    rmSync(proj('deploy'), { recursive: true });
    expect(failure(() => checkManifests(o))).toMatch(
      /No manifests to check: apps\/synth\/deploy has no kustomize overlays or cloud-run\/service\.yaml\. Name your own with --manifests=<file or kustomization folder>, or generate them: nx g @ml\/docker:deploy --project=synth/,
    );
  });

  it('without a push record, still requires a digest but compares none', () => {
    writeRecords({ push: false });
    const file = handWritten(() => undefined);
    unlinkSync(records('push-record.json'));
    expect(() => checkManifests(o, [file])).not.toThrow();
  });
});
