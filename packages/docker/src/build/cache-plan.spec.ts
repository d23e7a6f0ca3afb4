import {
  BUILDCACHE_TAG,
  CacheOptions,
  CachePlan,
  cachePlan,
} from './cache-plan';
import { BuildMode, Engine } from '../engine/engine';
import { ImageName } from '../registry/image-ref';

type EngineLike = Pick<Engine, 'mode' | 'buildxDriver'>;

const LOCAL: ImageName = {
  registry: '127.0.0.1:5000',
  path: 'ml-images/synth-inference',
};
const REMOTE: ImageName = {
  registry: 'us-central1-docker.pkg.dev/my-gcp-project',
  path: 'ml-images/synth-inference',
};
const L = '127.0.0.1:5000/ml-images/synth-inference';
const R = 'us-central1-docker.pkg.dev/my-gcp-project/ml-images/synth-inference';

/** The generated layout: a library stage that only copies, a builder that installs, the runtime. */
const DOCKERFILE = [
  'ARG BASE_IMAGE=python:3.10-slim',
  'ARG ML_COMMON_IMAGE=127.0.0.1:5000/ml-images/ml-common-lib:latest',
  'FROM ${ML_COMMON_IMAGE} AS ml-common',
  'FROM ${BASE_IMAGE} AS builder',
  'RUN python3 -m venv /opt/venv',
  'COPY requirements.txt ./',
  'RUN /opt/venv/bin/pip install -r requirements.txt',
  'FROM ${BASE_IMAGE} AS runtime',
  'COPY --from=builder /opt/venv /opt/venv',
  'COPY --from=ml-common /python/ ./',
  'CMD ["python"]',
  '',
].join('\n');

const engine = (mode: BuildMode, buildxDriver?: string): EngineLike => ({
  mode,
  buildxDriver,
});

const options = (o: Partial<CacheOptions> = {}): CacheOptions => ({
  registryCache: true,
  tagsLatest: true,
  ...o,
});

const none = (describe: string): CachePlan => ({
  mode: 'none',
  describe,
  cacheFrom: [],
  cacheTo: [],
  buildArgs: {},
  stages: [],
});

const ENGINES: Array<[string, EngineLike]> = [
  ['buildx, docker-container driver', engine('buildx', 'docker-container')],
  ['buildx, remote driver', engine('buildx', 'remote')],
  ['buildx, kubernetes driver', engine('buildx', 'kubernetes')],
  ['buildx, docker driver', engine('buildx', 'docker')],
  ['buildx, driver unknown', engine('buildx')],
  ["the engine's BuildKit", engine('buildkit')],
  ['the classic builder', engine('classic')],
  ['podman', engine('podman')],
];

const CACHE_TYPES: Array<[string, CacheOptions['cache']]> = [
  ['no cache option', undefined],
  ['cache type registry', { type: 'registry' }],
  ['cache type gha', { type: 'gha' }],
  ['cache type local', { type: 'local' }],
];

/** What the engine line adds when the builder cannot give the cache type asked for. */
const unavailable = (cache: CacheOptions['cache']) =>
  cache && cache.type !== 'registry'
    ? ` (cache type ${cache.type} needs a buildx builder that exports cache, e.g. docker-container; this one uses the registry)`
    : '';

