/**
 * A registry that demands a login (Debian's registry with an htpasswd file):
 * no credentials and wrong credentials each fail with the fix in the message,
 * the right ones push, and the password never appears in any output or record.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AuthRegistry, startAuthRegistry } from './support/auth-registry';
import { expectFailure } from './support/failure-modes';
import { docker, uniqueId } from './support/run';
import { freshWorkspace, Workspace } from './support/workspace';

describe('pushing to a registry that requires authentication', () => {
  const id = uniqueId('auth');
  const project = `private-${id}`;
  const user = 'ml-ci';
  const password = `pw-${id}-never-printed`;
  let registry: AuthRegistry;
  let host: string;
  let ws: Workspace;

  /** A docker config directory holding exactly these credentials (or none). */
  const dockerConfig = (credentials?: string) =>
    registry.dockerConfig(credentials ? { [host]: credentials } : {});
  const push = (config: string) =>
    ws.nx(['run', `${project}:docker-push`, '--excludeTaskDependencies'], {
      allowFail: true,
      env: { DOCKER_CONFIG: config },
    });

  beforeAll(async () => {
    registry = await startAuthRegistry(user, password);
    host = registry.host;

    ws = freshWorkspace();
    ws.imageProject(
      `examples/${project}`,
      'app',
      ['USER 10001:10001', 'CMD ["python3", "-c", "print(1)"]'],
      {
        'docker-build': {
          executor: '@ml/docker:build',
          options: { registry: host, repository: 'private' },
        },
        'docker-test': {
          executor: '@ml/docker:test',
          options: { job: { artifacts: [] } },
        },
        'docker-push': { executor: '@ml/docker:push', options: { retries: 1 } },
      },
    );
    ws.commitAll('a project pushing to a private registry');
    ws.nx(['run', `${project}:docker-build`]);
  });

  afterAll(() => {
    const images = docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])
      .stdout.split('\n')
      .filter((i) => i.startsWith(`${host}/`));
    for (const image of images)
      docker(['rmi', '-f', image], { allowFail: true });
    ws?.dispose();
    registry?.stop();
  });

  it.each([
    ['no credentials', () => undefined],
    ['wrong credentials', () => `${user}:not-${password}`],
  ])(
    'fails with %s, saying how to log in, and prints no secret',
    (_what, credentials) => {
      const r = push(dockerConfig(credentials()));
      expectFailure(r, 'push.auth-refused');
      expect(
        existsSync(
          join(ws.root, 'dist/docker/examples', project, 'push-record.json'),
        ),
      ).toBe(false);
      expect(r.all).toMatch(
        new RegExp(
          `Registry ${host.replace(/\./g, '\\.')} refused authentication \\(HTTP 401\\)\\. Log in first: docker login ${host.replace(/\./g, '\\.')}`,
        ),
      );
      expect(r.all).not.toContain(password);
      expect(r.all).not.toMatch(/@ml\/docker: pushed /);
    },
  );

  it('pushes with the right credentials, and the password is in no output or record', () => {
    const r = push(dockerConfig(`${user}:${password}`));
    expect(r.all).toMatch(
      new RegExp(
        `@ml/docker: pushed ${host.replace(/\./g, '\\.')}/private/${project}-app:latest sha256:[0-9a-f]{64}`,
      ),
    );
    expect(r.status).toBe(0);
    expect(r.all).not.toContain(password);
    const recordDir = join(ws.root, 'dist', 'docker', 'examples', project);
    for (const file of readdirSync(recordDir))
      expect(readFileSync(join(recordDir, file), 'utf8')).not.toContain(
        password,
      );
  });
});
