import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  if (process.env.ML_DOCKER_E2E_TMP)
    rmSync(process.env.ML_DOCKER_E2E_TMP, { recursive: true, force: true });
}
