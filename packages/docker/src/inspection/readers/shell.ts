/**
 * Shell command lines (dvc.yaml `cmd`) split into the commands they run with
 * shell-quote, the standard POSIX-style word splitter for JavaScript: quotes
 * and escapes as sh reads them, operators as separate tokens.
 */
import { posix } from 'node:path';
import { parse } from 'shell-quote';

export interface ShellCommand {
  /** The words run, without leading NAME=value assignments. */
  argv: string[];
  /** NAME=value assignments before the command. */
  env: Record<string, string>;
  /** The folder the command runs in, after any `cd` before it (relative, posix). */
  dir: string;
}

export interface ShellRead {
  commands: ShellCommand[];
  /** What the script does that is not followed (command substitution, cd to a variable…), for warnings. */
  unresolved: string[];
}

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
const SEPARATORS = new Set(['&&', '||', ';', ';;', '|', '|&', '&']);
const REDIRECTS = new Set(['>', '>>', '<', '>&']);

/**
 * The commands a shell script runs, in order, starting in `dir`. Variables
 * are left as ${NAME} text (never expanded to empty), and `sh -c "…"` is read
 * as the script it runs.
 */
export function shellCommands(script: string, dir = '.'): ShellRead {
  const read: ShellRead = { commands: [], unresolved: [] };
  readScript(script, dir, read);
  read.unresolved = [...new Set(read.unresolved)];
  return read;
}

/** An exec-form argv (no shell splits it), except that `sh -c "…"` is read as the script it runs. */
export function argvCommands(argv: string[], dir = '.'): ShellRead {
  const read: ShellRead = { commands: [], unresolved: [] };
  command([...argv], dir, read);
  return read;
}

function readScript(script: string, start: string, read: ShellRead): void {
  let dir = start;
  const dirs: string[] = [];
  for (const line of scriptLines(script)) {
    if (/\$\(|`/.test(line.replace(/'[^']*'/g, '')))
      read.unresolved.push('command substitution ($(…) or `…`)');
    let words: string[] = [];
    const end = () => {
      dir = command(words, dir, read);
      words = [];
    };
    const entries = parse(line, (name) => `\${${name}}`);
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[k];
      if (typeof entry === 'string') words.push(entry);
      else if ('comment' in entry) break;
      else if (entry.op === 'glob') words.push(entry.pattern);
      else if (SEPARATORS.has(entry.op)) end();
      else if (REDIRECTS.has(entry.op)) {
        // A descriptor number before the operator (2>…) is no argument.
        if (/^\d$/.test(words[words.length - 1] ?? '')) words.pop();
        k++;
      } else if (entry.op === '(') {
        end();
        dirs.push(dir);
      } else if (entry.op === ')') {
        end();
        dir = dirs.pop() ?? dir;
      } else {
        read.unresolved.push(`the shell operator ${entry.op}`);
        end();
      }
    }
    end();
  }
}

/** Records one simple command; returns the folder the next one runs in. */
function command(words: string[], dir: string, read: ShellRead): string {
  const env: Record<string, string> = {};
  let k = 0;
  if (words[0] === 'env' || words[0] === 'export') k++;
  for (; k < words.length && ASSIGNMENT.test(words[k]); k++) {
    const eq = words[k].indexOf('=');
    env[words[k].slice(0, eq)] = words[k].slice(eq + 1);
  }
  const argv = words.slice(k);
  if (argv.length === 0) return dir;
  if (argv[0] === 'cd') {
    const target = argv[1];
    if (
      target === undefined ||
      /^[-~/]/.test(target) ||
      target.includes('${')
    ) {
      read.unresolved.push(`cd ${target ?? ''}`.trim());
      return dir;
    }
    return posix.normalize(posix.join(dir, target));
  }
  if (/^(ba|da|z)?sh$/.test(posix.basename(argv[0])) && argv[1] === '-c') {
    if (argv[2] !== undefined) readScript(argv[2], dir, read);
    return dir;
  }
  read.commands.push({ argv, env, dir });
  return dir;
}

/**
 * Splits a script on the newlines the shell ends commands at: not inside
 * quotes, not after a backslash (which joins the next line).
 */
function scriptLines(script: string): string[] {
  const lines: string[] = [];
  let current = '';
  let quote = '';
  for (let i = 0; i < script.length; i++) {
    const c = script[i];
    if (c === '\\' && quote !== "'") {
      if (script[i + 1] === '\n') {
        i++;
        continue;
      }
      if (script[i + 1] === '\r' && script[i + 2] === '\n') {
        i += 2;
        continue;
      }
      current += c + (script[i + 1] ?? '');
      i++;
      continue;
    }
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (current === '' || /\s$/.test(current))) {
      // A comment runs to the end of its line, whatever quotes it holds.
      while (i + 1 < script.length && script[i + 1] !== '\n') i++;
      continue;
    } else if (c === '\n') {
      lines.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  lines.push(current);
  return lines.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim());
}
