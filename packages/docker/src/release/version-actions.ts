/**
 * nx release version actions for projects with docker/<image>/Dockerfile
 * images. Name this file in nx.json:
 *
 *   "release": { "groups": { "ml-images": {
 *     "projects": [...],
 *     "version": { "versionActions": "@ml/docker/src/release/version-actions" } } } }
 *
 * The version comes from the project's own packaging (pyproject.toml,
 * setup.cfg, package.json) and is written back there, or from a version
 * scheme (versionActionsOptions.versionSchemes). Images are not touched
 * here: the version is kept in a release record and `nx release publish`
 * (the @ml/docker:release-publish executor) tags the built images and pushes them.
 */
import {
  type ProjectGraphDependency,
  type Tree,
  workspaceRoot,
} from '@nx/devkit';
import { join } from 'node:path';
import { AfterAllProjectsVersioned, VersionActions } from 'nx/release';
import { fail } from '../errors/errors';
import { assertTag } from '../registry/image-ref';
import { run } from '../process/process';
import {
  MANIFEST_FILES,
  ManifestFile,
  ManifestVersion,
  readManifestVersion,
  writeManifestVersion,
} from './manifest-version';
import { ReleaseRecord, writeReleaseRecord } from './release-record';
import {
  chooseScheme,
  interpolateScheme,
  MlVersionActionsOptions,
  schemeChoiceFromArgv,
  VERSION_ACTIONS_VERSION,
} from './version-scheme';

// Nx makes one instance per project, and in a fixed group computes the
// version on one of them only: what the others need is kept per run here.
const pendingRecords = new Map<string, ReleaseRecord>();
const manifestVersions = new Map<string, string>();

interface FoundManifest extends ManifestVersion {
  path: string;
}

export default class MlImageVersionActions extends VersionActions {
  validManifestFilenames: string[] = [...MANIFEST_FILES];
  // Written by editing the one value; Prettier would reformat the rest.
  override excludeManifestsFromFormatting = true;
  private manifest?: FoundManifest;
  private manifestProblem?: Error;

  override async init(tree: Tree): Promise<void> {
    // The base class would take the first file name whether or not it holds
    // a version; an ML project often has a pyproject.toml without one.
    try {
      this.manifest = findManifest(tree, this.projectGraphNode.data.root);
    } catch (e) {
      // Only a problem if the version is needed (a scheme may not need it).
      this.manifestProblem = e as Error;
    }
    this.manifestsToUpdate = this.manifest
      ? [
          {
            manifestPath: this.manifest.path,
            preserveLocalDependencyProtocols: false,
          },
        ]
      : [];
  }

  override async validate(): Promise<void> {
    // init looked at the files already; what is missing is reported when needed.
  }

  private get options(): MlVersionActionsOptions {
    return (this.finalConfigForProject.versionActionsOptions ??
      {}) as MlVersionActionsOptions;
  }

  private get scheme() {
    return chooseScheme(
      this.options.versionSchemes,
      schemeChoiceFromArgv(process.argv),
      this.releaseGroup.name,
    );
  }

  private get versionKey(): string {
    return this.releaseGroup.projectsRelationship === 'fixed'
      ? `group:${this.releaseGroup.name}`
      : `project:${this.projectGraphNode.name}`;
  }

  async readCurrentVersionFromSourceManifest(): Promise<{
    currentVersion: string;
    manifestPath: string;
  } | null> {
    if (this.manifest)
      return {
        currentVersion: this.manifest.version,
        manifestPath: this.manifest.path,
      };
    const scheme = this.scheme;
    if (scheme && !scheme.pattern.includes(VERSION_ACTIONS_VERSION))
      // The image version comes from the scheme alone: nothing to read.
      return {
        currentVersion: '0.0.0',
        manifestPath: `(none: version scheme "${scheme.name}" makes the image version)`,
      };
    if (this.manifestProblem) throw this.manifestProblem;
    fail(
      `Project ${this.projectGraphNode.name} declares no version in ${MANIFEST_FILES.map((f) => join(this.projectGraphNode.data.root, f)).join(', ')}. Add one (e.g. version = "0.1.0" under [project] in pyproject.toml), or give its release group a versionSchemes entry in versionActionsOptions.`,
    );
  }

  async readCurrentVersionFromRegistry(): Promise<null> {
    // Nx then explains that "registry" does not apply; image tags are not semver history.
    return null;
  }

  async readCurrentVersionOfDependency(): Promise<{
    currentVersion: string | null;
    dependencyCollection: string | null;
  }> {
    return { currentVersion: null, dependencyCollection: null };
  }

  override async readDependencies(): Promise<ProjectGraphDependency[]> {
    // An image built FROM another project's image names it by tag in its
    // Dockerfile; a new version of the base does not version the dependent.
    return [];
  }

