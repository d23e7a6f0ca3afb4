import { readNxJson, Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { parse } from 'yaml';
import { ciGenerator } from './ci';

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  on: { push: { branches: string[] }; pull_request: unknown };
  permissions: Record<string, string>;
  env: Record<string, string>;
  jobs: { images: { steps: Step[] } };
}

describe('ci generator', () => {
  let tree: Tree;
  let workflow: Workflow;
  let text: string;

  beforeEach(async () => {
    tree = createTreeWithEmptyWorkspace();
    await ciGenerator(tree, {
      gcpProject: 'deepmlhub-voiceoffers',
      skipFormat: true,
    });
    text = tree.read('.github/workflows/docker-images.yml', 'utf-8')!;
    workflow = parse(text) as Workflow;
  });

  const steps = () => workflow.jobs.images.steps;
  const index = (pred: (s: Step) => boolean) => steps().findIndex(pred);

  it('runs on pushes to main and on pull requests', () => {
    expect(workflow.on.push.branches).toEqual(['main']);
    expect(workflow.on).toHaveProperty('pull_request');
  });

  it('checks out the full history, which nx affected needs', () => {
    expect(
      steps().find((s) => s.uses?.startsWith('actions/checkout'))?.with,
    ).toEqual({ 'fetch-depth': 0 });
  });

  it('sets the base and head SHAs before nx affected runs', () => {
    const shas = index((s) => !!s.uses?.startsWith('nrwl/nx-set-shas'));
    const push = index((s) => !!s.run?.includes('nx affected -t docker-push'));
    expect(shas).toBeGreaterThan(-1);
    expect(push).toBeGreaterThan(shas);
    expect(steps()[push].run).toContain(
      '--base=${{ env.NX_BASE }} --head=${{ env.NX_HEAD }}',
    );
  });

  it('authenticates to Google Cloud by workload identity, with no key in the repository', () => {
    expect(workflow.permissions['id-token']).toBe('write');
    const auth = steps().find((s) =>
      s.uses?.startsWith('google-github-actions/auth'),
    );
    expect(auth?.with).toEqual({
      workload_identity_provider: '${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}',
      service_account: '${{ vars.GCP_SERVICE_ACCOUNT }}',
    });
    expect(text).not.toMatch(/credentials_json|private_key/);
    // The only secrets it reads are Nx's remote cache token and a private index, when set.
    expect(text.match(/secrets\.\w+/g)).toEqual([
      'secrets.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN',
      'secrets.PIP_INDEX_URL',
    ]);
    expect(
      steps().some(
        (s) =>
          s.run ===
          'gcloud auth configure-docker us-central1-docker.pkg.dev --quiet',
      ),
    ).toBe(true);
  });

  it('pushes only on push events and tests on the others', () => {
    const push = steps().find((s) => s.run?.includes('-t docker-push'));
    const test = steps().find((s) => s.run?.includes('-t docker-test'));
    expect(push?.if).toBe("github.event_name == 'push'");
    expect(test?.if).toBe("github.event_name != 'push'");
  });

  it('points the images at Artifact Registry: registry in the workflow, repository in nx.json', () => {
    expect(workflow.env.ML_DOCKER_REGISTRY).toBe(
      'us-central1-docker.pkg.dev/deepmlhub-voiceoffers',
    );
    expect(
      (
        readNxJson(tree)?.targetDefaults?.['@ml/docker:build'] as {
          options?: unknown;
        }
      )?.options,
    ).toEqual({
      repository: 'ml-images',
      cache: { type: 'registry' },
      secrets: { 'pip-index-url': { env: 'PIP_INDEX_URL' } },
    });
  });

  it.each([
    [{ gcpProject: 'X' }, '--gcpProject "X" is not a Google Cloud project ID'],
    [
      { gcpProject: 'my-project', region: 'moon' },
      '--region "moon" is not a Google Cloud region',
    ],
    [
      { gcpProject: 'my-project', branch: 'main; rm -rf /' },
      '--branch "main; rm -rf /" may hold only',
    ],
  ])('refuses %j', async (options, message) => {
    const fresh = createTreeWithEmptyWorkspace();
    await expect(
      ciGenerator(fresh, { skipFormat: true, ...options }),
    ).rejects.toThrow(message);
    expect(fresh.exists('.github/workflows/docker-images.yml')).toBe(false);
  });

  describe('a private Python index', () => {
    const noBuildArgs = (t: string) => {
      expect(t).not.toMatch(/buildArgs|--build-arg/);
    };

    it('takes it from the repository secret PIP_INDEX_URL into the build secret, never a build arg', () => {
      expect(workflow.env.PIP_INDEX_URL).toBe('${{ secrets.PIP_INDEX_URL }}');
      noBuildArgs(text);
    });

    it('logs pip into an Artifact Registry Python repository with an access token from the workload-identity login, masked', async () => {
      const fresh = createTreeWithEmptyWorkspace();
      await ciGenerator(fresh, {
        gcpProject: 'deepmlhub-voiceoffers',
        region: 'europe-west4',
        pythonRepository: 'ml-python',
        skipFormat: true,
      });
      const t = fresh.read('.github/workflows/docker-images.yml', 'utf-8')!;
      const wf = parse(t) as Workflow;
      const all = wf.jobs.images.steps;
      const auth = all.findIndex((s) =>
        s.uses?.startsWith('google-github-actions/auth'),
      );
      const login = all.findIndex((s) => s.run?.includes('print-access-token'));
      const build = all.findIndex((s) => s.run?.includes('nx affected'));
      expect(auth).toBeGreaterThan(-1);
      expect(login).toBeGreaterThan(auth);
      expect(build).toBeGreaterThan(login);
      expect(all[login].run!.split('\n')).toEqual([
        'token="$(gcloud auth print-access-token)"',
        'echo "::add-mask::$token"',
        'echo "PIP_INDEX_URL=https://oauth2accesstoken:${token}@europe-west4-python.pkg.dev/deepmlhub-voiceoffers/ml-python/simple/" >> "$GITHUB_ENV"',
        '',
      ]);
      expect(wf.env.PIP_INDEX_URL).toBeUndefined();
      noBuildArgs(t);
    });

    it('refuses a Python repository name with other characters', async () => {
      await expect(
        ciGenerator(createTreeWithEmptyWorkspace(), {
          gcpProject: 'my-project',
          pythonRepository: 'a b',
          skipFormat: true,
        }),
      ).rejects.toThrow('--pythonRepository "a b" may hold only');
    });
  });

  it('refuses to overwrite an existing workflow', async () => {
    await expect(
      ciGenerator(tree, { gcpProject: 'other-project', skipFormat: true }),
    ).rejects.toThrow('exists already');
  });

  describe('layer and task caches on a fresh runner', () => {
    it('sets up a buildx builder that exports cache before anything builds', () => {
      const buildx = steps().findIndex((s) =>
        s.uses?.startsWith('docker/setup-buildx-action'),
      );
      const push = steps().findIndex((s) => s.run?.includes('affected -t'));
      expect(buildx).toBeGreaterThan(-1);
      expect(buildx).toBeLessThan(push);
    });

    it('shares Nx task results through the self-hosted remote cache variables', () => {
      expect(workflow.env).toMatchObject({
        NX_SELF_HOSTED_REMOTE_CACHE_SERVER:
          '${{ vars.NX_SELF_HOSTED_REMOTE_CACHE_SERVER }}',
        NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN:
          '${{ secrets.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN }}',
      });
    });

    it.each([
      ['registry', undefined, false],
      ['gha', 'gha', true],
    ] as const)(
      'with --cache=%s the build option says so, and the gha runtime step is there only for gha',
      async (type, option, runtimeStep) => {
        const t = createTreeWithEmptyWorkspace();
        await ciGenerator(t, { gcpProject: 'my-ml-project', cache: option });
        const wf = parse(
          t.read('.github/workflows/docker-images.yml', 'utf-8')!,
        );
        expect(
          (
            readNxJson(t)!.targetDefaults!['@ml/docker:build'] as {
              options: { cache: unknown };
            }
          ).options.cache,
        ).toEqual({ type });
        expect(
          wf.jobs.images.steps.some((s: { uses?: string }) =>
            s.uses?.startsWith('crazy-max/ghaction-github-runtime'),
          ),
        ).toBe(runtimeStep);
      },
    );

    it('refuses an unknown cache type', async () => {
      await expect(
        ciGenerator(createTreeWithEmptyWorkspace(), {
          gcpProject: 'my-ml-project',
          cache: 'local' as never,
        }),
      ).rejects.toThrow('--cache must be registry or gha (got "local").');
    });
  });

  describe('the release flow', () => {
    interface ReleaseWorkflow {
      on: Record<string, { branches?: string[]; tags?: string[] } | null>;
      jobs: Record<string, { if?: string; steps: Step[] }>;
    }
    const generate = async (options: Record<string, string> = {}) => {
      const t = createTreeWithEmptyWorkspace();
      await ciGenerator(t, {
        gcpProject: 'acme-dev',
        prodRepository: 'ml-prod',
        skipFormat: true,
        ...options,
      });
      return {
        tree: t,
        wf: parse(
          t.read('.github/workflows/docker-images.yml', 'utf-8')!,
        ) as ReleaseWorkflow,
      };
    };

    it('is absent unless a production repository is named', () => {
      expect(Object.keys(workflow.jobs)).toEqual(['images']);
      expect(workflow.on).not.toHaveProperty('workflow_dispatch');
      expect(readNxJson(tree)?.plugins ?? []).toEqual([]);
    });

    it('pushes to dev on the branch, and promotes by digest to prod on a v* tag or a manual run', async () => {
      const { wf } = await generate();
      expect(wf.on.push).toEqual({ branches: ['main'], tags: ['v*'] });
      expect(wf.on).toHaveProperty('workflow_dispatch');
      // A tag push is no branch push: it must not push images again.
      expect(wf.jobs.images.if).toBe(
        "github.event_name == 'pull_request' || github.ref == 'refs/heads/main'",
      );
      const release = wf.jobs.release;
      expect(release.if).toBe(
        "startsWith(github.ref, 'refs/tags/v') || github.event_name == 'workflow_dispatch'",
      );
      const runs = release.steps.filter((s) => s.run).map((s) => s.run);
      expect(runs.slice(-2)).toEqual([
        'npx nx run-many -t docker-push',
        'npx nx run-many -t docker-promote --from=dev --to=prod',
      ]);
      expect(
        release.steps.findIndex((s) =>
          s.uses?.startsWith('google-github-actions/auth'),
        ),
      ).toBeLessThan(
        release.steps.findIndex((s) => s.run?.includes('docker-promote')),
      );
    });

    it.each([
      ['the same project', {}, 'acme-dev'],
      ['its own project', { prodGcpProject: 'acme-prod' }, 'acme-prod'],
    ])(
      'names dev and prod in the plugin options, prod in %s',
      async (_label, options, project) => {
        const { tree: t } = await generate(options);
        expect(readNxJson(t)?.plugins).toEqual([
          {
            plugin: '@ml/docker',
            options: {
              environments: {
                dev: {
                  registry: 'us-central1-docker.pkg.dev/acme-dev/ml-images',
                },
                prod: {
                  registry: `us-central1-docker.pkg.dev/${project}/ml-prod`,
                },
              },
            },
          },
        ]);
      },
    );

    it("keeps the plugin's other options and environments", async () => {
      const t = createTreeWithEmptyWorkspace();
      t.write(
        'nx.json',
        JSON.stringify({
          plugins: [
            '@nx/js',
            {
              plugin: '@ml/docker',
              options: {
                testTargetName: 'smoke',
                environments: { staging: { registry: 'r/s' } },
              },
            },
          ],
        }),
      );
      await ciGenerator(t, {
        gcpProject: 'acme-dev',
        prodRepository: 'ml-prod',
        skipFormat: true,
      });
      const plugins = readNxJson(t)!.plugins!;
      expect(plugins[0]).toBe('@nx/js');
      expect(plugins[1]).toMatchObject({
        options: {
          testTargetName: 'smoke',
          environments: {
            staging: { registry: 'r/s' },
            dev: expect.anything(),
            prod: expect.anything(),
          },
        },
      });
      // The renamed test target is what the release job runs before promoting.
      expect(t.read('.github/workflows/docker-images.yml', 'utf-8')).toContain(
        'npx nx run-many -t docker-promote --from=dev --to=prod',
      );
    });

    it.each([
      [
        { prodRepository: 'ml prod' },
        '--prodRepository "ml prod" may hold only letters, digits and . _ -.',
      ],
      [
        { prodGcpProject: 'X' },
        '--prodGcpProject "X" is not a Google Cloud project ID',
      ],
    ])('refuses %j', async (options, message) => {
      await expect(generate(options)).rejects.toThrow(message);
    });
  });
});
