/**
 * The promote service: the build record's images, as pushed to one
 * environment's registry, copied by digest to another's, and only when the
 * digest is what docker-test passed. Everything is resolved and checked
 * before the first byte moves, so a refusal writes nothing; the engine is
 * never asked.
 */
import { ExecutorContext, logger } from '@nx/devkit';
import { existsSync, readFileSync } from 'node:fs';
import { pushRecordPath } from '../record/build-record';
import { fail } from '../errors/errors';
import { RecordedRun } from '../record/recorded-images';
import { RegistryClient } from '../registry/registry-client';
import {
  readTestRecord,
  testedImageWithId,
  testRecordPath,
} from '../record/test-record';
import {
  configuredEnvironments,
  Environment,
  EnvironmentConfig,
  pathIn,
  resolveEnvironment,
} from './environments';
import {
  appendPromotions,
  Promotion,
  promotionRecordPath,
} from './promotion-record';
import {
  copyImage,
  CopyStats,
  fetchManifest,
  imageManifests,
  Manifest,
  Repository,
} from './registry-copy';

export interface PromoteOptions {
  from?: string;
  to?: string;
  environments?: Record<string, EnvironmentConfig>;
  images?: string[];
  /** Tags at the destination; default: the tags the source holds for the digest. */
  tags?: string[];
  buildTarget?: string;
  retries?: number;
}

interface Plan {
  image: string;
  from: Repository;
  to: Repository;
  manifest: Manifest;
  tags: string[];
}

/** The tags docker-push recorded per image name, in the order it pushed them. */
function pushedTags(path: string): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  if (!existsSync(path)) return byName;
  let record: { tags?: Array<{ ref?: string }> };
  try {
    record = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    // An unreadable push record: the build record's tags are asked instead.
    return byName;
  }
  for (const { ref } of record.tags ?? []) {
    const at = ref?.lastIndexOf(':') ?? -1;
    if (!ref || at <= ref.lastIndexOf('/')) continue;
    const name = ref.slice(0, at);
    byName.set(name, [...(byName.get(name) ?? []), ref.slice(at + 1)]);
  }
  return byName;
}

function client(env: Environment, option: 'from' | 'to'): RegistryClient {
  const c = new RegistryClient(env.host);
  c.unreachableFix = `Start it, or fix the registry of environment "${env.name}" (--${option}) in nx.json's @ml/docker plugin options or the target's environments option.`;
  return c;
}

export function describeStats(s: CopyStats): string {
  const mb = (s.bytesCopied / 1024 / 1024).toFixed(1);
  return `blobs: ${s.blobsCopied} copied (${mb} MB), ${s.blobsMounted} mounted, ${s.blobsPresent} already there; manifests: ${s.manifestsPut} put, ${s.manifestsPresent} already there; tags: ${s.tagsPut} put, ${s.tagsPresent} already there`;
}

export async function promoteImages(
  run: RecordedRun,
  options: PromoteOptions,
  context: ExecutorContext,
): Promise<Promotion[]> {
  const { project, recordPath, images } = run;
  const environments = configuredEnvironments(
    context.nxJsonConfiguration,
    options.environments,
  );
  const from = resolveEnvironment(environments, options.from, 'from');
  const to = resolveEnvironment(environments, options.to, 'to');
  if (from.registry === to.registry)
    fail(
      `Environments "${from.name}" and "${to.name}" are the same registry (${from.registry}): nothing to promote. Give each environment its own registry or repository.`,
    );
  const testPath = testRecordPath(recordPath);
  const tested = readTestRecord(testPath);
  const pushed = pushedTags(pushRecordPath(recordPath));
  const source = client(from, 'from');
  const destination = client(to, 'to');

  const plans: Plan[] = [];
  for (const image of images) {
    const src: Repository = { client: source, path: pathIn(from, image.name) };
    const candidates = pushed.get(image.name) ?? image.tags;
    const found: Array<{ tag: string; manifest: Manifest }> = [];
    for (const tag of candidates) {
      const manifest = await fetchManifest(src, tag);
      if (manifest) found.push({ tag, manifest });
    }
    if (!found.length)
      fail(
        `${from.host}/${src.path} holds none of ${image.image}'s tags (${candidates.join(', ')}): push it to "${from.name}" first (nx run ${project.name}:docker-push), then promote.`,
      );
    // The first recorded tag (the content tag) names the build; a moved `latest` is not it.
    const manifest = found[0].manifest;
    const ref = `${from.host}/${src.path}@${manifest.digest}`;
    const configs = (await imageManifests(src, manifest)).map(
      (m) => m.config?.digest ?? '',
    );
    if (!configs.some((c) => testedImageWithId(tested, c)))
      fail(
        `${ref} is not tested: its image ${configs.join(', ')} is not in the test record ${testPath}. Run docker-test on it (nx run ${project.name}:docker-test), push, then promote.`,
      );
    plans.push({
      image: image.image,
      from: src,
      to: { client: destination, path: pathIn(to, image.name) },
      manifest,
      tags:
        options.tags ??
        found
          .filter((f) => f.manifest.digest === manifest.digest)
          .map((f) => f.tag),
    });
  }
  // A refused login or a registry that is down is said before anything is copied.
  await destination.ping();
  for (const plan of plans) await destination.tags(plan.to.path);

  const promotions: Promotion[] = [];
  for (const plan of plans) {
    const stats = await copyImage(
      plan.from,
      plan.to,
      plan.manifest,
      plan.tags,
      {
        retries: options.retries ?? 3,
      },
    );
    logger.info(
      `@ml/docker: promoted ${from.host}/${plan.from.path}@${plan.manifest.digest} to ${to.host}/${plan.to.path} as ${plan.tags.join(', ')} (${describeStats(stats)})`,
    );
    const promotion: Promotion = {
      image: plan.image,
      digest: plan.manifest.digest,
      from: {
        environment: from.name,
        repository: `${from.host}/${plan.from.path}`,
      },
      to: { environment: to.name, repository: `${to.host}/${plan.to.path}` },
      tags: plan.tags,
      promotedAt: new Date().toISOString(),
    };
    // Recorded as each lands: a later image's failure does not hide this one.
    appendPromotions(promotionRecordPath(recordPath), project.name, [
      promotion,
    ]);
    promotions.push(promotion);
  }
  return promotions;
}
