/**
 * docker-test of synth's inference image many times in a row, each a separate
 * `nx run` as CI would do: every run passes, none leaves a container, and the
 * spread of time to healthy and to ready is printed.
 */
import {
  buildRecord,
  exampleMonorepo,
  removeImagesOf,
} from './support/example-monorepo';
import { ownedContainersOf, uniqueId } from './support/run';
import { Workspace } from './support/workspace';

const RUNS = Number(process.env.ML_DOCKER_E2E_REPEAT_RUNS ?? 50);

interface Outcome {
  run: number;
  status: number | null;
  healthyMs?: number;
  readyMs?: number;
  leaked: string[];
  tail?: string;
}

function spread(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `min ${sorted[0]} ms, median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${sorted[sorted.length - 1]} ms`;
}

describe(`${RUNS} docker-test runs of the inference image in a row`, () => {
  const repository = `e2e-${uniqueId('rep')}`;
  let ws: Workspace;
  const outcomes: Outcome[] = [];

  beforeAll(() => {
    ws = exampleMonorepo(repository);
    // Trains in the training image, then builds the inference image on the model.
    const built = ws.nx(['run', 'synth:docker-build'], { allowFail: true });
    if (built.status !== 0) throw new Error(built.all.slice(-4000));
  });

  afterAll(() => {
    removeImagesOf(repository);
    ws?.dispose();
  });

  it('every run passes and removes its container', () => {
    // This workspace's synth containers only: other suites run their own synth
    // (same project name) on the engine meanwhile.
    const images = new Set(
      buildRecord(ws.root, 'synth')!.map((i) => i.imageId),
    );
    const before = new Set(ownedContainersOf('synth', images));
    for (let run = 1; run <= RUNS; run++) {
      const r = ws.nx(
        [
          'run',
          'synth:docker-test',
          '--excludeTaskDependencies',
          '--skip-nx-cache',
        ],
        { allowFail: true },
      );
      const m = r.all.match(
        /inference passed: healthy in (\d+) ms, ready in (\d+) ms/,
      );
      outcomes.push({
        run,
        status: r.status,
        healthyMs: m ? Number(m[1]) : undefined,
        readyMs: m ? Number(m[2]) : undefined,
        leaked: ownedContainersOf('synth', images).filter(
          (c) => !before.has(c),
        ),
        tail: r.status === 0 && m ? undefined : r.all.slice(-1500),
      });
    }
    const passed = outcomes.filter((o) => o.status === 0 && o.readyMs);
    // Jest prints this with the suite's output: the figure the README quotes.
    console.log(
      [
        `${passed.length}/${RUNS} docker-test runs passed, ${outcomes.filter((o) => o.leaked.length).length} left a container`,
        `time to healthy: ${spread(passed.map((o) => o.healthyMs!))}`,
        `time to ready:   ${spread(passed.map((o) => o.readyMs!))}`,
      ].join('\n'),
    );
    expect(outcomes.filter((o) => o.status !== 0 || !o.readyMs)).toEqual([]);
    expect(outcomes.flatMap((o) => o.leaked)).toEqual([]);
  });
});