  override async calculateNewVersion(
    currentVersion: string | null,
    newVersionInput: string,
    newVersionInputReason: string,
    newVersionInputReasonData: Record<string, unknown>,
    preid: string,
  ): Promise<{ newVersion: string; logText: string }> {
    const scheme = this.scheme;
    const semver = () =>
      super.calculateNewVersion(
        currentVersion,
        newVersionInput,
        newVersionInputReason,
        newVersionInputReasonData,
        preid,
      );
    if (!scheme) {
      const result = await semver();
      assertTag(
        result.newVersion,
        `the version nx release derived for ${this.projectGraphNode.name} (an image tag cannot hold "+": use a version scheme for build metadata)`,
      );
      manifestVersions.set(this.versionKey, result.newVersion);
      return result;
    }
    let manifestVersion: string | undefined;
    if (scheme.pattern.includes(VERSION_ACTIONS_VERSION)) {
      manifestVersion = (await semver()).newVersion;
      manifestVersions.set(this.versionKey, manifestVersion);
    }
    const where = `version scheme "${scheme.name}" (${scheme.pattern}) of release group "${this.releaseGroup.name}"`;
    if (
      scheme.pattern.includes('{projectName}') &&
      this.releaseGroup.projectsRelationship === 'fixed'
    )
      fail(
        `${where} uses {projectName}, but the group is fixed (one version for all its projects): set "projectsRelationship": "independent" on it, or drop {projectName}.`,
      );
    const newVersion = interpolateScheme(
      scheme.pattern,
      {
        projectName: this.projectGraphNode.name,
        currentDate: new Date(),
        commitSha: await headSha(),
        versionActionsVersion: manifestVersion,
        env: process.env,
      },
      where,
    );
    return {
      newVersion,
      logText: `🐳 Image version ${newVersion} from ${where}${manifestVersion ? `; manifest version ${manifestVersion}` : ''}`,
    };
  }

  async updateProjectVersion(
    tree: Tree,
    newVersion: string,
  ): Promise<string[]> {
    const logs: string[] = [];
    const manifestVersion = manifestVersions.get(this.versionKey);
    if (manifestVersion && this.manifest) {
      const text = tree.read(this.manifest.path, 'utf-8') ?? '';
      tree.write(
        this.manifest.path,
        writeManifestVersion(
          this.manifest.file,
          text,
          this.manifest.path,
          manifestVersion,
        ),
      );
      logs.push(
        `✍️  New version ${manifestVersion} written to ${this.manifest.path} (${this.manifest.key})`,
      );
    }
    const scheme = this.scheme;
    pendingRecords.set(this.projectGraphNode.data.root, {
      version: 1,
      project: this.projectGraphNode.name,
      imageVersion: newVersion,
      manifestVersion,
      scheme: scheme?.name,
      versionedAt: new Date().toISOString(),
    });
    logs.push(
      `🐳 Images will be tagged ${newVersion} and pushed by nx release publish (${this.projectGraphNode.name}:nx-release-publish)`,
    );
    return logs;
  }

  async updateProjectDependencies(): Promise<string[]> {
    // Dockerfiles name their base images themselves.
    return [];
  }
}

/**
 * Runs once after every project is versioned and the tree is written: the
 * release records are written now, and never on a dry run. They live under
 * dist/ (git-ignored), so there is nothing for nx release to commit.
 */
export const afterAllProjectsVersioned: AfterAllProjectsVersioned = async (
  cwd,
  { dryRun },
) => {
  if (!dryRun)
    for (const [root, record] of pendingRecords)
      writeReleaseRecord(cwd, root, record);
  pendingRecords.clear();
  manifestVersions.clear();
  return { changedFiles: [], deletedFiles: [] };
};

/**
 * The first file that declares a literal version. A dynamic version in one
 * (pyproject.toml's dynamic = ["version"]) is an error only when no later
 * file supplies it: setuptools reads it from setup.cfg then.
 */
function findManifest(tree: Tree, root: string): FoundManifest | undefined {
  let problem: unknown;
  for (const file of MANIFEST_FILES) {
    const path = join(root, file);
    if (!tree.exists(path)) continue;
    try {
      const found = readManifestVersion(
        file as ManifestFile,
        tree.read(path, 'utf-8') ?? '',
        path,
      );
      if (found) return { ...found, path };
    } catch (e) {
      problem ??= e;
    }
  }
  if (problem) throw problem;
  return undefined;
}

async function headSha(): Promise<string> {
  const r = await run('git', ['rev-parse', 'HEAD'], {
    cwd: workspaceRoot,
    timeoutMs: 10_000,
  });
  return r.exitCode === 0 ? r.stdout.trim() : '';
}
