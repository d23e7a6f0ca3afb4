/**
 * The files that reach a build context: the project folder minus what its
 * .dockerignore excludes, as Nx inputs. Files Docker never sees (data/,
 * mlruns/, DVC cache) then never cause a rebuild. When the .dockerignore
 * re-includes anything (a `!pattern`), the whole folder counts: a cache that
 * misses a rebuild is worse than one that rebuilds too often.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function dockerContextInputs(
  workspaceRoot: string,
  projectRoot: string,
): string[] {
  const inputs = ['{projectRoot}/**/*'];
  const file = join(workspaceRoot, projectRoot, '.dockerignore');
  if (!existsSync(file)) return inputs;
  const patterns = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (patterns.some((p) => p.startsWith('!'))) return inputs;
  for (const raw of patterns) {
    const p = raw.replace(/^\/+/, '').replace(/\/+$/, '');
    if (!p || p === '.' || p === '**' || p === '*') continue;
    // Docker sends the Dockerfile even when .dockerignore names it: it stays an input.
    if (/^docker(\/|$)|Dockerfile/.test(p)) continue;
    // A pattern matches a file or a folder: exclude both the path and what is under it.
    inputs.push(`!{projectRoot}/${p}`, `!{projectRoot}/${p}/**`);
  }
  return inputs;
}
