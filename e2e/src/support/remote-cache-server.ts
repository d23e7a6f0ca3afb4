/**
 * Starts remote-cache-server.mjs (Nx's self-hosted remote cache API on
 * 127.0.0.1) in its own process and reads its counters over HTTP.
 */
import { startChildServer } from './child-server';

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
  const server = await startChildServer('remote-cache-server.mjs', [token]);
  return {
    ...server,
    token,
    stats: async () =>
      (await fetch(`${server.url}/stats`)).json() as Promise<CacheStats>,
  };
}
