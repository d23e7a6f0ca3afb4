/**
 * Faults and bad inputs, each through `nx run` on the real engine: one clear
 * line, a non-zero exit, and no container left behind.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  docker,
  imagesOf,
  ownedContainersOf,
  pathWithout,
  uniqueId,
  until,
} from './support/run';
import { removeImagesOf } from './support/example-monorepo';
import { expectFailure, FailureModeId } from './support/failure-modes';
import { freshWorkspace, Workspace } from './support/workspace';

const dockerfile = (...lines: string[]) =>
  ['ARG BASE_IMAGE', 'FROM ${BASE_IMAGE}', ...lines, ''].join('\n');

/** Images of a deliberately faulty project, one per failure. */
const IMAGES: Record<string, string> = {
  'failing-run': dockerfile(
    'RUN echo first-step-ok',
    'RUN echo about-to-fail && exit 3',
  ),
  'syntax-error': dockerfile('FROBNICATE everything'),
  'exits-at-start': dockerfile(
    'USER 10001:10001',
    'EXPOSE 8000',
    'CMD ["python3", "-c", "import sys; print(\'boom\'); sys.exit(4)"]',
  ),
  'never-answers': dockerfile(
    'USER 10001:10001',
    'EXPOSE 8000',
    'CMD ["sleep", "600"]',
  ),
  'health-500': dockerfile(
    'USER 10001:10001',
    'EXPOSE 8000',
    'WORKDIR /tmp',
    'CMD ["python3", "-c", "import http.server as h\\nclass H(h.BaseHTTPRequestHandler):\\n  def do_GET(s): s.send_response(500); s.end_headers()\\nh.HTTPServer((\'0.0.0.0\', 8000), H).serve_forever()"]',
  ),
  'broken-healthcheck': dockerfile(
    'USER 10001:10001',
    'EXPOSE 8000',
    'WORKDIR /tmp',
    'HEALTHCHECK --interval=30s CMD ["python3", "-c", "raise SystemExit(\'probe points at the wrong port\')"]',
    'CMD ["python3", "-m", "http.server", "8000"]',
  ),
  'runs-as-root': dockerfile(
    'EXPOSE 8000',
    'WORKDIR /tmp',
    'CMD ["python3", "-m", "http.server", "8000"]',
  ),
  // Serves from /srv: docker-test runs services read-only with a fresh /tmp.
  'serves-ok': dockerfile(
    'WORKDIR /srv',
    'RUN printf \'{"status": "ok"}\' > /srv/status.json',
    'USER 10001:10001',
    'EXPOSE 8000',
    'CMD ["python3", "-m", "http.server", "8000"]',
  ),
  'job-fails': dockerfile(
    'USER 10001:10001',
    'CMD ["python3", "-c", "raise SystemExit(7)"]',
  ),
  'job-too-slow': dockerfile('USER 10001:10001', 'CMD ["sleep", "600"]'),
  // Its label promises models/: docker-test holds it to that by default.
  'job-writes-nothing': dockerfile(
    'USER 10001:10001',
    'WORKDIR /tmp',
    'CMD ["python3", "-c", "print(\'trained, saved nowhere\')"]',
    'LABEL ml-docker.outputs="models/"',
  ),
  // No outputs label and no job.artifacts: only its exit status counts.
  'job-declares-nothing': dockerfile(
    'USER 10001:10001',
    'WORKDIR /tmp',
    'CMD ["python3", "-c", "print(\'ran, promised nothing\')"]',
  ),
  'missing-model': dockerfile('COPY models/ /srv/models/'),
  'needs-buildkit': dockerfile(
    'RUN --mount=type=cache,target=/root/.cache echo cached',
  ),
};

