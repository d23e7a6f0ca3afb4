/** What the engine says of a local image: ID, user, ports, command, labels, layers. */
import { docker, Engine } from './engine';

export interface ImageInfo {
  id: string;
  size: number;
  repoTags: string[];
  repoDigests: string[];
  user: string;
  workingDir: string;
  exposedPorts: string[];
  healthcheck?: { test: string[]; timeoutNs?: number };
  cmd: string[];
  entrypoint: string[];
  labels: Record<string, string>;
  /** Diff IDs of the layers, bottom first. */
  layers: string[];
}

export async function inspectImage(
  engine: Engine,
  ref: string,
): Promise<ImageInfo | undefined> {
  const r = await docker(engine, ['image', 'inspect', ref]);
  if (r.exitCode !== 0) return undefined;
  const [raw] = JSON.parse(r.stdout);
  const c = raw.Config ?? {};
  return {
    // Podman prints the bare hex; records and registries use the sha256: form.
    id: raw.Id.startsWith('sha256:') ? raw.Id : `sha256:${raw.Id}`,
    size: raw.Size,
    repoTags: raw.RepoTags ?? [],
    repoDigests: raw.RepoDigests ?? [],
    user: c.User ?? '',
    workingDir: c.WorkingDir || '/',
    exposedPorts: Object.keys(c.ExposedPorts ?? {}),
    // Podman reports the HEALTHCHECK beside Config, not in it.
    healthcheck: (c.Healthcheck ?? raw.Healthcheck)?.Test
      ? {
          test: (c.Healthcheck ?? raw.Healthcheck).Test,
          timeoutNs: (c.Healthcheck ?? raw.Healthcheck).Timeout,
        }
      : undefined,
    cmd: c.Cmd ?? [],
    entrypoint: c.Entrypoint ?? [],
    labels: c.Labels ?? {},
    layers: raw.RootFS?.Layers ?? [],
  };
}
