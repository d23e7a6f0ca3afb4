/**
 * A registry that demands a login (Debian's registry with an htpasswd file):
 * no credentials and wrong credentials each fail with the fix in the message,
 * the right ones push, and the password never appears in any output or record.
 */
import { ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectFailure } from './support/failure-modes';
import { docker, run, statusOf, uniqueId, until } from './support/run';
import { freshWorkspace, Workspace } from './support/workspace';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('pushing to a registry that requires authentication', () => {
  const id = uniqueId('auth');
  const project = `private-${id}`;
  const user = 'ml-ci';
  const password = `pw-${id}-never-printed`;
  let dir: string;
  let registry: ChildProcess;
  let host: string;
  let ws: Workspace;

  /** A docker config directory holding exactly these credentials (or none). */
  const dockerConfig = (credentials?: string) => {
    const config = mkdtempSync(join(dir, 'docker-config-'));
    const auths = credentials
      ? { [host]: { auth: Buffer.from(credentials).toString('base64') } }
      : {};
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths }));
    return config;
  };
  const push = (config: string) =>
    ws.nx(['run', `${project}:docker-push`, '--excludeTaskDependencies'], {
      allowFail: true,
      env: { DOCKER_CONFIG: config },
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ml-docker-auth-'));
    const hash = run('python3', [
      '-W',
      'ignore',
      '-c',
      'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))',
      password,
    ]).stdout.trim();
    writeFileSync(join(dir, 'htpasswd'), `${user}:${hash}\n`);
    host = `127.0.0.1:${await freePort()}`;
    writeFileSync(
      join(dir, 'config.yml'),
      [
        'version: 0.1',
        'log: { level: warn }',
        `storage: { filesystem: { rootdirectory: ${join(dir, 'storage')} } }`,
        `http: { addr: "${host}" }`,
        `auth: { htpasswd: { realm: ml-docker-e2e, path: ${join(dir, 'htpasswd')} } }`,
        '',
      ].join('\n'),
    );
    registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
      stdio: 'ignore',
    });
    // Up when it asks for a login.
    expect(
      await until(
        async () => (await statusOf(`http://${host}/v2/`)) === 401,
        15_000,
      ),
    ).toBe(true);

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
    registry?.kill('SIGTERM');
    const images = docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])
      .stdout.split('\n')
      .filter((i) => i.startsWith(`${host}/`));
    for (const image of images)
      docker(['rmi', '-f', image], { allowFail: true });
    ws?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
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
