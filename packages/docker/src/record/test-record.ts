/**
 * The test record: what `docker-test` proved, image by image, written beside
 * the build record once every image passed. Promotion refuses an image ID it
 * does not list, and deploy manifests take their probe paths and timings from
 * it, so production runs what was tested, probed the way it was tested.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeJsonAtomic } from './build-record';
import { fail } from '../errors/errors';
import { TEST_RECORD_FILE } from '../names/names';

export interface TestedService {
  /** The container port the service listened on. */
  port: number;
  livenessPath: string;
  readinessPath?: string;
  /** Numeric user the image runs as (`10001:10001`), as the image declares it. */
  user: string;
  /** Folders the image may write with a read-only root filesystem (ml-docker.writable). */
  writable: string[];
  timeToHealthyMs: number;
  timeToReadyMs: number;
}

export interface TestedImage {
  /** Image key inside the project (training, inference). */
  image: string;
  /** Full image name without a tag. */
  name: string;
  /** The local image ID, which is the config digest a registry manifest points to. */
  imageId: string;
  passedAt: string;
  /** Present for services; jobs have none. */
  service?: TestedService;
}

export interface TestRecord {
  version: 1;
  project: string;
  images: TestedImage[];
}

/** The test record sits beside the build record whose images it tested. */
export function testRecordPath(buildRecordPath: string): string {
  return join(dirname(buildRecordPath), TEST_RECORD_FILE);
}

export function writeTestRecord(path: string, record: TestRecord): void {
  writeJsonAtomic(path, record);
}

export function readTestRecord(path: string): TestRecord | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: Partial<TestRecord>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    fail(
      `The test record ${path} is not valid JSON (${(e as Error).message}). Delete it and run docker-test again.`,
    );
  }
  if (parsed?.version !== 1 || !Array.isArray(parsed.images))
    fail(
      `The test record ${path} has an unknown format. Delete it and run docker-test again.`,
    );
  return parsed as TestRecord;
}

/** The tested image with this image ID (a manifest's config digest), if any. */
export function testedImageWithId(
  record: TestRecord | undefined,
  imageId: string,
): TestedImage | undefined {
  return record?.images.find((i) => i.imageId === imageId);
}
