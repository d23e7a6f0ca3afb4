/**
 * A second registry on 127.0.0.1 that demands a login: Debian's
 * docker-registry with an htpasswd file, in a folder of its own. The suites
 * that push or promote to a private registry start one.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, statusOf, until } from './run';

/** A port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface AuthRegistry {
  /** host:port */
  host: string;
  /** A folder for the suite's own files, removed by stop(). */
  dir: string;
  /** A docker config directory holding exactly these logins (host → "user:password"). */
  dockerConfig(logins: Record<string, string>): string;
  stop(): void;
}

export async function startAuthRegistry(
  user: string,
  password: string,
): Promise<AuthRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'ml-docker-auth-'));
  const hash = run('python3', [
    '-W',
    'ignore',
    '-c',
    'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))',
    password,
  ]).stdout.trim();
  writeFileSync(join(dir, 'htpasswd'), `${user}:${hash}\n`);
  const host = `127.0.0.1:${await freePort()}`;
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
  const registry: ChildProcess = spawn(
    'docker-registry',
    ['serve', join(dir, 'config.yml')],
    { stdio: 'ignore' },
  );
  // Up when it asks for a login.
  if (
    !(await until(
      async () => (await statusOf(`http://${host}/v2/`)) === 401,
      15_000,
    ))
  ) {
    registry.kill('SIGTERM');
    throw new Error(`docker-registry did not start on ${host}`);
  }
  return {
    host,
    dir,
    dockerConfig: (logins) => {
      const config = mkdtempSync(join(dir, 'docker-config-'));
      const auths = Object.fromEntries(
        Object.entries(logins).map(([h, credentials]) => [
          h,
          { auth: Buffer.from(credentials).toString('base64') },
        ]),
      );
      writeFileSync(join(config, 'config.json'), JSON.stringify({ auths }));
      return config;
    },
    stop: () => {
      registry.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
