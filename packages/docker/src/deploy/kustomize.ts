/**
 * Renders a kustomization the way `kubectl kustomize` does, for the fields
 * the generated overlays use (resources, replicas, images, namespace): the
 * drift check reads what would be applied, not the base's placeholder image,
 * and needs no kubectl. Anything else is refused, never ignored.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { fail } from '../errors/errors';

const KUSTOMIZATION_FILES = [
  'kustomization.yaml',
  'kustomization.yml',
  'Kustomization',
];
const SUPPORTED = new Set([
  'apiVersion',
  'kind',
  'resources',
  'replicas',
  'images',
  'namespace',
]);

export interface ManifestDoc {
  /** The file the document came from (for messages). */
  file: string;
  doc: Record<string, unknown>;
}

/** The kinds kustomize's replicas field scales (a Service of the same name is left alone). */
const SCALABLE = new Set([
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'ReplicationController',
]);

interface ImageOverride {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

/** Every YAML document of a file, as plain data; an unparsable file is refused with its line. */
export function readYamlDocs(file: string, where = file): ManifestDoc[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const out: ManifestDoc[] = [];
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    const [error] = d.errors;
    if (error)
      fail(
        `${where} is not valid YAML: ${error.message.split('\n')[0]}. Fix it, then rerun.`,
      );
    const value = d.toJS();
    if (value && typeof value === 'object')
      out.push({ file: where, doc: value as Record<string, unknown> });
  }
  return out;
}

export function kustomizationFile(dir: string): string | undefined {
  return KUSTOMIZATION_FILES.map((f) => join(dir, f)).find(existsSync);
}

/** The image name a kustomize images entry matches: the reference without tag or digest. */
export function imageNameOf(ref: string): string {
  const bare = ref.split('@')[0];
  const slash = bare.lastIndexOf('/');
  const colon = bare.lastIndexOf(':');
  return colon > slash ? bare.slice(0, colon) : bare;
}

function applyImage(ref: string, overrides: ImageOverride[]): string {
  const o = overrides.find((i) => i.name === imageNameOf(ref));
  if (!o) return ref;
  const name = o.newName ?? imageNameOf(ref);
  if (o.digest) return `${name}@${o.digest}`;
  if (o.newTag) return `${name}:${o.newTag}`;
  return name + ref.slice(imageNameOf(ref).length);
}

function podSpecOf(doc: Record<string, unknown>) {
  const spec = doc.spec as Record<string, any> | undefined;
  return doc.kind === 'Pod' ? spec : spec?.template?.spec;
}

/** Renders the kustomization in dir (absolute); root is only for the file names in messages. */
export function renderKustomization(dir: string, root: string): ManifestDoc[] {
  const file = kustomizationFile(dir);
  if (!file)
    fail(
      `${relative(root, dir) || '.'} has no kustomization.yaml. Point the manifests option at a kustomization folder or a YAML file.`,
    );
  const where = relative(root, file);
  const [k] = readYamlDocs(file, where);
  const kustomization = (k?.doc ?? {}) as Record<string, any>;
  const unsupported = Object.keys(kustomization).filter(
    (f) => !SUPPORTED.has(f),
  );
  if (unsupported.length)
    fail(
      `${where} uses ${unsupported.join(', ')}, which the manifest check does not render (it renders resources, replicas, images, namespace). Render it yourself (kubectl kustomize ${relative(root, dir)} > rendered.yaml) and check the rendered file.`,
    );
  const docs: ManifestDoc[] = [];
  for (const resource of (kustomization.resources ?? []) as string[]) {
    const path = join(dir, resource);
    if (!existsSync(path))
      fail(
        `${where} lists the resource ${resource}, which does not exist. Fix the resources list.`,
      );
    docs.push(
      ...(statSync(path).isDirectory()
        ? renderKustomization(path, root)
        : readYamlDocs(path, relative(root, path))),
    );
  }
  const images = (kustomization.images ?? []) as ImageOverride[];
  const replicas = (kustomization.replicas ?? []) as Array<{
    name: string;
    count: number;
  }>;
  for (const { doc } of docs) {
    const metadata = (doc.metadata ??= {}) as Record<string, unknown>;
    if (kustomization.namespace) metadata.namespace = kustomization.namespace;
    const count = replicas.find((r) => r.name === metadata.name)?.count;
    if (count !== undefined && SCALABLE.has(String(doc.kind)) && doc.spec)
      (doc.spec as Record<string, unknown>).replicas = count;
    const pod = podSpecOf(doc);
    for (const c of [
      ...(pod?.initContainers ?? []),
      ...(pod?.containers ?? []),
    ])
      if (typeof c.image === 'string') c.image = applyImage(c.image, images);
  }
  return docs;
}

/** A YAML file as it is, or a kustomization folder rendered. */
export function readManifests(path: string, root: string): ManifestDoc[] {
  if (!existsSync(path))
    fail(
      `${relative(root, path)} does not exist. Fix the manifests option (files or kustomization folders, relative to the project).`,
    );
  return statSync(path).isDirectory()
    ? renderKustomization(path, root)
    : readYamlDocs(path, relative(root, path));
}
