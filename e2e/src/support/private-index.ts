/**
 * A private package index for the suites: a wheel built here from plain file
 * writes (a wheel is a zip of the package, METADATA, WHEEL and RECORD), served
 * by private-index-server.mjs on 127.0.0.1 behind basic auth.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChildServer } from './child-server';
import { run } from './run';

export interface PrivateIndex {
  /** The index URL with the credentials in it: what a user would put in a secret. */
  urlWithCredentials: string;
  requests(): Promise<{ authorized: number; refused: number }>;
  close(): Promise<void>;
}

/**
 * Writes <dir>/<name>-<version>-py3-none-any.whl holding one module,
 * `<name with _>/__init__.py` = source. Python's zipfile writes the zip (no
 * network, no build backend).
 */
export function writeWheel(
  dir: string,
  name: string,
  version: string,
  source: string,
): string {
  const pkg = name.replace(/-/g, '_');
  const distInfo = `${pkg}-${version}.dist-info`;
  const files: Record<string, string> = {
    [`${pkg}/__init__.py`]: source,
    [`${distInfo}/METADATA`]: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
    [`${distInfo}/WHEEL`]:
      'Wheel-Version: 1.0\nGenerator: ml-docker-e2e\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  };
  const record = Object.entries(files).map(([path, text]) => {
    const digest = createHash('sha256').update(text).digest('base64url');
    return `${path},sha256=${digest},${Buffer.byteLength(text)}`;
  });
  files[`${distInfo}/RECORD`] = [...record, `${distInfo}/RECORD,,`, ''].join(
    '\n',
  );
  mkdirSync(dir, { recursive: true });
  const wheel = join(dir, `${pkg}-${version}-py3-none-any.whl`);
  const spec = join(dir, `${pkg}.files.json`);
  writeFileSync(spec, JSON.stringify(files));
  run('python3', [
    '-c',
    'import json, sys, zipfile\nwith zipfile.ZipFile(sys.argv[2], "w") as z:\n    for path, text in json.load(open(sys.argv[1])).items():\n        z.writestr(path, text)',
    spec,
    wheel,
  ]);
  return wheel;
}

export async function startPrivateIndex(
  wheelDir: string,
  user: string,
  password: string,
): Promise<PrivateIndex> {
  const server = await startChildServer('private-index-server.mjs', [
    wheelDir,
    user,
    password,
  ]);
  const url = new URL(server.url);
  return {
    urlWithCredentials: `${url.protocol}//${user}:${password}@${url.host}/simple/`,
    requests: async () =>
      (await fetch(`${server.url}/requests`)).json() as Promise<{
        authorized: number;
        refused: number;
      }>,
    close: server.close,
  };
}
