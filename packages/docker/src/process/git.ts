import { run } from './process';

export interface GitInfo {
  sha?: string;
  shortSha?: string;
  /** True when the project folder has uncommitted changes: its SHA tag would lie. */
  dirty: boolean;
  remoteUrl?: string;
}

export async function gitInfo(
  workspaceRoot: string,
  projectRoot: string,
): Promise<GitInfo> {
  const git = (args: string[]) =>
    run('git', args, { cwd: workspaceRoot, timeoutMs: 10_000 });
  const sha = await git(['rev-parse', 'HEAD']);
  if (sha.exitCode !== 0) return { dirty: false };
  const status = await git(['status', '--porcelain', '--', projectRoot]);
  const remote = await git(['config', '--get', 'remote.origin.url']);
  return {
    sha: sha.stdout.trim(),
    shortSha: sha.stdout.trim().slice(0, 7),
    dirty: status.stdout.trim().length > 0,
    remoteUrl:
      remote.exitCode === 0
        ? stripCredentials(remote.stdout.trim())
        : undefined,
  };
}

/** A remote URL may carry a token (https://user:token@host/...): never put it in a label. */
export function stripCredentials(url: string): string {
  return url.replace(/^(https?:\/\/)[^@/]+@/, '$1');
}

/** The commit time of HEAD: an image's `created` label, so rebuilding a commit yields the same image. */
export async function commitTime(
  workspaceRoot: string,
): Promise<string | undefined> {
  const r = await run('git', ['show', '-s', '--format=%cI', 'HEAD'], {
    cwd: workspaceRoot,
    timeoutMs: 10_000,
  });
  return r.exitCode === 0 && r.stdout.trim()
    ? new Date(r.stdout.trim()).toISOString()
    : undefined;
}
