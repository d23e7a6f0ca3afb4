/**
 * @ml/docker next to Nx's own @nx/docker, which infers targets from every
 * **\/Dockerfile: with the exclude the README gives, each Dockerfile has one
 * owner and the graph is valid.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshWorkspace, Workspace } from './support/workspace';

describe('@ml/docker registered together with @nx/docker', () => {
  let ws: Workspace;

  const setPlugins = (plugins: unknown[]) => {
    const file = join(ws.root, 'nx.json');
    const nxJson = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...nxJson, plugins }, null, 2));
  };
  const showProject = (project: string) =>
    JSON.parse(ws.nx(['show', 'project', project, '--json']).stdout);
  const publishExecutorOf = (project: string) =>
    showProject(project).targets['nx-release-publish']?.executor;
  const targetsOf = (project: string) =>
    Object.keys(
      JSON.parse(ws.nx(['show', 'project', project, '--json']).stdout).targets,
    ).sort();

  beforeAll(() => {
    ws = freshWorkspace();
    ws.write(
      'apps/model/project.json',
      JSON.stringify({ name: 'model', root: 'apps/model' }),
    );
    ws.write(
      'apps/model/docker/training/Dockerfile',
      'FROM python:3.10-slim\n',
    );
    ws.write(
      'apps/model/docker/inference/Dockerfile',
      'FROM python:3.10-slim\n',
    );
    ws.write(
      'apps/web/project.json',
      JSON.stringify({ name: 'web', root: 'apps/web' }),
    );
    ws.write('apps/web/Dockerfile', 'FROM nginx:1.27\n');
  });

  afterAll(() => ws?.dispose());

  it('without an exclude, @nx/docker turns docker/<image>/ folders into nameless projects', () => {
    setPlugins(['@nx/docker', '@ml/docker']);
    const r = ws.nx(['show', 'projects'], { allowFail: true });
    expect(r.status).not.toBe(0);
    expect(r.all).toContain('apps/model/docker/training');
  });

  it('with the exclude, each Dockerfile has one owner and both plugins infer their targets', () => {
    setPlugins([
      { plugin: '@nx/docker', exclude: ['**/docker/*/Dockerfile'] },
      '@ml/docker',
    ]);
    const projects = ws
      .nx(['show', 'projects'])
      .stdout.split('\n')
      .filter(Boolean)
      .sort();
    expect(projects).toEqual(expect.arrayContaining(['model', 'web']));
    expect(
      projects.some((p) => p.includes('training') || p.includes('inference')),
    ).toBe(false);
    expect(targetsOf('model')).toEqual([
      'docker-build',
      'docker-promote',
      'docker-push',
      'docker-test',
      'nx-release-publish',
    ]);
    expect(targetsOf('web')).toContain('docker:build');
    // One publish target per project, each plugin's on its own projects.
    expect(publishExecutorOf('model')).toBe('@ml/docker:release-publish');
    expect(publishExecutorOf('web')).toBe('@nx/docker:release-publish');
  });

  it("nx release versions each group with its own plugin: @nx/docker's image versioning leaves the ML project alone", () => {
    setPlugins([
      { plugin: '@nx/docker', exclude: ['**/docker/*/Dockerfile'] },
      '@ml/docker',
    ]);
    ws.write(
      'apps/model/pyproject.toml',
      '[project]\nname = "model"\nversion = "0.1.0"\n',
    );
    const file = join(ws.root, 'nx.json');
    const nxJson = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(
      file,
      JSON.stringify(
        {
          ...nxJson,
          release: {
            groups: {
              web: {
                projects: ['web'],
                // @nx/docker's own way: no version actions, a version scheme.
                docker: {
                  skipVersionActions: true,
                  versionSchemes: { production: 'web-{shortCommitSha}' },
                },
              },
              'ml-images': {
                projects: ['model'],
                projectsRelationship: 'independent',
                version: {
                  versionActions: '@ml/docker/src/release/version-actions',
                  currentVersionResolver: 'disk',
                },
              },
            },
          },
        },
        null,
        2,
      ),
    );
    ws.commitAll('release groups for both plugins');
    // @nx/docker reads its dry run from NX_DRY_RUN; without it, it would run docker tag.
    const out = ws.nx(['release', 'version', '0.2.0', '--dry-run'], {
      env: { NX_DRY_RUN: 'true' },
    }).all;
    expect(out).toContain(
      'New version 0.2.0 written to apps/model/pyproject.toml',
    );
    expect(out).toMatch(/Image would be tagged with apps-web:web-[0-9a-f]{7}/);
    // Before our targets stopped declaring "docker", @nx/docker tagged this project too.
    expect(out).not.toContain('apps-model');
  });
});
