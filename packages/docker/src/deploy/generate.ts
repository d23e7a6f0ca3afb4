/**
 * What `nx g @ml/docker:deploy` writes, computed from the workspace without
 * writing anything: the image's facts from its Dockerfile, the timings from
 * the test record when docker-test left one, the ConfigMap from docker-test's
 * service env, the image's registry name as docker-build would give it.
 */
import {
  joinPathFragments,
  readNxJson,
  readProjectConfiguration,
  TargetConfiguration,
  Tree,
} from '@nx/devkit';
import { posix } from 'node:path';
import { fail } from '../errors/errors';
import { fullName } from '../registry/image-ref';
import {
  configuredTargetNames,
  defaultOutputPath,
  DEPLOY_DIR,
  dockerfileOf,
  EXECUTORS,
  PLUGIN_NAME,
  TEST_RECORD_FILE,
} from '../names/names';
import { imageRepository, NamingOptions } from '../record/project-images';
import { markGenerated } from '../generated-files/generated-marker';
import type { TestRecord } from '../record/test-record';
import { servingFacts, ServingFacts } from './image-facts';
import {
  cloudRunService,
  dnsLabel,
  kubernetesManifests,
  ManifestNames,
  manifestText,
  Platform,
} from './manifests';

/** Names that say a value is secret: never written into a ConfigMap or a service YAML. */
const SECRET_NAME =
  /(SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|PRIVATE)/i;

export interface DeployGenerateOptions {
  project: string;
  platform: Platform;
  image: string;
  hpa: boolean;
}

export interface GeneratedFile {
  path: string;
  content: string;
}

export interface DeployPlan {
  files: GeneratedFile[];
  facts: ServingFacts;
  names: ManifestNames;
  /** Lines for the user: where each fact came from. */
  notes: string[];
}

function projectRoot(tree: Tree, project: string): string {
  try {
    return readProjectConfiguration(tree, project).root;
  } catch {
    fail(
      `Project "${project}" does not exist in this workspace. Check the name with: nx show projects`,
    );
  }
}

/** A target's options as nx would merge them: targetDefaults (by name, then executor), then project.json. */
function targetOptions(
  tree: Tree,
  project: string,
  target: string,
  executor: string,
): Record<string, unknown> {
  const defaults = readNxJson(tree)?.targetDefaults ?? {};
  const own = readProjectConfiguration(tree, project).targets?.[target] as
    TargetConfiguration | undefined;
  // Filtered (array) targetDefaults apply by condition: left to the user.
  const of = (v: (typeof defaults)[string] | undefined) =>
    v && !Array.isArray(v) ? (v.options ?? {}) : {};
  return {
    ...of(defaults[executor]),
    ...of(defaults[target]),
    ...(own?.options ?? {}),
  };
}

function readTestRecordFrom(tree: Tree, path: string): TestRecord | undefined {
  const text = tree.read(path, 'utf-8');
  if (text === null) return undefined;
  try {
    const parsed = JSON.parse(text) as TestRecord;
    return parsed.version === 1 && Array.isArray(parsed.images)
      ? parsed
      : undefined;
  } catch {
    return undefined;
  }
}

export function planDeploy(
  tree: Tree,
  options: DeployGenerateOptions,
): DeployPlan {
  const root = projectRoot(tree, options.project);
  const dockerfilePath = joinPathFragments(root, dockerfileOf(options.image));
  const dockerfile = tree.read(dockerfilePath, 'utf-8');
  if (dockerfile === null)
    fail(
      `${dockerfilePath} does not exist, so there is no image to deploy. Generate it first (nx g ${PLUGIN_NAME}:images --project=${options.project}), or name the serving image with --image.`,
    );
  const targets = configuredTargetNames(readNxJson(tree));
  const build = targetOptions(
    tree,
    options.project,
    targets.build,
    EXECUTORS.build,
  ) as NamingOptions;
  const recordDir = build.outputPath ?? defaultOutputPath(root);
  const testRecordPath = posix.join(recordDir, TEST_RECORD_FILE);
  const record = readTestRecordFrom(tree, testRecordPath);
  const facts = servingFacts(options.image, dockerfile, dockerfilePath, record);
  const test = targetOptions(
    tree,
    options.project,
    targets.test,
    EXECUTORS.test,
  ) as { service?: { env?: Record<string, string> } };
  const env: Record<string, string> = {};
  const notes: string[] = [];
  for (const [name, value] of Object.entries(test.service?.env ?? {})) {
    if (SECRET_NAME.test(name)) {
      notes.push(
        `${name} (docker-test service.env) looks secret: left out of the manifests. Give it to the pod from a Secret.`,
      );
      continue;
    }
    env[name] = String(value);
  }
  const app = dnsLabel(`${options.project}-${options.image}`);
  const names: ManifestNames = {
    project: options.project,
    app,
    imageName: app,
    fullImageName: fullName(
      imageRepository(options.project, options.image, build),
    ),
  };
  notes.unshift(
    `Image ${names.fullImageName}: port ${facts.port}, user ${facts.uid}:${facts.gid}, liveness ${facts.livenessPath}, readiness ${facts.readinessPath}${facts.writable.length ? `, writes ${facts.writable.join(' ')}` : ''} (from ${dockerfilePath})`,
    facts.timingsFrom === 'test record'
      ? `Probe timings from the test record (${testRecordPath}): ready in ${(facts.timeToReadyMs! / 1000).toFixed(1)} s`
      : `No test record at ${testRecordPath}: probe timings use the defaults. Run nx run ${options.project}:${targets.test}, then regenerate to derive them from the measured time to ready.`,
  );
  const manifestOptions = { env, hpa: options.hpa };
  const manifests =
    options.platform === 'cloud-run'
      ? [cloudRunService(facts, names, manifestOptions)]
      : kubernetesManifests(facts, names, manifestOptions);
  const files = manifests.map((m) => {
    const path = joinPathFragments(root, DEPLOY_DIR, m.path);
    return { path, content: markGenerated(path, manifestText(m), 'deploy') };
  });
  return { files, facts, names, notes };
}