describe('failure modes of build, test and push', () => {
  const id = uniqueId('fm');
  const project = `faulty-${id}`;
  const root = `ml/${project}`;
  const repository = `e2e-${id}`;
  let ws: Workspace;
  const noPodman = pathWithout(['podman']);
  /** This project's containers: others may run the plugin on the engine meanwhile. */
  const containers = () => ownedContainersOf(project);

  const target = (executor: string, options: object) => ({
    executor: `@ml/docker:${executor}`,
    options,
  });
  const nxRun = (
    targetName: string,
    args: string[] = [],
    env: NodeJS.ProcessEnv = {},
  ) =>
    ws.nx(['run', `${project}:${targetName}`, ...args], {
      allowFail: true,
      env,
    });

  beforeAll(() => {
    ws = freshWorkspace();
    for (const [name, text] of Object.entries(IMAGES))
      ws.write(`${root}/docker/${name}/Dockerfile`, text);
    ws.write(
      `${root}/project.json`,
      JSON.stringify({
        name: project,
        root,
        targets: {
          'docker-build': target('build', { repository, gitShaTag: false }),
          'docker-test': target('test', {
            service: { healthPath: '/', timeout: 8 },
          }),
          'docker-push': target('push', {}),
          'test-smoke-missing': target('test', {
            images: ['serves-ok'],
            service: {
              healthPath: '/',
              smoke: [{ path: '/missing', expectStatus: 200 }],
            },
          }),
          'test-smoke-key': target('test', {
            images: ['serves-ok'],
            service: {
              healthPath: '/',
              smoke: [{ path: '/status.json', expectKeys: ['prediction'] }],
            },
          }),
          'test-job-timeout': target('test', {
            images: ['job-too-slow'],
            job: { timeout: 3 },
          }),
          'build-dead-registry': target('build', {
            repository,
            registry: '127.0.0.1:5999',
            images: ['serves-ok'],
            outputPath: `dist/dead/${root}`,
          }),
          'push-dead-registry': target('push', {
            buildTarget: 'build-dead-registry',
            retries: 1,
          }),
        },
      }),
    );
    ws.commitAll('faulty project');
  });

  const builtImages = () => imagesOf(repository);

  afterAll(() => {
    removeImagesOf(repository);
    ws?.dispose();
    rmSync(noPodman, { recursive: true, force: true });
  });

  it.each<[string, string[], NodeJS.ProcessEnv, FailureModeId]>([
    [
      'no engine is reachable (no Docker engine on DOCKER_HOST, no podman)',
      ['--images=serves-ok'],
      { DOCKER_HOST: 'unix:///tmp/ml-docker-no-engine.sock', PATH: noPodman },
      'build.no-engine',
    ],
    [
      'an image has no Dockerfile',
      ['--images=nope'],
      {},
      'build.no-dockerfile',
    ],
    ['a RUN step fails', ['--images=failing-run'], {}, 'build.run-fails'],
    [
      'the Dockerfile has a syntax error',
      ['--images=syntax-error'],
      {},
      'build.syntax-error',
    ],
    [
      'the model is missing from the context',
      ['--images=missing-model'],
      {},
      'build.missing-copy-source',
    ],
    [
      'a Dockerfile needs BuildKit and the classic builder is asked for',
      ['--images=needs-buildkit', '--engine=classic'],
      {},
      'build.needs-buildkit',
    ],
  ])('docker-build fails clearly when %s', (_what, args, env, mode) => {
    expectFailure(nxRun('docker-build', args, env), mode);
    expect(builtImages()).toEqual([]);
    expect(existsSync(join(ws.root, 'dist/docker', root))).toBe(false);
  });

  it('docker-test before any build says to build first', () => {
    expectFailure(
      nxRun('docker-test', ['--images=serves-ok']),
      'test.no-record',
    );
  });

  describe('with the service and job images built', () => {
    beforeAll(() => {
      const built = nxRun('docker-build', [
        '--images=exits-at-start,never-answers,health-500,broken-healthcheck,runs-as-root,serves-ok,job-fails,job-too-slow,job-writes-nothing,job-declares-nothing',
      ]);
      if (built.status !== 0) throw new Error(built.all.slice(-4000));
    });

    it.each<[string, string, FailureModeId]>([
      ['exits at start', 'exits-at-start', 'test.exits-at-start'],
      ['never answers', 'never-answers', 'test.never-answers'],
      ['answers its health path with 500', 'health-500', 'test.health-500'],
      [
        'has a broken HEALTHCHECK while the app is fine',
        'broken-healthcheck',
        'test.broken-healthcheck',
      ],
      ['runs as root', 'runs-as-root', 'test.runs-as-root'],
      ['is a job that exits non-zero', 'job-fails', 'test.job-fails'],
      [
        'is a job that exits 0 without its artifacts',
        'job-writes-nothing',
        'test.job-no-artifacts',
      ],
    ])(
      'docker-test fails clearly when the container %s',
      (_what, image, mode) => {
        expectFailure(
          nxRun('docker-test', [
            `--images=${image}`,
            '--excludeTaskDependencies',
          ]),
          mode,
        );
        expect(containers()).toEqual([]);
      },
    );

    it.each<[string, string, FailureModeId]>([
      [
        'a smoke request gets the wrong status',
        'test-smoke-missing',
        'test.smoke-status',
      ],
      [
        'a smoke response lacks a key',
        'test-smoke-key',
        'test.smoke-missing-key',
      ],
      ['a job outlives its timeout', 'test-job-timeout', 'test.job-timeout'],
    ])('docker-test fails clearly when %s', (_what, targetName, mode) => {
      expectFailure(nxRun(targetName, ['--excludeTaskDependencies']), mode);
      expect(containers()).toEqual([]);
    });

    it('docker-test passes a job that declares no outputs on its exit status alone', () => {
      const r = nxRun('docker-test', [
        '--images=job-declares-nothing',
        '--excludeTaskDependencies',
      ]);
      expect(r.all).toMatch(
        /job-declares-nothing passed: exit 0 in [\d.]+ s \(no outputs declared/,
      );
      expect(r.status).toBe(0);
    });

    it('docker-test passes a healthy service image', () => {
      const r = nxRun('docker-test', [
        '--images=serves-ok',
        '--excludeTaskDependencies',
      ]);
      expect(r.all).toMatch(/serves-ok passed: healthy in \d+ ms/);
      expect(r.status).toBe(0);
    });

    it.each(['SIGINT', 'SIGTERM'] as const)(
      'docker-test removes its container when nx is interrupted with %s',
      async (signal) => {
        const nx = ws.nxInBackground([
          'run',
          `${project}:docker-test`,
          '--images=never-answers',
          '--excludeTaskDependencies',
        ]);
        try {
          expect(await until(() => containers().length > 0, 60_000)).toBe(true);
          // Like Ctrl-C in a terminal: the signal goes to nx's whole process group.
          nx.signal(signal);
          expect(await nx.exited).not.toBe(0);
          expect(await until(() => containers().length === 0, 15_000)).toBe(
            true,
          );
        } finally {
          nx.stop();
        }
      },
    );

    it('docker-push fails clearly when the registry is not running', () => {
      expect(nxRun('build-dead-registry').status).toBe(0);
      const r = nxRun('push-dead-registry');
      expectFailure(r, 'push.registry-down');
      expect(
        existsSync(join(ws.root, 'dist/dead', root, 'push-record.json')),
      ).toBe(false);
      expect(r.all).toMatch(/Registry 127\.0\.0\.1:5999 is unreachable/);
    });
  });

  describe("when a dependency's recorded image is gone from engine and registry", () => {
    const base = `base-${id}`;
    const app = `app-${id}`;

    beforeAll(() => {
      ws.imageProject(
        `ml/${base}`,
        'base',
        ['RUN echo ' + id + ' > /base-id'],
        {
          'docker-build': target('build', {
            repository,
            imageNames: { base },
            gitShaTag: false,
          }),
        },
      );
      // The ARG default names the base's image: that is the graph edge too.
      ws.write(
        `ml/${app}/docker/api/Dockerfile`,
        [
          `ARG BASE_IMAGE=127.0.0.1:5000/${repository}/${base}:latest`,
          'FROM ${BASE_IMAGE}',
          'RUN cat /base-id',
          '',
        ].join('\n'),
      );
      ws.write(
        `ml/${app}/project.json`,
        JSON.stringify({
          name: app,
          root: `ml/${app}`,
          targets: {
            'docker-build': target('build', { repository, gitShaTag: false }),
          },
        }),
      );
      ws.commitAll('a base image and an app built on it');
    });

    it('docker-build of the dependent says to rebuild the dependency', () => {
      const built = ws.nx(['run', `${base}:docker-build`], { allowFail: true });
      if (built.status !== 0) throw new Error(built.all.slice(-4000));
      // Never pushed, now removed: like a CI agent that restored the base's
      // build from the Nx cache but has neither its image nor a registry copy.
      for (const image of builtImages().filter((i) => i.includes(base)))
        docker(['rmi', image]);
      const r = ws.nx(['run', `${app}:docker-build`], { allowFail: true });
      expectFailure(r, 'build.dependency-image-gone');
      expect(r.all).toContain(`nx run ${base}:docker-build --skip-nx-cache`);
      expect(builtImages().filter((i) => i.includes(app))).toEqual([]);
    });
  });

  it('leaves no container behind', () => {
    expect(containers()).toEqual([]);
  });
});
