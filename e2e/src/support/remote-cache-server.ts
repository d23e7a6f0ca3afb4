/**
 * Starts remote-cache-server.mjs (Nx's self-hosted remote cache API on
 * 127.0.0.1) in its own process and reads its counters over HTTP.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export interface CacheStats {
  entries: number;
  hits: number;
  misses: number;
  stores: number;
}

export interface RemoteCache {
  url: string;
  token: string;
  stats(): Promise<CacheStats>;
  close(): Promise<void>;
}

export async function startRemoteCache(token: string): Promise<RemoteCache> {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(__dirname, 'remote-cache-server.mjs'), token],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`the remote cache server exited with ${code}`)),
    );
    child.stdout!.once('data', (chunk: Buffer) =>
      resolve(chunk.toString().trim().split('\n')[0]),
    );
  });
  return {
    url,
    token,
    stats: async () =>
      (await fetch(`${url}/stats`)).json() as Promise<CacheStats>,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
