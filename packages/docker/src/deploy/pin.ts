/**
 * Pins the manifests to the digest docker-push recorded for the image
 * docker-test passed: the kustomize overlays' `images:` get `digest:`, the
 * Cloud Run service its `image@digest`. A tag can move; a digest cannot.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isMap, isSeq, parseDocument, YAMLMap } from 'yaml';
import { readBuildRecord } from '../record/build-record';
import { fail } from '../errors/errors';
import { PUSH_RECORD_FILE } from '../names/names';
import {
  markGenerated,
  wasEditedByHand,
} from '../generated-files/generated-marker';
import { readTestRecord, testRecordPath } from '../record/test-record';
import { imageNameOf, kustomizationFile } from './kustomize';

export interface TestedDigest {
  /** `<registry>/<repository>/<name>`. */
  fullName: string;
  digest: string;
  /** False when there is no test record to confirm the pushed image passed docker-test. */
  testedConfirmed: boolean;
}

interface PushRecord {
  tags?: Array<{ ref: string; digest: string }>;
}

export interface RecordLocation {
  buildRecordPath: string;
  project: string;
  buildTarget: string;
  pushTarget: string;
}

/** The digest docker-push recorded for one image of the build record. */
export function testedDigest(at: RecordLocation, image: string): TestedDigest {
  const push = `nx run ${at.project}:${at.pushTarget}`;
  const pushPath = join(at.buildRecordPath, '..', PUSH_RECORD_FILE);
  if (!existsSync(pushPath))
    fail(
      `No push record at ${pushPath}: the image was never pushed, so there is no tested digest to pin. Run ${push}, then rerun.`,
    );
  const build = readBuildRecord(at.buildRecordPath, at.project, at.buildTarget);
  const recorded = build?.images.find((i) => i.image === image);
  if (!recorded)
    fail(
      `No image "${image}" in the build record ${at.buildRecordPath}, so nothing was pushed to pin. Run ${push} (it builds and tests first), then rerun.`,
    );
  let pushed: PushRecord;
  try {
    pushed = JSON.parse(readFileSync(pushPath, 'utf8'));
  } catch (e) {
    fail(
      `The push record ${pushPath} is not valid JSON (${(e as Error).message}). Run ${push} again.`,
    );
  }
  const refs = new Set(recorded.tags.map((t) => `${recorded.name}:${t}`));
  const digests = new Set(
    (pushed.tags ?? [])
      .filter((t) => refs.has(t.ref) && /^sha256:[0-9a-f]{64}$/.test(t.digest))
      .map((t) => t.digest),
  );
  if (digests.size !== 1)
    fail(
      digests.size === 0
        ? `The push record ${pushPath} holds no digest for ${recorded.name} as last built (the image was rebuilt since it was pushed, or the registry did not answer with a digest). Run ${push}, then rerun.`
        : `The push record ${pushPath} holds ${digests.size} digests for the tags of ${recorded.name}. Run ${push} again so they agree.`,
    );
  const tests = readTestRecord(testRecordPath(at.buildRecordPath));
  if (tests && !tests.images.some((t) => t.imageId === recorded.imageId))
    fail(
      `${recorded.name} (image ${recorded.imageId.slice(0, 19)}) was pushed but never passed docker-test. Run ${push} (it tests first), then rerun.`,
    );
  return {
    fullName: recorded.name,
    digest: [...digests][0],
    testedConfirmed: tests !== undefined,
  };
}

/**
 * Sets `digest:` on the overlay's entry for imageName (comments and layout
 * kept). A file generated and not edited since stays a generated file.
 */
function rewrite(
  file: string,
  edit: (doc: ReturnType<typeof parseDocument>) => boolean,
): boolean {
  const before = readFileSync(file, 'utf8');
  const doc = parseDocument(before);
  if (!edit(doc)) return false;
  const text = doc.toString();
  const after = wasEditedByHand(before)
    ? text
    : markGenerated(file, text, 'deploy');
  if (after === before) return false;
  writeFileSync(file, after);
  return true;
}

export function pinOverlay(
  file: string,
  imageName: string,
  pin: TestedDigest,
): boolean {
  return rewrite(file, (doc) => {
    let images = doc.get('images');
    if (!isSeq(images)) {
      doc.set('images', doc.createNode([]));
      images = doc.get('images');
    }
    const seq = images as { items: unknown[] };
    let entry = seq.items.find(
      (i): i is YAMLMap =>
        isMap(i) && [imageName, pin.fullName].includes(String(i.get('name'))),
    );
    if (!entry) {
      entry = doc.createNode({ name: imageName }) as YAMLMap;
      seq.items.push(entry);
    }
    entry.set('newName', pin.fullName);
    entry.delete('newTag');
    entry.set('digest', pin.digest);
    return true;
  });
}

/** The Cloud Run service's container for the image gets image@digest. */
export function pinCloudRun(file: string, pin: TestedDigest): boolean {
  return rewrite(file, (doc) => {
    const containers = doc.getIn(['spec', 'template', 'spec', 'containers']);
    if (!isSeq(containers)) return false;
    let changed = false;
    for (const c of containers.items) {
      if (!isMap(c)) continue;
      const image = String(c.get('image') ?? '');
      if (imageNameOf(image) !== pin.fullName) continue;
      c.set('image', `${pin.fullName}@${pin.digest}`);
      changed = true;
    }
    return changed;
  });
}

/** Every manifest under deployDir pinned; the files changed, relative to root. */
export function pinDeployFolder(
  deployDir: string,
  root: string,
  imageName: string,
  pin: TestedDigest,
): string[] {
  const changed: string[] = [];
  const overlays = join(deployDir, 'kubernetes', 'overlays');
  if (existsSync(overlays))
    for (const e of readdirSync(overlays, { withFileTypes: true })) {
      const file = e.isDirectory()
        ? kustomizationFile(join(overlays, e.name))
        : undefined;
      if (file && pinOverlay(file, imageName, pin))
        changed.push(relative(root, file));
    }
  const cloudRun = join(deployDir, 'cloud-run', 'service.yaml');
  if (existsSync(cloudRun) && pinCloudRun(cloudRun, pin))
    changed.push(relative(root, cloudRun));
  return changed;
}
