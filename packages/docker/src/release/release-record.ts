/**
 * The release record: the image version `nx release version` chose for a
 * project, so a separate `nx release publish` (another CI step, another
 * process) tags and pushes exactly that version. `nx release` run whole
 * hands the version to publish directly; the record is for the split flow.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../record/build-record';
import { fail } from '../errors/errors';
import { releaseRecordPath } from '../names/names';

export interface ReleaseRecord {
  version: 1;
  project: string;
  /** The tag every image of the project gets. */
  imageVersion: string;
  /** The version written to the project's manifest, when one was. */
  manifestVersion?: string;
  /** The version scheme that made imageVersion, when one did. */
  scheme?: string;
  versionedAt: string;
}

export function writeReleaseRecord(
  workspaceRoot: string,
  projectRoot: string,
  record: ReleaseRecord,
): void {
  writeJsonAtomic(join(workspaceRoot, releaseRecordPath(projectRoot)), record);
}

export function readReleaseRecord(
  workspaceRoot: string,
  projectRoot: string,
): ReleaseRecord | undefined {
  const path = join(workspaceRoot, releaseRecordPath(projectRoot));
  if (!existsSync(path)) return undefined;
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as ReleaseRecord;
    if (record?.version === 1 && typeof record.imageVersion === 'string')
      return record;
  } catch {
    // reported below, as a record of unknown format
  }
  fail(
    `The release record ${path} is not one this plugin wrote. Delete it and run nx release version again.`,
  );
}
