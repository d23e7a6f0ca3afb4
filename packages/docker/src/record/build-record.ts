/**
 * The build record: what `docker-build` produced, written to the target's
 * declared output so Nx caches it and `docker-test`/`docker-push` (on this
 * machine or another) know which image and tags to use. Where it lives is
 * decided here and only here.
 */
import { ExecutorContext, readTargetOptions } from '@nx/devkit';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fail } from '../errors/errors';
import {
  BUILD_RECORD_FILE,
  defaultOutputPath,
  PUSH_RECORD_FILE,
} from '../names/names';

export interface ImageRecord {
  /** Image key inside the project: the folder name under docker/ (training, inference). */
  image: string;
  dockerfile: string;
  /** Full image name without a tag: `<registry>/<repository>/<image name>`. */
  name: string;
  registry: string;
  tags: string[];
  contentTag?: string;
  /** Local image ID, which is also the config digest a registry manifest points to. */
  imageId: string;
  sizeBytes: number;
  durationMs: number;
  /** The engine that holds the image: test and push use the same one. */
  engine?: 'docker' | 'podman';
  builtWith: string;
  /** How the build reused other machines' layers, and the cache images it made. */
  cache?: {
    mode: string;
    refs: string[];
    /** Per-stage inline cache images; docker-push pushes them with the image. */
    stages?: Array<{ stage: string; ref: string; imageId: string }>;
  };
  createdAt: string;
}

export interface BuildRecord {
  version: 2;
  project: string;
  images: ImageRecord[];
}

/** The build record of a target whose outputPath option is `outputPath` (default: dist/docker/<projectRoot>). */
export function recordPath(
  workspaceRoot: string,
  projectRoot: string,
  outputPath?: string,
): string {
  return join(
    workspaceRoot,
    outputPath ?? defaultOutputPath(projectRoot),
    BUILD_RECORD_FILE,
  );
}

/** The push record sits beside the build record it pushed. */
export function pushRecordPath(buildRecordPath: string): string {
  return join(dirname(buildRecordPath), PUSH_RECORD_FILE);
}

/** Where a project's build target (inferred or in project.json) writes its record. */
export function recordPathOfTarget(
  context: Pick<ExecutorContext, 'root' | 'projectsConfigurations'> &
    Partial<ExecutorContext>,
  project: { name: string; root: string },
  buildTarget: string,
): string {
  let outputPath: string | undefined;
  try {
    outputPath = (
      readTargetOptions(
        { project: project.name, target: buildTarget },
        context as ExecutorContext,
      ) as { outputPath?: string }
    ).outputPath;
  } catch {
    // no such target: the default location applies
  }
  return recordPath(context.root, project.root, outputPath);
}

/** Written to a temporary file then renamed: a crash never leaves half a record. */
export function writeJsonAtomic(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n');
  renameSync(tmp, path);
}

export function readBuildRecord(
  path: string,
  project: string,
  buildTarget: string,
): BuildRecord | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: {
    version?: number;
    project?: string;
    images?: Array<ImageRecord & { repository?: string }>;
  };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    fail(
      `The build record ${path} is not valid JSON (${(e as Error).message}). Delete it and run nx run ${project}:${buildTarget}.`,
    );
  }
  if (
    (parsed?.version !== 1 && parsed?.version !== 2) ||
    !Array.isArray(parsed.images)
  ) {
    fail(
      `The build record ${path} has an unknown format. Delete it and run nx run ${project}:${buildTarget}.`,
    );
  }
  // Version 1 called the image name "repository"; a cache hit may restore one.
  const images = parsed.images.map(({ repository, ...rest }) => ({
    ...rest,
    name: rest.name ?? repository!,
  }));
  return { version: 2, project: parsed.project ?? project, images };
}
