/**
 * The drift check: a team's own manifests against the image they deploy.
 * One line per mismatch, each naming the file, the object and the fix: a
 * probe on a path the image does not serve, another port, another UID, an
 * image not pinned by digest, no readiness probe.
 */
import type { ServingFacts } from './image-facts';
import { imageNameOf, ManifestDoc } from './kustomize';

export interface DriftExpectations {
  facts: ServingFacts;
  /** Names the image may go by in a manifest (base placeholder, registry name). */
  imageNames: string[];
  /** The digest docker-push recorded for the tested image, when there is one. */
  digest?: string;
  /** The command that pins the tested digest, for the message. */
  pinCommand: string;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = Record<string, any>;

const WORKLOADS = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'Pod',
]);
const PROBES = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;

function podSpecOf(doc: Obj): Obj | undefined {
  if (doc.kind === 'Pod') return doc.spec;
  if (WORKLOADS.has(doc.kind) || isKnative(doc))
    return doc.spec?.template?.spec;
  return undefined;
}

function isKnative(doc: Obj): boolean {
  return (
    doc.kind === 'Service' &&
    String(doc.apiVersion ?? '').startsWith('serving.knative.dev/')
  );
}

function runsImage(container: Obj, names: string[]): boolean {
  const name = imageNameOf(String(container.image ?? ''));
  return names.some((n) => name === n || name.endsWith(`/${n}`));
}

function portNumber(port: unknown, container: Obj): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  return (container.ports ?? []).find((p: Obj) => p.name === port)
    ?.containerPort;
}

function checkContainer(
  where: string,
  pod: Obj,
  c: Obj,
  knative: boolean,
  e: DriftExpectations,
): string[] {
  const f = e.facts;
  const lines: string[] = [];
  const at = `${where} container ${c.name ?? '(unnamed)'}`;
  const image = String(c.image ?? '');
  const pinned = /@sha256:([0-9a-f]{64})$/.exec(image);
  if (!pinned)
    lines.push(
      `${at}: image ${image || '(none)'} is not pinned by digest, so it runs whatever the tag points to when the pod starts. Pin the tested digest: ${e.pinCommand}`,
    );
  else if (e.digest && `sha256:${pinned[1]}` !== e.digest)
    lines.push(
      `${at}: image is pinned to sha256:${pinned[1].slice(0, 12)}…, but the image docker-test passed and docker-push pushed is ${e.digest.slice(0, 19)}…. Pin it: ${e.pinCommand}`,
    );
  const ports: number[] = (c.ports ?? []).map((p: Obj) => p.containerPort);
  if (ports.length && !ports.includes(f.port))
    lines.push(
      `${at}: containerPort ${ports.join(', ')}, but the image listens on ${f.port} (EXPOSE${knative ? '; Cloud Run passes it as $PORT' : ''}). Set containerPort: ${f.port}.`,
    );
  const served = [...new Set([f.livenessPath, f.readinessPath])];
  for (const kind of PROBES) {
    const probe = c[kind];
    if (!probe?.httpGet) continue;
    const path = String(probe.httpGet.path ?? '/');
    if (!served.includes(path.split('?')[0]))
      lines.push(
        `${at}: ${kind} path ${path} is not served by the image (liveness ${f.livenessPath}, readiness ${f.readinessPath}, from its labels). Probe ${kind === 'livenessProbe' ? f.livenessPath : f.readinessPath}.`,
      );
    const port = portNumber(probe.httpGet.port, c);
    if (port !== f.port)
      lines.push(
        `${at}: ${kind} port ${probe.httpGet.port ?? '(none)'}${port !== undefined && String(port) !== String(probe.httpGet.port) ? ` (${port})` : ''}, but the image listens on ${f.port}. Set port: ${f.port}.`,
      );
  }
  if (!knative && !c.readinessProbe)
    lines.push(
      `${at}: no readinessProbe, so the Service sends requests before the model is loaded. Add readinessProbe: httpGet ${f.readinessPath} on port ${f.port}.`,
    );
  if (!knative) {
    const sc = { ...(pod.securityContext ?? {}), ...(c.securityContext ?? {}) };
    for (const [field, want] of [
      ['runAsUser', f.uid],
      ['runAsGroup', f.gid],
    ] as const)
      if (sc[field] !== undefined && sc[field] !== want)
        lines.push(
          `${at}: ${field} ${sc[field]}, but the image's user is ${f.uid}:${f.gid} (USER), which owns the folders it writes. Set ${field}: ${want}.`,
        );
    if (sc.readOnlyRootFilesystem === true) {
      const mounted = (c.volumeMounts ?? []).map((m: Obj) => m.mountPath);
      for (const folder of ['/tmp', ...f.writable].filter(
        (w, i, all) => all.indexOf(w) === i,
      ))
        if (!mounted.includes(folder))
          lines.push(
            `${at}: readOnlyRootFilesystem, but nothing is mounted on ${folder}, which the app writes (ml-docker.writable, or Python's temp files). Mount an emptyDir there.`,
          );
    }
  }
  return lines;
}

function matches(selector: Obj | undefined, labels: Obj | undefined): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

/** Every mismatch between the manifests and the image, one line each; empty when they agree. */
export function driftOf(docs: ManifestDoc[], e: DriftExpectations): string[] {
  const lines: string[] = [];
  const workloads: Array<{ file: string; doc: Obj; pod: Obj; c: Obj }> = [];
  for (const { file, doc } of docs) {
    const pod = podSpecOf(doc);
    if (!pod) continue;
    const containers: Obj[] = pod.containers ?? [];
    const mine = containers.filter((c) => runsImage(c, e.imageNames));
    for (const c of mine.length || containers.length !== 1 ? mine : containers)
      workloads.push({ file, doc, pod, c });
  }
  if (workloads.length === 0)
    return [
      `No Deployment, Pod or Cloud Run service in the manifests runs the image (${e.imageNames.join(' or ')}). Point the manifests option at the files that deploy it.`,
    ];
  for (const w of workloads)
    lines.push(
      ...checkContainer(
        `${w.file}: ${w.doc.kind}/${w.doc.metadata?.name ?? '(unnamed)'}`,
        w.pod,
        w.c,
        isKnative(w.doc),
        e,
      ),
    );
  for (const { file, doc: raw } of docs) {
    const doc = raw as Obj;
    if (doc.kind !== 'Service' || isKnative(doc)) continue;
    const target = workloads.find((w) =>
      matches(
        doc.spec?.selector,
        w.doc.kind === 'Pod'
          ? w.doc.metadata?.labels
          : w.doc.spec?.template?.metadata?.labels,
      ),
    );
    if (!target) continue;
    for (const p of doc.spec?.ports ?? []) {
      const port = portNumber(p.targetPort ?? p.port, target.c);
      if (port !== e.facts.port)
        lines.push(
          `${file}: Service/${doc.metadata?.name ?? '(unnamed)'} port ${p.port}: targetPort ${p.targetPort ?? p.port} ${port === undefined ? 'names no port of the container' : `is ${port}`}, but the image listens on ${e.facts.port}. Set targetPort: ${e.facts.port}.`,
        );
    }
  }
  return lines;
}
