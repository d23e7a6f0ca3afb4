/**
 * The repository's example monorepo (ml-base, ml-common, synth, churn) in a
 * fresh workspace, with its images in a repository of their own so suites
 * never collide in the shared local registry.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  BuildRecord,
  ImageRecord,
} from '../../../packages/docker/src/record/build-record';
import { docker, imagesOf } from './run';
import { freshWorkspace, Workspace } from './workspace';

export const EXAMPLE_PROJECTS = ['ml-base', 'ml-common', 'synth', 'churn'];
const repoRoot = join(__dirname, '..', '..', '..');

export function exampleMonorepo(repository: string): Workspace {
  const ws = freshWorkspace();
  for (const project of EXAMPLE_PROJECTS) {
    cpSync(
      join(repoRoot, 'examples', project),
      join(ws.root, 'examples', project),
      {
        recursive: true,
        filter: (p) => !/(__pycache__|\/models$|\/metrics$)/.test(p),
      },
    );
  }
  // Names and the Dockerfiles' ARG defaults (which also carry the graph edges) move together.
  const nxJsonPath = join(ws.root, 'nx.json');
  const nxJson = JSON.parse(readFileSync(nxJsonPath, 'utf8'));
  nxJson.plugins = [...(nxJson.plugins ?? []), '@ml/docker'];
  nxJson.targetDefaults = {
    ...nxJson.targetDefaults,
    'docker-build': { options: { repository } },
  };
  writeFileSync(nxJsonPath, JSON.stringify(nxJson, null, 2));
  for (const p of ['synth', 'churn']) {
    for (const image of ['training', 'inference']) {
      const file = join(ws.root, 'examples', p, 'docker', image, 'Dockerfile');
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace(/\/ml-images\//g, `/${repository}/`),
      );
    }
  }
  ws.commitAll('example monorepo');
  return ws;
}

/** The images in the build record of one of the example projects. */
export function buildRecord(
  root: string,
  project: string,
): ImageRecord[] | undefined {
  return recordedImagesAt(root, `examples/${project}`);
}

/** The images in the build record of the project at projectRoot (default outputPath). */
export function recordedImagesAt(
  root: string,
  projectRoot: string,
): ImageRecord[] | undefined {
  const file = join(root, 'dist', 'docker', projectRoot, 'build-record.json');
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, 'utf8')) as BuildRecord).images;
}

/** Removes every local image of the repository: what a fresh CI agent's engine holds of it. */
export function removeImagesOf(repository: string): void {
  for (const image of imagesOf(repository))
    docker(['rmi', '-f', image], { allowFail: true });
}
