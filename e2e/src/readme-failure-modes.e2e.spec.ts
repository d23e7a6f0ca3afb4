/**
 * The README's "Failure modes" table is the catalog in support/failure-modes.ts,
 * and every row of the catalog is asserted by some suite: the table promises
 * no message a test has not seen on the real engine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAILURE_MODES, failureModesTable } from './support/failure-modes';

const README = join(__dirname, '..', '..', 'README.md');

function readmeTable(): string {
  const lines = readFileSync(README, 'utf8').split('\n');
  const section = lines.slice(lines.indexOf('## Failure modes') + 1);
  const start = section.findIndex((l) => l.startsWith('|'));
  const end = section.findIndex((l, i) => i > start && !l.startsWith('|'));
  return section.slice(start, end).join('\n');
}

describe("the README's failure modes", () => {
  it('are the table rendered from the catalog', () => {
    // On a mismatch, the expected value is the table to paste into README.md.
    expect(readmeTable()).toBe(failureModesTable());
  });

  it('are each asserted by a suite', () => {
    const specs = readdirSync(__dirname)
      .filter(
        (f) =>
          f.endsWith('.e2e.spec.ts') &&
          f !== 'readme-failure-modes.e2e.spec.ts',
      )
      .map((f) => readFileSync(join(__dirname, f), 'utf8'))
      .join('\n');
    const unasserted = Object.keys(FAILURE_MODES).filter(
      (id) => !specs.includes(`'${id}'`),
    );
    expect(unasserted).toEqual([]);
  });
});
