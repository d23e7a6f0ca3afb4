/** Hand-written smoke requests from the docker-test options: one request, its verdict. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SmokeRequest } from './test-options';
import { fail } from '../errors/errors';

export async function smokeRequest(
  base: string,
  smoke: SmokeRequest,
  projectRoot: string,
): Promise<string | undefined> {
  const method = (smoke.method ?? 'GET').toUpperCase();
  const label = `smoke ${method} ${smoke.path}`;
  let body: string | undefined;
  if (smoke.bodyFile) {
    const file = join(projectRoot, smoke.bodyFile);
    if (!existsSync(file))
      fail(
        `${label}: bodyFile ${smoke.bodyFile} does not exist in the project.`,
      );
    body = readFileSync(file, 'utf8');
  } else if (smoke.body !== undefined) {
    body = JSON.stringify(smoke.body);
  }
  let res: Response;
  try {
    res = await fetch(`${base}${smoke.path}`, {
      method,
      body,
      headers: body ? { 'content-type': 'application/json' } : undefined,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    return `${label} got no answer (${(e as Error).message}).`;
  }
  const text = await res.text();
  const expected = smoke.expectStatus ?? 200;
  if (res.status !== expected)
    return `${label}: expected HTTP ${expected}, got ${res.status}: ${text.slice(0, 200)}`;
  if (smoke.expectKeys?.length) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text);
    } catch {
      return `${label}: expected a JSON object with ${smoke.expectKeys.join(', ')}, got: ${text.slice(0, 200)}`;
    }
    const missing = smoke.expectKeys.filter(
      (k) => !(json && typeof json === 'object' && k in json),
    );
    if (missing.length)
      return `${label}: the response lacks ${missing.join(', ')}: ${text.slice(0, 200)}`;
  }
  return undefined;
}