describe('cachePlan', () => {
  describe('registryCache: false', () => {
    it.each(
      ENGINES.flatMap(([e, eng]) =>
        CACHE_TYPES.map(([c, cache]) => [e, c, eng, cache] as const),
      ),
    )('uses no cache on %s with %s', (_e, _c, eng, cache) => {
      expect(
        cachePlan(
          eng,
          LOCAL,
          DOCKERFILE,
          options({ registryCache: false, cache }),
        ),
      ).toEqual(none('no registry cache (registryCache: false)'));
    });
  });

  describe('the classic builder', () => {
    it.each(CACHE_TYPES)('uses no cache with %s', (_c, cache) => {
      expect(
        cachePlan(engine('classic'), LOCAL, DOCKERFILE, options({ cache })),
      ).toEqual(
        none(
          'no registry cache (the classic builder can neither read nor write one)',
        ),
      );
    });
  });

  describe('podman', () => {
    it.each(
      [LOCAL, REMOTE].flatMap((repo) =>
        CACHE_TYPES.map(
          ([c, cache]) => [repo.registry, c, repo, cache] as const,
        ),
      ),
    )(
      'keeps every layer at <image>-buildcache on %s, with %s (podman has only that kind, and says so)',
      (_r, _c, repo, cache) => {
        const ref = `${repo.registry}/${repo.path}-buildcache`;
        expect(
          cachePlan(engine('podman'), repo, DOCKERFILE, options({ cache })),
        ).toEqual({
          mode: 'podman',
          describe: `registry cache: every layer (podman --layers) at ${ref}${unavailable(cache)}`,
          cacheFrom: [ref],
          cacheTo: [ref],
          buildArgs: {},
          stages: [],
        });
      },
    );
  });

  describe('buildx with a driver that exports cache', () => {
    const EXPORTING = ENGINES.slice(0, 3);

    const REGISTRIES: Array<[string, ImageName, string, string]> = [
      [
        'a loopback registry (plain HTTP)',
        LOCAL,
        `${L}:buildcache`,
        ',registry.insecure=true',
      ],
      ['a remote registry', REMOTE, `${R}:buildcache`, ''],
    ];

    it.each(
      EXPORTING.flatMap(([e, eng]) =>
        REGISTRIES.flatMap(([r, repo, ref, insecure]) =>
          CACHE_TYPES.slice(0, 2).map(
            ([c, cache]) => [e, r, c, eng, repo, ref, insecure, cache] as const,
          ),
        ),
      ),
    )(
      'on %s, caches every stage at <image>:buildcache in %s, with %s',
      (_e, _r, _c, eng, repo, ref, insecure, cache) => {
        expect(cachePlan(eng, repo, DOCKERFILE, options({ cache }))).toEqual({
          mode: 'registry',
          describe: `registry cache: every stage (mode=max) at ${ref}`,
          cacheFrom: [`type=registry,ref=${ref}${insecure}`],
          cacheTo: [`type=registry,ref=${ref},mode=max${insecure}`],
          buildArgs: {},
          stages: [],
        });
      },
    );

    it.each(
      EXPORTING.flatMap(([e, eng]) =>
        [
          [undefined, 'ml-images/synth-inference'],
          ['main-synth', 'main-synth'],
        ].map(([scope, expected]) => [e, expected, eng, scope] as const),
      ),
    )(
      'on %s, caches in GitHub Actions under scope %s',
      (_e, scope, eng, given) => {
        expect(
          cachePlan(
            eng,
            REMOTE,
            DOCKERFILE,
            options({ cache: { type: 'gha', scope: given } }),
          ),
        ).toEqual({
          mode: 'gha',
          describe: `GitHub Actions cache: every stage (mode=max), scope ${scope}`,
          cacheFrom: [`type=gha,scope=${scope}`],
          cacheTo: [`type=gha,scope=${scope},mode=max`],
          buildArgs: {},
          stages: [],
        });
      },
    );

    it.each(
      EXPORTING.flatMap(([e, eng]) =>
        [
          [undefined, '.nx/cache/ml-docker-buildcache'],
          ['/tmp/buildcache', '/tmp/buildcache'],
        ].map(([dest, expected]) => [e, expected, eng, dest] as const),
      ),
    )('on %s, caches in the folder %s', (_e, dest, eng, given) => {
      expect(
        cachePlan(
          eng,
          LOCAL,
          DOCKERFILE,
          options({ cache: { type: 'local', dest: given } }),
        ),
      ).toEqual({
        mode: 'local',
        describe: `local cache: every stage (mode=max) in ${dest}`,
        cacheFrom: [`type=local,src=${dest}`],
        cacheTo: [`type=local,dest=${dest},mode=max`],
        buildArgs: {},
        stages: [],
      });
    });

    it('ignores tagsLatest and the target: mode=max already holds every stage', () => {
      const eng = engine('buildx', 'docker-container');
      expect(
        cachePlan(
          eng,
          LOCAL,
          DOCKERFILE,
          options({ tagsLatest: false, target: 'builder' }),
        ),
      ).toEqual(cachePlan(eng, LOCAL, DOCKERFILE, options()));
    });
  });

  describe('an engine that exports no cache: inline cache, per stage', () => {
    const INLINE = ENGINES.slice(3, 6);

    it.each(
      INLINE.flatMap(([e, eng]) =>
        CACHE_TYPES.map(([c, cache]) => [e, c, eng, cache] as const),
      ),
    )(
      'on %s with %s, builds the builder as <image>:buildcache-builder and reads it and latest back (saying when a gha or local cache cannot be had)',
      (_e, _c, eng, cache) => {
        expect(cachePlan(eng, LOCAL, DOCKERFILE, options({ cache }))).toEqual({
          mode: 'inline-stages',
          describe: `registry cache: inline, per stage (builder as ${L}:${BUILDCACHE_TAG}-<stage>, and the image itself)${unavailable(cache)}`,
          cacheFrom: [`${L}:buildcache-builder`, `${L}:latest`],
          cacheTo: [],
          buildArgs: { BUILDKIT_INLINE_CACHE: '1' },
          stages: [{ stage: 'builder', ref: `${L}:buildcache-builder` }],
        });
      },
    );

    it('reads no latest back when the build does not tag latest', () => {
      expect(
        cachePlan(
          engine('buildkit'),
          REMOTE,
          DOCKERFILE,
          options({ tagsLatest: false }),
        ).cacheFrom,
      ).toEqual([`${R}:buildcache-builder`]);
    });

    it('needs no insecure flag for a loopback registry: the engine allows it', () => {
      const plan = cachePlan(engine('buildkit'), LOCAL, DOCKERFILE, options());
      expect([...plan.cacheFrom, ...plan.cacheTo].join(' ')).not.toContain(
        'insecure',
      );
    });

    it('has no stage images for a single-stage Dockerfile, only the image itself', () => {
      expect(
        cachePlan(
          engine('buildkit'),
          LOCAL,
          'FROM python:3.10-slim\nRUN pip install x\n',
          options(),
        ),
      ).toEqual({
        mode: 'inline-stages',
        describe: 'registry cache: inline (the image itself)',
        cacheFrom: [`${L}:latest`],
        cacheTo: [],
        buildArgs: { BUILDKIT_INLINE_CACHE: '1' },
        stages: [],
      });
    });

    it('caches the stages the target needs, in build order', () => {
      const text = [
        'FROM python:3.10-slim AS deps',
        'RUN pip install -r requirements.txt',
        'FROM deps AS builder',
        'RUN pip wheel .',
        'FROM python:3.10-slim AS tests',
        'COPY --from=builder /wheels /wheels',
        'RUN pytest',
        'FROM python:3.10-slim AS runtime',
        'COPY --from=builder /wheels /wheels',
        '',
      ].join('\n');
      expect(
        cachePlan(engine('buildkit'), LOCAL, text, options()).stages,
      ).toEqual([
        { stage: 'deps', ref: `${L}:buildcache-deps` },
        { stage: 'builder', ref: `${L}:buildcache-builder` },
      ]);
      expect(
        cachePlan(engine('buildkit'), LOCAL, text, options({ target: 'deps' }))
          .stages,
      ).toEqual([]);
      expect(
        cachePlan(engine('buildkit'), LOCAL, text, options({ target: 'tests' }))
          .describe,
      ).toBe(
        `registry cache: inline, per stage (deps, builder as ${L}:buildcache-<stage>, and the image itself)`,
      );
    });
  });
});
