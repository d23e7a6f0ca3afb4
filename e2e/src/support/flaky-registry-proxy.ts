/**
 * flaky-registry-proxy.mjs in front of the local registry: pushes through it
 * can be cut or slowed at a known point, and its counters say whether they were.
 */
import { startChildServer } from './child-server';
import { REGISTRY } from './run';

export interface ProxyFaults {
  /** Port to listen on; 0 picks one (a later proxy can reuse it). */
  port?: number;
  /** host:port of the registry behind it; the local registry unless told. */
  upstream?: string;
  /** Drop the connection of the first N manifest uploads. */
  cutManifestPuts?: number;
  /** Drop a layer upload after this many bytes, for the first `blobCuts` uploads. */
  cutBlobAfter?: number;
  blobCuts?: number;
  /** Forward layer uploads at this many bytes per second. */
  throttle?: number;
}

export interface ProxyStats {
  requests: number;
  manifestCuts: number;
  blobCuts: number;
  blobBytes: number;
}

export interface FlakyProxy {
  /** host:port, what the images are tagged with. */
  registry: string;
  stats(): Promise<ProxyStats>;
  close(): Promise<void>;
}

export async function startFlakyProxy(
  faults: ProxyFaults,
): Promise<FlakyProxy> {
  const server = await startChildServer('flaky-registry-proxy.mjs', [
    `--upstream=${faults.upstream ?? REGISTRY}`,
    `--port=${faults.port ?? 0}`,
    `--cut-manifest-puts=${faults.cutManifestPuts ?? 0}`,
    `--cut-blob-after=${faults.cutBlobAfter ?? Infinity}`,
    `--blob-cuts=${faults.blobCuts ?? 0}`,
    `--throttle=${faults.throttle ?? 0}`,
  ]);
  return {
    registry: server.url.replace(/^http:\/\//, ''),
    stats: async () =>
      (await fetch(`${server.url}/__proxy/stats`, {
        signal: AbortSignal.timeout(5000),
      }).then((r) => r.json())) as ProxyStats,
    close: server.close,
  };
}
