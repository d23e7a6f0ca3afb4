/**
 * Command construction, pure and table-tested: each engine's build command
 * line and flags (buildx, the engine's BuildKit, the classic builder, Podman)
 * in one place, decided from the engine value and the build spec.
 */
import type { BuildOptions } from '../build/build-options';
import type { BuildSecret } from '../build/build-secrets';
import { Engine } from './engine';

/** buildx drivers that can export cache (--cache-to); the default `docker` driver cannot. */
export const CACHE_EXPORTING_DRIVERS = [
  'docker-container',
  'remote',
  'kubernetes',
];

/** One engine build: the build options that pass straight through, and what the service decided. */
export interface BuildSpec extends Pick<
  BuildOptions,
  | 'buildArgs'
  | 'labels'
  | 'target'
  | 'platform'
  | 'pull'
  | 'noCache'
  | 'cacheFrom'
  | 'network'
> {
  context: string;
  dockerfile: string;
  tags: string[];
  cacheTo?: string[];
  iidFile?: string;
  /** Named by variable or file only: the value never is in the command line. */
  secrets?: BuildSecret[];
  /** Podman: the registries this build talks to are all loopback ones (plain HTTP). */
  insecureRegistries?: boolean;
}

export interface BuildCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
}

/** The flags every engine spells the same, in one order. */
function specArgs(spec: BuildSpec, pullFlag: string): string[] {
  const args = ['--file', spec.dockerfile];
  for (const tag of spec.tags) args.push('--tag', tag);
  for (const [k, v] of Object.entries(spec.buildArgs ?? {}))
    args.push('--build-arg', `${k}=${v}`);
  for (const [k, v] of Object.entries(spec.labels ?? {}))
    args.push('--label', `${k}=${v}`);
  if (spec.target) args.push('--target', spec.target);
  if (spec.platform) args.push('--platform', spec.platform);
  if (spec.pull) args.push(pullFlag);
  if (spec.noCache) args.push('--no-cache');
  for (const ref of spec.cacheFrom ?? []) args.push('--cache-from', ref);
  for (const ref of spec.cacheTo ?? []) args.push('--cache-to', ref);
  // BuildKit (Docker 20.10's client too) and Podman 4.3 read both env= and src=.
  for (const s of spec.secrets ?? [])
    args.push(
      '--secret',
      `id=${s.id},${s.env ? `env=${s.env}` : `src=${s.src}`}`,
    );
  if (spec.network && spec.network !== 'default')
    args.push('--network', spec.network);
  return args;
}

export function buildCommand(
  engine: Pick<Engine, 'client' | 'mode' | 'builder' | 'ulimits'>,
  spec: BuildSpec,
): BuildCommand {
  if (engine.mode === 'podman') return podmanBuildCommand(engine, spec);
  const args: string[] =
    engine.mode === 'buildx' ? ['buildx', 'build', '--load'] : ['build'];
  if (engine.mode === 'buildx' && engine.builder)
    args.push('--builder', engine.builder);
  if (engine.mode !== 'classic') args.push('--progress=plain');
  args.push(...specArgs(spec, '--pull'));
  if (spec.iidFile) args.push('--iidfile', spec.iidFile);
  args.push(spec.context);
  // DOCKER_BUILDKIT selects the builder for clients without buildx; buildx ignores it.
  const env: Record<string, string> =
    engine.mode === 'buildx'
      ? {}
      : { DOCKER_BUILDKIT: engine.mode === 'buildkit' ? '1' : '0' };
  return { file: engine.client, args, env };
}

/**
 * Podman builds Docker-format images (the OCI format has no HEALTHCHECK and
 * Podman would drop it), keeps every layer (--layers) so a registry cache
 * can serve them, and talks plain HTTP only to loopback registries.
 */
function podmanBuildCommand(
  engine: Pick<Engine, 'client' | 'ulimits'>,
  spec: BuildSpec,
): BuildCommand {
  const args = ['build', '--layers', '--format', 'docker'];
  // RUN steps are containers too: the same limits (see runFlags).
  for (const u of engine.ulimits ?? []) args.push('--ulimit', u);
  args.push(...specArgs(spec, '--pull=always'));
  if (spec.insecureRegistries) args.push('--tls-verify=false');
  if (spec.iidFile) args.push('--iidfile', spec.iidFile);
  args.push(spec.context);
  return { file: engine.client, args, env: {} };
}

/** True for a registry (or an image reference's registry) on the loopback interface. */
export function isLoopbackRegistry(refOrRegistry: string): boolean {
  const host = refOrRegistry
    .split('/')[0]
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
  );
}

/**
 * Flags a pull or push of `ref` needs: Podman verifies TLS unless told not
 * to, which a plain-HTTP local registry needs; Docker already allows
 * loopback registries over HTTP.
 */
export function registryFlags(
  engine: Pick<Engine, 'kind'>,
  ref: string,
): string[] {
  return engine.kind === 'podman' && isLoopbackRegistry(ref)
    ? ['--tls-verify=false']
    : [];
}

/**
 * Flags every container the plugin runs needs. Podman gives containers
 * open-files and process limits (1048576 and more) above what a sandboxed
 * host or CI runner allows, and the container then fails to start ("error
 * setting rlimit type 7" / "type 6"); `--ulimit host` does not help, since
 * Podman raises its own limits first. The limits of the calling process
 * (processes capped at kernel.pid_max) are always allowed.
 */
export function runFlags(engine: Pick<Engine, 'kind' | 'ulimits'>): string[] {
  if (engine.kind !== 'podman') return [];
  return (engine.ulimits ?? []).flatMap((u) => ['--ulimit', u]);
}

/** Dockerfile features that the classic builder rejects. */
export function needsBuildKit(dockerfileText: string): string | undefined {
  // Join continuation lines: flags often sit on the line after `RUN \`.
  const lines = dockerfileText.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  if (/^#\s*syntax\s*=/i.test(lines[0] ?? '')) return 'a "# syntax=" directive';
  for (const line of lines) {
    if (/^\s*RUN\s+(.*\s)?--mount[= ]/i.test(line)) return 'RUN --mount';
    if (/^\s*(COPY|ADD)\s+(.*\s)?--link\b/i.test(line)) return 'COPY --link';
    if (/^\s*(RUN|COPY)\s+.*<<-?\s*['"]?[A-Za-z_]+/i.test(line))
      return 'a heredoc';
  }
  return undefined;
}
