/**
 * Many machines: agent A builds, tests and pushes; agent B (a second clone,
 * an engine without those images, the same Nx remote cache and registry)
 * gets Nx cache hits for every build, pulls the content tags instead of
 * rebuilding, and uploads nothing twice.
 */
import { docker, imageIdOf, uniqueId } from './support/run';
import {
  buildRecord,
  exampleMonorepo,
  removeImagesOf,
} from './support/example-monorepo';
import { RemoteCache, startRemoteCache } from './support/remote-cache-server';
import { cloneWorkspace, Workspace } from './support/workspace';

const BUILT = ['ml-base', 'ml-common', 'synth'];

describe('two CI agents sharing an Nx remote cache and a registry', () => {
  const repository = `e2e-${uniqueId('agents')}`;
  let cache: RemoteCache;
  let agentA: Workspace;
  let agentB: Workspace;
  let outputB: string;
  const env = () => ({
    NX_SELF_HOSTED_REMOTE_CACHE_SERVER: cache.url,
    NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: cache.token,
  });

  beforeAll(async () => {
    cache = await startRemoteCache(uniqueId('token'));
    agentA = exampleMonorepo(repository);
  });

  afterAll(async () => {
    removeImagesOf(repository);
    agentA?.dispose();
    agentB?.dispose();
    await cache?.close();
  });

  it('agent A builds, tests and pushes synth and the images it builds on, filling the remote cache', async () => {
    agentA.nx(['run', 'synth:docker-push'], { env: env() });
    for (const p of BUILT) expect(buildRecord(agentA.root, p)).toBeDefined();
    expect((await cache.stats()).stores).toBeGreaterThan(0);
  });

  it("agent B's engine has none of those images", () => {
    removeImagesOf(repository);
    for (const p of BUILT) {
      for (const image of buildRecord(agentA.root, p)!) {
        // By ID as well: whatever other name the same image may carry on this engine.
        docker(['rmi', '-f', image.imageId], { allowFail: true });
        expect(
          docker(['image', 'inspect', image.imageId], { allowFail: true })
            .status,
        ).not.toBe(0);
      }
    }
  });

  it('agent B gets every build from the remote cache: no engine build', async () => {
    agentB = cloneWorkspace(agentA);
    const hitsBefore = (await cache.stats()).hits;
    outputB = agentB.nx(['run', 'synth:docker-push'], { env: env() }).all;
    const tasks = outputB.split('\n').filter((l) => /^> nx run /.test(l));
    expect({
      remoteHits: (await cache.stats()).hits > hitsBefore,
      tasks,
    }).toEqual({ remoteHits: true, tasks: expect.any(Array) });
    for (const p of BUILT) {
      // Restored records, byte for byte: the same builds, not new ones.
      expect(buildRecord(agentB.root, p)).toEqual(buildRecord(agentA.root, p));
    }
    for (const task of [
      'ml-base:docker-build',
      'ml-common:docker-build',
      'synth:docker-build',
      'synth:docker-train',
    ]) {
      expect(outputB).toMatch(
        new RegExp(`> nx run ${task}\\s+\\[remote cache\\]`),
      );
    }
  });

  it("agent B's docker-test pulled the content tags it needed, the very images A built", () => {
    for (const image of buildRecord(agentB.root, 'synth')!) {
      const contentTag = image.tags.find((t) => t.startsWith('nx-'));
      expect(outputB).toContain(
        `pulled ${image.name}:${contentTag} from the registry`,
      );
      expect(imageIdOf(`${image.name}:${contentTag}`)).toBe(
        image.imageId,
      );
    }
    expect(outputB).toMatch(
      /inference passed: healthy in \d+ ms, ready in \d+ ms/,
    );
    expect(outputB).toMatch(/training passed: exit 0/);
  });

  it('agent B uploads nothing: every tag is already in the registry', () => {
    expect(outputB).toContain('already in the registry');
    expect(outputB).not.toMatch(/@ml\/docker: pushed /);
  });
});
