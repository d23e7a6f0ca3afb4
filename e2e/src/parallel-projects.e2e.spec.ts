/**
 * `nx run-many -t docker-build,docker-test --parallel=4` over six projects at
 * once: every build record and image is its own project's, and every test
 * talks to its own project's container (another Nx container plugin is known
 * to have built the wrong Dockerfile under parallel runs).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { docker, ownedContainersOf, uniqueId } from './support/run';
import { buildRecord } from './support/example-monorepo';
import { freshWorkspace, Workspace } from './support/workspace';

const COUNT = 6;

describe('six projects built and tested in parallel', () => {
  const id = uniqueId('par');
  const repository = `e2e-${id}`;
  const projects = Array.from({ length: COUNT }, (_, i) => `svc${i}-${id}`);
  let ws: Workspace;
  let output: string;

  beforeAll(() => {
    ws = freshWorkspace();
    for (const project of projects) {
      // Each image serves a file naming its own project: a test that reached
      // another project's container would find the wrong key.
      ws.imageProject(
        `examples/${project}`,
        'api',
        [
          `RUN mkdir /srv/api && echo '{"${project}": true}' > /srv/api/id.json`,
          'WORKDIR /srv/api',
          'USER 10001:10001',
          'EXPOSE 8000',
          'CMD ["python3", "-m", "http.server", "8000"]',
        ],
        {
          'docker-build': { options: { repository } },
          'docker-test': {
            options: {
              service: {
                healthPath: '/id.json',
                smoke: [{ path: '/id.json', expectKeys: [project] }],
              },
            },
          },
        },
      );
    }
    const nxJsonPath = 'nx.json';
    const nxJson = JSON.parse(readFileSync(join(ws.root, nxJsonPath), 'utf8'));
    ws.write(
      nxJsonPath,
      JSON.stringify(
        { ...nxJson, plugins: [...(nxJson.plugins ?? []), '@ml/docker'] },
        null,
        2,
      ),
    );
    ws.commitAll('six services');
    output = ws.nx([
      'run-many',
      '-t',
      'docker-build,docker-test',
      '--parallel=4',
      '--outputStyle=stream',
    ]).all;
  });

  afterAll(() => {
    for (const project of projects) {
      for (const image of buildRecord(ws.root, project) ?? [])
        docker(['rmi', '-f', image.imageId], { allowFail: true });
    }
    ws?.dispose();
  });

  it.each(Array.from({ length: COUNT }, (_, i) => i))(
    'project %i has its own build record and image',
    (i) => {
      const project = projects[i];
      const images = buildRecord(ws.root, project)!;
      expect(images.map((img) => img.name)).toEqual([
        `127.0.0.1:5000/${repository}/${project}-api`,
      ]);
      const served = docker([
        'run',
        '--rm',
        '--entrypoint',
        'cat',
        images[0].imageId,
        '/srv/api/id.json',
      ]).stdout;
      expect(JSON.parse(served)).toEqual({ [project]: true });
    },
  );

  it('every docker-test reached its own container and passed', () => {
    for (const project of projects) {
      expect(output).toMatch(
        new RegExp(`${project}: @ml/docker: api: GET /id.json → 200 ok`),
      );
      expect(output).toMatch(
        new RegExp(`${project}: @ml/docker: api passed: healthy in \\d+ ms`),
      );
    }
  });

  it('used a distinct container name for every test, and left none behind', () => {
    const names = [
      ...output.matchAll(
        /started as (mld-[\w.-]+); polling http:\/\/127\.0\.0\.1:(\d+)\//g,
      ),
    ];
    expect(names).toHaveLength(COUNT);
    expect(new Set(names.map((m) => m[1])).size).toBe(COUNT);
    // Only these projects' containers: others may run the plugin on the engine meanwhile.
    expect(projects.flatMap((p) => ownedContainersOf(p))).toEqual([]);
  });
});
