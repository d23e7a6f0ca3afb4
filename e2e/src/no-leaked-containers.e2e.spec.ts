/**
 * Runs after every other suite (e2e/test-sequencer.cjs): whatever the suites
 * did, with the plugin's containers and their own, none may outlive them.
 */
import { CONTAINERS_BEFORE_ENV, docker, suiteContainers } from './support/run';

describe('after all the suites', () => {
  it('no container they or the plugin created still exists', () => {
    const before = process.env[CONTAINERS_BEFORE_ENV];
    expect(before).toBeDefined();
    const existing = new Set(before!.split(',').filter(Boolean));
    const left = suiteContainers().filter((id) => !existing.has(id));
    const described = left.map(
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
