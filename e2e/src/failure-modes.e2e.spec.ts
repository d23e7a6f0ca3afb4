/**
 * Faults and bad inputs, each through `nx run` on the real engine: one clear
 * line, a non-zero exit, and no container left behind.
 */
import { spawn } from 'node:child_process';
import {
  docker,
  inheritedEnv,
  ownedContainers,
  uniqueId,
  until,
} from './support/run';
import { freshWorkspace, NX_ENV, Workspace } from './support/workspace';

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
  'serves-ok': dockerfile(
    'USER 10001:10001',
    'EXPOSE 8000',
    'WORKDIR /tmp',
    'CMD ["python3", "-m", "http.server", "8000"]',
  ),
  'job-fails': dockerfile(
    'USER 10001:10001',
    'CMD ["python3", "-c", "raise SystemExit(7)"]',
  ),
};

describe('failure modes of build, test and push', () => {
  const id = uniqueId('fm');
  const project = `faulty-${id}`;
  const root = `ml/${project}`;
  const repository = `e2e-${id}`;
  let ws: Workspace;
  let containersBefore: number;

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
    containersBefore = ownedContainers().length;
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

  afterAll(() => {
    const images = docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])
      .stdout.split('\n')
      .filter((i) => i.includes(repository));
    for (const image of images)
      docker(['rmi', '-f', image], { allowFail: true });
    ws?.dispose();
  });

  it.each([
    [
      'the engine is not reachable',
      ['--images=serves-ok'],
      { DOCKER_HOST: 'unix:///tmp/ml-docker-no-engine.sock' },
      /Docker engine not reachable at unix:\/\/\/tmp\/ml-docker-no-engine\.sock.*Start it/,
    ],
    [
      'an image has no Dockerfile',
      ['--images=nope'],
      {},
      /No Dockerfile for image "nope" at .*Generate it/,
    ],
    [
      'a RUN step fails',
      ['--images=failing-run'],
      {},
      /Build of faulty-.*\/failing-run failed at step .*RUN echo about-to-fail && exit 3.*exit code: 3/,
    ],
    [
      'the Dockerfile has a syntax error',
      ['--images=syntax-error'],
      {},
      /Build of faulty-.*\/syntax-error failed at .*(unknown instruction|FROBNICATE)/i,
    ],
  ])('docker-build fails clearly when %s', (_what, args, env, message) => {
    const r = nxRun('docker-build', args as string[], env as NodeJS.ProcessEnv);
    expect(r.status).not.toBe(0);
    expect(r.all).toMatch(message as RegExp);
  });

  it('docker-test before any build says to build first', () => {
    const r = nxRun('docker-test', ['--images=serves-ok']);
    expect(r.status).not.toBe(0);
    expect(r.all).toMatch(
      /No build record at .*Build the images first: nx run faulty-.*:docker-build/,
    );
  });

  describe('with the service and job images built', () => {
    beforeAll(() => {
      const built = nxRun('docker-build', [
        '--images=exits-at-start,never-answers,health-500,broken-healthcheck,runs-as-root,serves-ok,job-fails',
      ]);
      if (built.status !== 0) throw new Error(built.all.slice(-4000));
    });

    it.each([
      [
        'exits at start',
        'exits-at-start',
        /exits-at-start did not become healthy: the container exited with code 4/,
      ],
      [
        'never answers',
        'never-answers',
        /never-answers did not become healthy: no healthy answer from http:\/\/127\.0\.0\.1:\d+\/ within 8 s/,
      ],
      [
        'answers its health path with 500',
        'health-500',
        /health-500 did not become healthy: no healthy answer .*last: HTTP 500/,
      ],
      [
        'has a broken HEALTHCHECK while the app is fine',
        'broken-healthcheck',
        /broken-healthcheck's HEALTHCHECK command fails while the app answers \/ \(exit 1: probe points at the wrong port\)/,
      ],
      [
        'runs as root',
        'runs-as-root',
        /runs-as-root runs as root \(USER is "unset"\)\. Set USER to a numeric non-root UID/,
      ],
      [
        'is a job that exits non-zero',
        'job-fails',
        /job-fails exited with code 7/,
      ],
    ])(
      'docker-test fails clearly when the container %s',
      (_what, image, message) => {
        const r = nxRun('docker-test', [
          `--images=${image}`,
          '--excludeTaskDependencies',
        ]);
        expect(r.status).not.toBe(0);
        expect(r.all).toMatch(message);
        expect(ownedContainers().length).toBe(containersBefore);
      },
    );

    it('docker-test fails clearly when a smoke request gets the wrong status', () => {
      const r = nxRun('test-smoke-missing');
      expect(r.status).not.toBe(0);
      expect(r.all).toMatch(
        /serves-ok: smoke GET \/missing: expected HTTP 200, got 404/,
      );
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
        const child = spawn(
          'npx',
          [
            'nx',
            'run',
            `${project}:docker-test`,
            '--images=never-answers',
            '--excludeTaskDependencies',
          ],
          {
            cwd: ws.root,
            env: { ...inheritedEnv(), ...NX_ENV },
            detached: true,
            stdio: 'ignore',
          },
        );
        const exited = new Promise<number | null>((resolve) =>
          child.on('exit', (code) => resolve(code)),
        );
        try {
          expect(
            await until(
              () => ownedContainers().length > containersBefore,
              60_000,
            ),
          ).toBe(true);
          // Like Ctrl-C in a terminal: the signal goes to nx's whole process group.
          process.kill(-child.pid!, signal);
          expect(await exited).not.toBe(0);
          expect(
            await until(
              () => ownedContainers().length === containersBefore,
              15_000,
            ),
          ).toBe(true);
        } finally {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // the group is gone already
          }
        }
      },
    );

    it('docker-push fails clearly when the registry is not running', () => {
      expect(nxRun('build-dead-registry').status).toBe(0);
      const r = nxRun('push-dead-registry');
      expect(r.status).not.toBe(0);
      expect(r.all).toMatch(
        /Registry 127\.0\.0\.1:5999 is unreachable \(ECONNREFUSED.*Start it/,
      );
    });
  });

  it('leaves no container behind', () => {
    expect(ownedContainers().length).toBe(containersBefore);
  });
});
