/**
 * A fresh engine reuses the layers another agent pushed: the image carries
 * inline cache metadata, and docker-build takes cache from the registry.
 * The proof is a layer of random bytes: rebuilt without that cache it could
 * never come out the same.
 */
import { docker, run, uniqueId } from './support/run';
import { freshWorkspace, Workspace } from './support/workspace';

/** IDs of the engine's build cache records whose description holds `text` (engine API over its socket). */
function buildCacheRecords(text: string): string[] {
  const df = JSON.parse(
    run('curl', [
      '-fsS',
      '--unix-socket',
      '/var/run/docker.sock',
      'http://localhost/system/df',
    ]).stdout,
  ) as { BuildCache?: Array<{ ID: string; Description?: string }> };
  return (df.BuildCache ?? [])
    .filter((r) => r.Description?.includes(text))
    .map((r) => r.ID);
}

const layersOf = (ref: string): string[] =>
  JSON.parse(
    docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref])
      .stdout,
  );

describe('layer cache from the registry on an emptied engine', () => {
  const id = uniqueId('lc');
  const probe = `layer-cache-probe-${id}`;
  const project = `cached-${id}`;
  const repository = `e2e-${id}`;
  let ws: Workspace;
  let firstLayers: string[];
  let ref: string;

  beforeAll(() => {
    ws = freshWorkspace();
    ws.imageProject(
      `apps/${project}`,
      'app',
      [
        `RUN echo ${probe} && head -c 3000000 /dev/urandom > /random.bin`,
        'USER 10001:10001',
        'CMD ["python3", "-c", "print(\'ok\')"]',
      ],
      {
        'docker-build': {
          executor: '@ml/docker:build',
          options: { repository },
        },
        'docker-test': {
          executor: '@ml/docker:test',
          options: { job: { artifacts: [] } },
        },
        'docker-push': { executor: '@ml/docker:push', options: {} },
      },
    );
    ws.commitAll('a project whose image holds random bytes');
    ref = `127.0.0.1:5000/${repository}/${project}-app:latest`;
  });

  afterAll(() => {
    docker(['rmi', '-f', ref], { allowFail: true });
    for (const record of buildCacheRecords(probe))
      docker(['builder', 'prune', '-af', '--filter', `id=${record}`], {
        allowFail: true,
      });
    ws?.dispose();
  });

  it('agent A builds with inline cache metadata and pushes', () => {
    ws.nx(['run', `${project}:docker-build`]);
    ws.nx(['run', `${project}:docker-push`]);
    firstLayers = layersOf(ref);
    expect(firstLayers.length).toBeGreaterThan(0);
  });

  it("the engine is emptied of the image and of that step's build cache", () => {
    docker(['rmi', '-f', ref]);
    for (const record of buildCacheRecords(probe))
      docker(['builder', 'prune', '-af', '--filter', `id=${record}`]);
    expect(buildCacheRecords(probe)).toEqual([]);
    expect(
      docker(['image', 'inspect', ref], { allowFail: true }).status,
    ).not.toBe(0);
  });

  it("a rebuild takes the random layer from the registry's cache: the same bytes", () => {
    const rebuilt = ws.nx([
      'run',
      `${project}:docker-build`,
      '--skip-nx-cache',
    ]).all;
    expect(rebuilt).toContain(`importing cache manifest from ${ref}`);
    expect(layersOf(ref)).toEqual(firstLayers);
  });
});
