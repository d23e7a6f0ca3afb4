/**
 * The build record: what `docker-build` produced, written to the target's
 * declared output so Nx caches it and `docker-test`/`docker-push` (on this
 * machine or another) know which image and tags to use.
 */
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fail } from './errors';

export interface ImageRecord {
  /** Image key inside the project: the folder name under docker/ (training, inference). */
  image: string;
  dockerfile: string;
  /** `<registry>/<repository>/<name>` without a tag. */
  repository: string;
  registry: string;
  tags: string[];
  contentTag?: string;
  /** Local image ID, which is also the config digest a registry manifest points to. */
  imageId: string;
  sizeBytes: number;
  durationMs: number;
  builtWith: string;
  createdAt: string;
}

export interface BuildRecord {
  version: 1;
  project: string;
  images: ImageRecord[];
}

export function defaultRecordPath(
  workspaceRoot: string,
  projectRoot: string,
): string {
  return join(
    workspaceRoot,
    'dist',
    'docker',
    projectRoot,
    'build-record.json',
  );
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
): BuildRecord | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: BuildRecord;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    fail(
      `The build record ${path} is not valid JSON (${(e as Error).message}). Delete it and run nx run ${project}:docker-build.`,
    );
  }
  if (parsed?.version !== 1 || !Array.isArray(parsed.images)) {
    fail(
      `The build record ${path} has an unknown format. Delete it and run nx run ${project}:docker-build.`,
    );
  }
  return parsed;
}
