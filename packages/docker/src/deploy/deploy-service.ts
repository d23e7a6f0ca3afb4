/**
 * What the docker-deploy-manifests and docker-check-manifests targets do,
 * on the files in the workspace: pin the tested digest into the project's
 * deploy/ manifests, and check any manifests against the image.
 */
import { ExecutorContext, logger } from '@nx/devkit';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readBuildRecord, recordPathOfTarget } from '../record/build-record';
import { fail } from '../errors/errors';
import {
  DEFAULT_TARGET_NAMES,
  DEPLOY_DIR,
  DEPLOY_TARGET_NAMES,
  dockerfileOf,
  PUSH_RECORD_FILE,
} from '../names/names';
import { projectInfo } from '../record/project-images';
import { readTestRecord, testRecordPath } from '../record/test-record';
import { driftOf } from './drift';
import { servingFacts, ServingFacts } from './image-facts';
import { kustomizationFile, readManifests } from './kustomize';
import { dnsLabel } from './manifests';
import { pinDeployFolder, RecordLocation, testedDigest } from './pin';

export interface DeployTargetOptions {
  workspaceRoot: string;
  project: { name: string; root: string };
  /** The build record of the build target (test and push records sit beside it). */
  buildRecordPath: string;
  buildTarget: string;
  pushTarget: string;
  /** The serving image's key (inference). */
  image: string;
  /** Relative to the project root. */
  deployDir: string;
}

/** The target options an executor was given, resolved against its project. */
export function deployTargetOptions(
  context: ExecutorContext,
  options: {
    image?: string;
    buildTarget?: string;
    pushTarget?: string;
    deployDir?: string;
  },
): DeployTargetOptions {
  const project = projectInfo(context);
  const buildTarget = options.buildTarget ?? DEFAULT_TARGET_NAMES.build;
  return {
    workspaceRoot: context.root,
    project,
    buildRecordPath: recordPathOfTarget(context, project, buildTarget),
    buildTarget,
    pushTarget: options.pushTarget ?? DEFAULT_TARGET_NAMES.push,
    image: options.image ?? 'inference',
    deployDir: options.deployDir ?? DEPLOY_DIR,
  };
}

function absRoot(o: DeployTargetOptions): string {
  return join(o.workspaceRoot, o.project.root);
}

function location(o: DeployTargetOptions): RecordLocation {
  return {
    buildRecordPath: o.buildRecordPath,
    project: o.project.name,
    buildTarget: o.buildTarget,
    pushTarget: o.pushTarget,
  };
}

/** The base's name for the image: what the generator wrote and the overlays map. */
function baseImageName(o: DeployTargetOptions): string {
  return dnsLabel(`${o.project.name}-${o.image}`);
}

export function imageFacts(o: DeployTargetOptions): ServingFacts {
  const file = join(absRoot(o), dockerfileOf(o.image));
  const where = relative(o.workspaceRoot, file);
  if (!existsSync(file))
    fail(
      `${where} does not exist, so there is no image to check against. Set the image option to the serving image's folder under docker/.`,
    );
  return servingFacts(
    o.image,
    readFileSync(file, 'utf8'),
    where,
    readTestRecord(testRecordPath(o.buildRecordPath)),
  );
}

/** Pins every manifest under deployDir to the tested digest; returns the files changed. */
export function pinManifests(o: DeployTargetOptions): string[] {
  const dir = join(absRoot(o), o.deployDir);
  if (!existsSync(dir))
    fail(
      `${relative(o.workspaceRoot, dir)} does not exist. Generate the manifests first: nx g @ml/docker:deploy --project=${o.project.name}`,
    );
  const pin = testedDigest(location(o), o.image);
  if (!pin.testedConfirmed)
    logger.warn(
      `@ml/docker: no test record beside ${o.buildRecordPath}: pinning the pushed digest without confirming docker-test passed it (docker-push runs docker-test first when run through nx).`,
    );
  const changed = pinDeployFolder(dir, o.workspaceRoot, baseImageName(o), pin);
  logger.info(
    changed.length
      ? `@ml/docker: pinned ${pin.fullName}@${pin.digest} in ${changed.join(', ')}`
      : `@ml/docker: manifests already pinned to ${pin.fullName}@${pin.digest}`,
  );
  return changed;
}

/** The manifests to check when none are named: the generated overlays and Cloud Run service. */
function defaultManifests(o: DeployTargetOptions): string[] {
  const dir = join(absRoot(o), o.deployDir);
  const overlays = join(dir, 'kubernetes', 'overlays');
  const found = existsSync(overlays)
    ? readdirSync(overlays, { withFileTypes: true })
        .filter(
          (e) => e.isDirectory() && kustomizationFile(join(overlays, e.name)),
        )
        .map((e) => join(overlays, e.name))
    : [];
  const cloudRun = join(dir, 'cloud-run', 'service.yaml');
  if (existsSync(cloudRun)) found.push(cloudRun);
  if (!found.length)
    fail(
      `No manifests to check: ${relative(o.workspaceRoot, dir)} has no kustomize overlays or cloud-run/service.yaml. Name your own with --manifests=<file or kustomization folder>, or generate them: nx g @ml/docker:deploy --project=${o.project.name}`,
    );
  return found;
}

/** Fails with one line per mismatch between the manifests and the image. */
export function checkManifests(
  o: DeployTargetOptions,
  manifests: string[] = [],
): void {
  const facts = imageFacts(o);
  const build = readBuildRecord(
    o.buildRecordPath,
    o.project.name,
    o.buildTarget,
  );
  const recorded = build?.images.find((i) => i.image === o.image);
  const pushed = existsSync(join(o.buildRecordPath, '..', PUSH_RECORD_FILE));
  const digest =
    recorded && pushed ? testedDigest(location(o), o.image).digest : undefined;
  const paths = manifests.length
    ? manifests.map((m) => join(absRoot(o), m))
    : defaultManifests(o);
  const pinCommand = `nx run ${o.project.name}:${DEPLOY_TARGET_NAMES.pin}`;
  const lines: string[] = [];
  for (const path of paths)
    lines.push(
      ...driftOf(readManifests(path, o.workspaceRoot), {
        facts,
        imageNames: [baseImageName(o), ...(recorded ? [recorded.name] : [])],
        digest,
        pinCommand,
      }),
    );
  if (lines.length)
    fail(
      `${lines.length} mismatch${lines.length === 1 ? '' : 'es'} between the manifests and the image ${recorded?.name ?? o.image}:\n${lines.map((l) => `  - ${l}`).join('\n')}`,
    );
  logger.info(
    `@ml/docker: ${paths.map((p) => relative(o.workspaceRoot, p)).join(', ')} agree with the image (port ${facts.port}, user ${facts.uid}:${facts.gid}, probes ${facts.readinessPath} and ${facts.livenessPath}${digest ? `, digest ${digest.slice(0, 19)}…` : ''})`,
  );
}
