/**
 * Runs after every other suite (e2e/test-sequencer.cjs sorts it last, and with
 * several workers it waits for the suites still running): whatever the suites
 * did, with the plugin's containers and their own, none may outlive them.
 */
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import {
  CONTAINERS_BEFORE_ENV,
  docker,
  RUNNING_SUITES_ENV,
  suiteContainers,
  until,
} from './support/run';

/** The longest suite runs about 9 minutes on 2 cores; a stuck one is reported, not waited for forever. */
const OTHER_SUITES_MS = 30 * 60_000;

function otherSuitesRunning(): string[] {
  const dir = process.env[RUNNING_SUITES_ENV];
  if (!dir) return [];
  const self = basename(__filename);
  return readdirSync(dir).filter((marker) => !marker.startsWith(`${self}.`));
}

/**
 * Other checkouts may be running the plugin on the same engine: a container
 * of theirs that is still running now is gone once their test ends, while a
 * leaked one stays. So the ones found now are given this long to go.
 */
const GRACE_MS = 120_000;

describe('after all the suites', () => {
  jest.setTimeout(OTHER_SUITES_MS + 10 * 60_000);
  it('no container they or the plugin created still exists', async () => {
    await until(() => otherSuitesRunning().length === 0, OTHER_SUITES_MS);
    expect(otherSuitesRunning()).toEqual([]);
    const before = process.env[CONTAINERS_BEFORE_ENV];
    expect(before).toBeDefined();
    const existing = new Set(before!.split(',').filter(Boolean));
    const found = suiteContainers().filter((id) => !existing.has(id));
    const stillThere = () => {
      const now = new Set(suiteContainers());
      return found.filter((id) => now.has(id));
    };
    if (found.length > 0)
      await until(() => stillThere().length === 0, GRACE_MS);
    const described = stillThere().map(
      (id) =>
        docker(
          [
            'ps',
            '-a',
            '--filter',
            `id=${id}`,
            '--format',
            '{{.Names}} {{.Image}} {{.Status}} {{.Labels}}',
          ],
          { allowFail: true },
        ).stdout.trim() || id,
    );
    expect(described).toEqual([]);
  });
});
