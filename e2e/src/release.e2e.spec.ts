/**
 * `nx release` on two ML projects: our version actions take each project's
 * version from its packaging (pyproject.toml, setup.cfg) and write the new
 * one back; `nx release publish` tags the built images with it and pushes
 * them to the real registry, which then holds the version tags pointing at
 * the built images. A dry run says all that and changes nothing.
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import {
  docker,
  REGISTRY,
  registryManifest,
  run,
  uniqueId,
} from './support/run';
import { recordedImagesAt, removeImagesOf } from './support/example-monorepo';
import { freshWorkspace, Workspace } from './support/workspace';

describe('nx release versions and publishes the ML images', () => {
  const id = uniqueId('rel');
  const repository = `e2e-${id}`;
  const churn = { name: `churn-${id}`, root: `apps/churn-${id}` };
  const synth = { name: `synth-${id}`, root: `apps/synth-${id}` };
  let ws: Workspace;

  const read = (path: string) => readFileSync(join(ws.root, path), 'utf8');
  const git = (args: string[]) =>
    run('git', args, { cwd: ws.root }).stdout.trim();
  const imagesOf = (p: { root: string }) => recordedImagesAt(ws.root, p.root)!;
  /** The registry path of an image: `<repository>/<project>-<image>` under the registry host. */
  const pathOf = (name: string) => name.slice(REGISTRY.length + 1);
  const releaseRecord = (p: { root: string }) =>
    join(ws.root, 'dist/docker-release', p.root, 'release-record.json');

  beforeAll(() => {
    ws = freshWorkspace();
    const image = (project: string) => [
      `RUN echo ${project} > /srv/id`,
      'CMD ["cat", "/srv/id"]',
    ];
    ws.imageProject(churn.root, 'inference', image(churn.name), {});
    ws.write(
      `${churn.root}/pyproject.toml`,
      `[project]\nname = "churn"\nversion = "1.3.0"  # released by nx release\ndependencies = []\n`,
    );
    ws.imageProject(synth.root, 'training', image(synth.name), {});
    ws.write(
      `${synth.root}/pyproject.toml`,
      '[build-system]\nrequires = ["setuptools"]\n',
    );
    ws.write(
      `${synth.root}/setup.cfg`,
      '[metadata]\nname = synth\nversion = 1.0.0\n',
    );
    const nxJson = JSON.parse(read('nx.json'));
    ws.write(
      'nx.json',
      JSON.stringify(
        {
          ...nxJson,
          plugins: [...(nxJson.plugins ?? []), '@ml/docker'],
          targetDefaults: {
            ...nxJson.targetDefaults,
            'docker-build': { options: { repository } },
          },
          release: {
            groups: {
              'ml-images': {
                projects: [churn.name, synth.name],
                projectsRelationship: 'independent',
                version: {
                  versionActions: '@ml/docker/src/release/version-actions',
                  currentVersionResolver: 'disk',
                },
              },
            },
            changelog: { workspaceChangelog: false, projectChangelogs: false },
          },
        },
        null,
        2,
      ),
    );
    ws.commitAll('two ML projects');
    ws.nx([
      'run-many',
      '-t',
      'docker-build',
      `--projects=${churn.name},${synth.name}`,
      '--outputStyle=stream',
    ]);
  });

  afterAll(() => {
    removeImagesOf(repository);
    ws?.dispose();
  });

  it('nx release publish before any nx release version says to version first, and pushes nothing', async () => {
    const r = ws.nx(['release', 'publish'], { allowFail: true });
    expect(r.status).not.toBe(0);
    expect(r.all).toContain(
      `@ml/docker:release-publish: No release version for ${churn.name}: version it first with nx release version (or run nx release, which versions and publishes), then nx release publish.`,
    );
    expect(r.all).not.toMatch(/@ml\/docker: pushed /);
  });

  it('nx release --dry-run says what would be versioned, tagged and pushed, and changes nothing', async () => {
    const head = git(['rev-parse', 'HEAD']);
    const out = ws.nx([
      'release',
      'minor',
      '--dry-run',
      '--first-release',
      '--yes',
    ]).all;
    for (const [p, version] of [
      [churn, '1.4.0'],
      [synth, '1.1.0'],
    ] as const) {
      const [img] = imagesOf(p);
      expect(out).toContain(
        `[dry run] would tag and push ${img.name}:${version} (image ${img.imageId.slice(0, 19)})`,
      );
      expect((await registryManifest(pathOf(img.name), version)).status).toBe(
        404,
      );
      expect(existsSync(releaseRecord(p))).toBe(false);
      expect(
        docker(['image', 'inspect', `${img.name}:${version}`], {
          allowFail: true,
        }).status,
      ).not.toBe(0);
    }
    expect(out).toContain(
      `New version 1.4.0 written to ${churn.root}/pyproject.toml`,
    );
    expect(out).toContain(
      `New version 1.1.0 written to ${synth.root}/setup.cfg`,
    );
    expect(read(`${churn.root}/pyproject.toml`)).toContain(
      'version = "1.3.0"  # released',
    );
    expect(git(['rev-parse', 'HEAD'])).toBe(head);
    expect(git(['status', '--porcelain'])).toBe('');
    expect(git(['tag', '--list'])).toBe('');
  });

  it('nx release --skip-publish writes the new versions into each manifest in place, commits and tags them', () => {
    ws.nx(['release', 'minor', '--skip-publish', '--first-release']);
    expect(read(`${churn.root}/pyproject.toml`)).toBe(
      `[project]\nname = "churn"\nversion = "1.4.0"  # released by nx release\ndependencies = []\n`,
    );
    expect(read(`${synth.root}/setup.cfg`)).toBe(
      '[metadata]\nname = synth\nversion = 1.1.0\n',
    );
    expect(git(['status', '--porcelain'])).toBe('');
    expect(git(['tag', '--list']).split('\n').sort()).toEqual(
      [`${churn.name}@1.4.0`, `${synth.name}@1.1.0`].sort(),
    );
    expect(
      JSON.parse(readFileSync(releaseRecord(churn), 'utf8')),
    ).toMatchObject({
      imageVersion: '1.4.0',
      manifestVersion: '1.4.0',
    });
  });

  it('nx release publish without a build record says to build first, and pushes nothing', () => {
    const dist = join(ws.root, 'dist/docker', churn.root);
    renameSync(dist, `${dist}.away`);
    try {
      const r = ws.nx(['release', 'publish', `--projects=${churn.name}`], {
        allowFail: true,
      });
      expect(r.status).not.toBe(0);
      expect(r.all).toContain(
        `No build record at ${join(dist, 'build-record.json')}. Build the images first: nx run ${churn.name}:docker-build`,
      );
      expect(r.all).not.toMatch(/@ml\/docker: pushed /);
    } finally {
      renameSync(`${dist}.away`, dist);
    }
  });

  it('nx release publish pushes the version tags, which point at the built images', async () => {
    const out = ws.nx(['release', 'publish']).all;
    for (const [p, version] of [
      [churn, '1.4.0'],
      [synth, '1.1.0'],
    ] as const) {
      const [img] = imagesOf(p);
      const remote = await registryManifest(pathOf(img.name), version);
      expect(remote).toMatchObject({ status: 200, configDigest: img.imageId });
      expect(out).toContain(`pushed ${img.name}:${version} ${remote.digest}`);
      const pushRecord = JSON.parse(
        read(`dist/docker/${p.root}/push-record.json`),
      );
      expect(pushRecord.tags).toContainEqual({
        ref: `${img.name}:${version}`,
        digest: remote.digest,
        uploaded: true,
      });
    }
  });

  it('a second nx release publish uploads nothing', () => {
    const out = ws.nx(['release', 'publish']).all;
    for (const [p, version] of [
      [churn, '1.4.0'],
      [synth, '1.1.0'],
    ] as const) {
      const [img] = imagesOf(p);
      expect(out).toContain(`${img.name}:${version} already in the registry`);
    }
    expect(out).not.toMatch(/@ml\/docker: pushed /);
  });

  it('a released version is never moved: after a rebuild, publishing the same version again is refused', async () => {
    const [before] = imagesOf(churn);
    ws.write(
      `${churn.root}/docker/inference/Dockerfile`,
      read(`${churn.root}/docker/inference/Dockerfile`) + 'ENV CHANGED=1\n',
    );
    ws.nx(['run', `${churn.name}:docker-build`]);
    const [after] = imagesOf(churn);
    expect(after.imageId).not.toBe(before.imageId);
    const r = ws.nx(['release', 'publish', `--projects=${churn.name}`], {
      allowFail: true,
    });
    expect(r.status).not.toBe(0);
    expect(r.all).toMatch(
      new RegExp(
        `${after.name.replace(/[.]/g, '\\.')}:1\\.4\\.0 is already in the registry as another image \\(sha256:[0-9a-f]{64}\\): a released version is never moved\\. Release a new version \\(nx release\\)`,
      ),
    );
    expect(
      (await registryManifest(pathOf(after.name), '1.4.0')).configDigest,
    ).toBe(before.imageId);
  });

  it('with a version scheme, the images get the scheme tag and the manifests stay as they are', async () => {
    const nxJson = JSON.parse(read('nx.json'));
    nxJson.release.groups['ml-images'].version.versionActionsOptions = {
      versionSchemes: {
        nightly: 'nightly-{currentDate|YYYYMMDD}.{shortCommitSha}',
      },
    };
    ws.write('nx.json', JSON.stringify(nxJson, null, 2));
    ws.commitAll('a nightly version scheme');
    const manifests = [
      read(`${churn.root}/pyproject.toml`),
      read(`${synth.root}/setup.cfg`),
    ];
    const tag = `nightly-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}.${git(['rev-parse', '--short=7', 'HEAD'])}`;
    const out = ws.nx(['release', 'version', 'patch']).all;
    expect(out).toContain(`Image version ${tag} from version scheme "nightly"`);
    expect([
      read(`${churn.root}/pyproject.toml`),
      read(`${synth.root}/setup.cfg`),
    ]).toEqual(manifests);
    ws.nx(['release', 'publish']);
    for (const p of [churn, synth]) {
      const [img] = imagesOf(p);
      expect(await registryManifest(pathOf(img.name), tag)).toMatchObject({
        status: 200,
        configDigest: img.imageId,
      });
    }
  });
});
