/**
 * Runs after every other suite (e2e/test-sequencer.cjs): whatever the suites
 * did, with the plugin's containers and their own, none may outlive them.
 */
import {
  CONTAINERS_BEFORE_ENV,
  docker,
  suiteContainers,
  until,
} from './support/run';

/**
 * Other checkouts may be running the plugin on the same engine: a container
 * of theirs that is still running now is gone once their test ends, while a
 * leaked one stays. So the ones found now are given this long to go.
 */
const GRACE_MS = 120_000;

describe('after all the suites', () => {
  it('no container they or the plugin created still exists', async () => {
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
