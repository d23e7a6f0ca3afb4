/**
 * Starts one of the suites' small servers (an .mjs file next to this one) in
 * its own process and waits for the URL it prints on its first line. In the
 * suites' own process a server would starve: they drive nx with spawnSync.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface ChildServer {
  url: string;
  close(): Promise<void>;
}

export async function startChildServer(
  script: string,
  args: string[],
): Promise<ChildServer> {
  const child = spawn(process.execPath, [join(__dirname, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`${script} exited with ${code} before it listened`)),
    );
    child.stdout!.once('data', (chunk: Buffer) =>
      resolve(chunk.toString().trim().split('\n')[0]),
    );
  });
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null)
          return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
