/**
 * Model files the serving code names that are in the project now, whatever
 * their folder is called: string constants, settings defaults
 * (MODEL_PATH: str = "sample_model/model.joblib"), os.getenv defaults, and
 * KEY=value lines of .env.example / .env.sample (the file that documents
 * what the app reads from the environment).
 */
import { posix } from 'node:path';
import { PythonProject } from './python-project';

export const ENV_EXAMPLES = [
  '.env.example',
  '.env.sample',
  '.env.template',
  '.env.dist',
  'example.env',
  'sample.env',
];

export interface ModelFiles {
  exists(rel: string): boolean;
  isFile(rel: string): boolean;
  read(rel: string): string | undefined;
}

/** Referenced model files (relative to the project root) → the file:line naming them first. */
export function referencedModels(
  py: PythonProject,
  files: string[],
  project: ModelFiles,
  isModel: (rel: string) => boolean,
): Map<string, string> {
  const found = new Map<string, string>();
  const consider = (value: string, base: string, at: string) => {
    for (const candidate of [value, posix.join(base, value)]) {
      if (candidate.startsWith('/')) continue;
      const rel = posix.normalize(candidate).replace(/\/+$/, '');
      if (rel.startsWith('..') || rel === '.') continue;
      if (isModel(rel) && project.isFile(rel)) {
        if (!found.has(rel)) found.set(rel, at);
        return;
      }
    }
  };
  for (const file of files) {
    if (!file.endsWith('.py')) continue;
    for (const v of py.stringValues(file))
      consider(v.value, posix.dirname(file), `${file}:${v.line}`);
  }
  for (const env of ENV_EXAMPLES) {
    const text = project.read(env);
    if (text === undefined) continue;
    text.split(/\r?\n/).forEach((line, i) => {
      const m =
        /^\s*(?:export\s+)?[A-Za-z_]\w*\s*=\s*(['"]?)([^'"#\s]+)\1/.exec(line);
      if (m) consider(m[2], '.', `${env}:${i + 1}`);
    });
  }
  return found;
}
