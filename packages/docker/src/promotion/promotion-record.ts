/**
 * The promotion record: every digest docker-promote moved, beside the build
 * record, newest last. It answers "what runs in prod, since when, tested
 * where" without asking a registry. It holds no credential.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeJsonAtomic } from '../record/build-record';
import { fail } from '../errors/errors';
import { PROMOTION_RECORD_FILE } from '../names/names';

export interface Promotion {
  image: string;
  /** The manifest digest: the same at both ends. */
  digest: string;
  from: { environment: string; repository: string };
  to: { environment: string; repository: string };
  tags: string[];
  promotedAt: string;
}

export interface PromotionRecord {
  version: 1;
  project: string;
  promotions: Promotion[];
}

export function promotionRecordPath(buildRecordPath: string): string {
  return join(dirname(buildRecordPath), PROMOTION_RECORD_FILE);
}

export function readPromotionRecord(path: string): PromotionRecord | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: Partial<PromotionRecord>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    fail(
      `The promotion record ${path} is not valid JSON (${(e as Error).message}). Move it aside and promote again.`,
    );
  }
  if (parsed?.version !== 1 || !Array.isArray(parsed.promotions))
    fail(
      `The promotion record ${path} has an unknown format. Move it aside and promote again.`,
    );
  return parsed as PromotionRecord;
}

/** Adds this run's promotions to the history. */
export function appendPromotions(
  path: string,
  project: string,
  promotions: Promotion[],
): void {
  const previous = readPromotionRecord(path);
  writeJsonAtomic(path, {
    version: 1,
    project,
    promotions: [...(previous?.promotions ?? []), ...promotions],
  } satisfies PromotionRecord);
}
