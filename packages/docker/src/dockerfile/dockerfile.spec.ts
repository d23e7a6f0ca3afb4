import {
  cacheableStages,
  contextSources,
  declaredArgs,
  ImageUse,
  imageUses,
  labelValue,
  repositoryPathOf,
  Stage,
  stagesOf,
} from './dockerfile';

describe('declaredArgs', () => {
  it.each([
    [
      'a bare ARG',
      'FROM python:3.10-slim\nARG PIP_INDEX_URL\n',
      ['PIP_INDEX_URL'],
    ],
    [
      'an ARG with a default',
      'ARG BASE_IMAGE=python:3.10-slim\nFROM ${BASE_IMAGE}\n',
      ['BASE_IMAGE'],
    ],
    [
      'a quoted default with spaces',
      'FROM scratch\nARG BUILD_PACKAGES="build-essential git"\n',
      ['BUILD_PACKAGES'],
    ],
    ['an empty default', 'FROM scratch\nARG SOURCE=""\n', ['SOURCE']],
    ['a lowercase keyword', 'FROM scratch\narg lower\n', ['lower']],
    [
      'a line continuation',
      'FROM scratch\nARG \\\n  CONTINUED=1\n',
      ['CONTINUED'],
    ],
    [
      'ARGs in several stages',
      'ARG A\nFROM x AS one\nARG B\nFROM y AS two\nARG C=3\n',
      ['A', 'B', 'C'],
    ],
    [
      'several names in one ARG',
      'FROM x\nARG OTHER=y BASE_IMAGE=x\n',
      ['OTHER', 'BASE_IMAGE'],
    ],
    [
      'an ARG repeated in two stages',
      'FROM x AS one\nARG A\nFROM y\nARG A\n',
      ['A'],
    ],
  ])('reads %s', (_label, text, names) => {
    expect([...declaredArgs(text)].sort()).toEqual([...names].sort());
  });

  it.each([
    ['a commented-out ARG', 'FROM scratch\n# ARG HIDDEN=1\n'],
    ['ENV, which is not an ARG', 'FROM scratch\nENV PORT=8000\n'],
    ['an ARG in a RUN command', 'FROM scratch\nRUN echo ARG X=1\n'],
    ['an empty file', ''],
  ])('ignores %s', (_label, text) => {
    expect(declaredArgs(text).size).toBe(0);
  });

  it('reads the BASE_IMAGE of the generated Dockerfile layout', () => {
    const text = [
      'ARG BASE_IMAGE=python:3.10-slim',
      'FROM ${BASE_IMAGE} AS builder',
      'ARG BUILD_PACKAGES=""',
      'ARG PIP_INDEX_URL',
      'FROM ${BASE_IMAGE} AS runtime',
      'ARG SOURCE=""',
      '',
    ].join('\n');
    expect(declaredArgs(text)).toEqual(
      new Set(['BASE_IMAGE', 'BUILD_PACKAGES', 'PIP_INDEX_URL', 'SOURCE']),
    );
  });
});

describe('imageUses', () => {
  const ML_BASE = '127.0.0.1:5000/ml-images/ml-base:latest';
  const ML_COMMON = '127.0.0.1:5000/ml-images/ml-common-lib:latest';

  it.each<[string, string, ImageUse[]]>([
    [
      'a FROM naming an image',
      'FROM python:3.10-slim\n',
      [{ ref: 'python:3.10-slim', via: 'FROM', arg: undefined }],
    ],
    [
      'a FROM through a global ARG default',
      `ARG BASE_IMAGE=${ML_BASE}\nFROM \${BASE_IMAGE}\n`,
      [{ ref: ML_BASE, via: 'FROM', arg: 'BASE_IMAGE' }],
    ],
    [
      'a FROM through a global ARG without braces',
      `ARG BASE_IMAGE=${ML_BASE}\nFROM $BASE_IMAGE AS runtime\n`,
      [{ ref: ML_BASE, via: 'FROM', arg: 'BASE_IMAGE' }],
    ],
    [
      'a ${NAME:-fallback} whose ARG has a default',
      `ARG BASE_IMAGE=${ML_BASE}\nFROM \${BASE_IMAGE:-python:3.10}\n`,
      [{ ref: ML_BASE, via: 'FROM', arg: 'BASE_IMAGE' }],
    ],
    [
      'a ${NAME:-fallback} without an ARG default',
      'FROM ${OTHER:-python:3.11}\n',
      [{ ref: 'python:3.11', via: 'FROM', arg: 'OTHER' }],
    ],
    [
      'a quoted ARG default',
      `ARG BASE_IMAGE="${ML_BASE}"\nFROM \${BASE_IMAGE}\n`,
      [{ ref: ML_BASE, via: 'FROM', arg: 'BASE_IMAGE' }],
    ],
    [
      'an ARG that is part of the reference',
      'ARG PY=3.12\nFROM python:${PY}-slim\n',
      [{ ref: 'python:3.12-slim', via: 'FROM', arg: undefined }],
    ],
    [
      'the generated layout: a lib stage, builder and runtime from BASE_IMAGE',
      [
        `ARG BASE_IMAGE=${ML_BASE}`,
        `ARG ML_COMMON_IMAGE=${ML_COMMON}`,
        'FROM ${ML_COMMON_IMAGE} AS ml-common',
        'FROM ${BASE_IMAGE} AS builder',
        'RUN python3 -m venv /opt/venv',
        'FROM ${BASE_IMAGE} AS runtime',
        'COPY --from=builder /opt/venv /opt/venv',
        'COPY --from=ml-common --chown=10001:10001 /python/ ./',
        '',
      ].join('\n'),
      [
        { ref: ML_COMMON, via: 'FROM', arg: 'ML_COMMON_IMAGE' },
        { ref: ML_BASE, via: 'FROM', arg: 'BASE_IMAGE' },
        { ref: ML_BASE, via: 'FROM', arg: 'BASE_IMAGE' },
      ],
    ],
    [
      'a FROM of an earlier stage, which is not an image',
      'FROM python:3.10-slim AS base\nFROM base AS test\nFROM BASE\n',
      [{ ref: 'python:3.10-slim', via: 'FROM', arg: undefined }],
    ],
    ['scratch', 'FROM scratch\nCOPY lib/ /python/lib/\n', []],
    [
      'a COPY --from naming an image',
      `FROM scratch\nCOPY --from=${ML_COMMON} /python/ /python/\n`,
      [{ ref: ML_COMMON, via: 'COPY --from', arg: undefined }],
    ],
    [
      'a COPY --from naming an image, after or before other flags',
      `FROM scratch\nCOPY --from=${ML_COMMON} --chown=1:1 /python/ /python/\nCOPY --chown=1:1 --link --from=${ML_BASE} /a /a\n`,
      [
        { ref: ML_COMMON, via: 'COPY --from', arg: undefined },
        { ref: ML_BASE, via: 'COPY --from', arg: undefined },
      ],
    ],
    [
      'a COPY --from through a global ARG',
      `ARG LIB=${ML_COMMON}\nFROM scratch\nCOPY --from=\${LIB} /python/ /python/\n`,
      [{ ref: ML_COMMON, via: 'COPY --from', arg: 'LIB' }],
    ],
    [
      'a COPY --from of a stage, in any case',
      'FROM python:3.10-slim AS Builder\nFROM python:3.10-slim\nCOPY --from=builder /a /a\nCOPY --from=BUILDER /b /b\n',
      [
        { ref: 'python:3.10-slim', via: 'FROM', arg: undefined },
        { ref: 'python:3.10-slim', via: 'FROM', arg: undefined },
      ],
    ],
    [
      'a COPY --from of a stage index',
      'FROM python:3.10-slim\nFROM scratch\nCOPY --from=0 /opt/venv /opt/venv\n',
      [{ ref: 'python:3.10-slim', via: 'FROM', arg: undefined }],
    ],
    [
      'an ARG declared after the first FROM, which is no global default',
      `FROM python:3.10-slim\nARG BASE_IMAGE=${ML_BASE}\nFROM \${BASE_IMAGE}\n`,
      [{ ref: 'python:3.10-slim', via: 'FROM', arg: undefined }],
    ],
    [
      'a global ARG without a default',
      'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n',
      [],
    ],
    ['an empty file', '', []],
  ])('reads %s', (_label, text, uses) => {
    expect(imageUses(text)).toEqual(uses);
  });
});

describe('repositoryPathOf', () => {
  it.each([
    ['127.0.0.1:5000/ml-images/ml-base:latest', 'ml-images/ml-base'],
    ['127.0.0.1:5000/ml-images/ml-base', 'ml-images/ml-base'],
    [
      'registry.example.com/ml-images/synth-training:nx-1',
      'ml-images/synth-training',
    ],
    [
      'us-central1-docker.pkg.dev/my-gcp-project/ml-images/synth-inference:v1',
      'my-gcp-project/ml-images/synth-inference',
    ],
    ['localhost/ml-images/ml-base:dev', 'ml-images/ml-base'],
    ['localhost:5000/ml-base', 'ml-base'],
    [
      `127.0.0.1:5000/ml-images/ml-base@sha256:${'a'.repeat(64)}`,
      'ml-images/ml-base',
    ],
    [
      `127.0.0.1:5000/ml-images/ml-base:nx-1@sha256:${'a'.repeat(64)}`,
      'ml-images/ml-base',
    ],
    ['python', 'python'],
    ['python:3.10-slim', 'python'],
    ['library/python:3.10-slim', 'library/python'],
    ['docker.io/library/python:3.10-slim', 'library/python'],
    ['acme/python:3.10', 'acme/python'],
  ])('reads %s as %s', (ref, path) => {
    expect(repositoryPathOf(ref)).toBe(path);
  });
});

describe('labelValue', () => {
  it.each<[string, string, string, string | undefined]>([
    [
      'a double-quoted value',
      'FROM x\nLABEL ml-docker.outputs="models/"\n',
      'ml-docker.outputs',
      'models/',
    ],
    [
      'a value holding spaces',
      'FROM x\nLABEL ml-docker.outputs="models/ metrics/"\n',
      'ml-docker.outputs',
      'models/ metrics/',
    ],
    ['a single-quoted value', "FROM x\nLABEL a='x y'\n", 'a', 'x y'],
    ['an unquoted value', 'FROM x\nLABEL a=b\n', 'a', 'b'],
    ['an escaped space', 'FROM x\nLABEL a=x\\ y\n', 'a', 'x y'],
    ['an empty value', 'FROM x\nLABEL a=""\n', 'a', ''],
    ['a quoted key', 'FROM x\nLABEL "a.b"="c"\n', 'a.b', 'c'],
    ['a lowercase keyword', 'FROM x\nlabel a=b\n', 'a', 'b'],
    ['the legacy form LABEL key value', 'FROM x\nLABEL a b c\n', 'a', 'b c'],
    [
      'one of several keys, across a line continuation',
      'FROM x\nLABEL ml-docker.health-path="/healthz" \\\n      ml-docker.accelerator="cuda12.4"\n',
      'ml-docker.accelerator',
      'cuda12.4',
    ],
    [
      'the last of several LABELs, as in the image',
      'FROM x AS one\nLABEL a=first\nFROM y\nLABEL a=second\nLABEL b=other\n',
      'a',
      'second',
    ],
    ['a key no LABEL sets', 'FROM x\nLABEL a=b\n', 'c', undefined],
    ['a key set only in a comment', 'FROM x\n# LABEL a=b\n', 'a', undefined],
    ['an ENV of that name', 'FROM x\nENV a=b\n', 'a', undefined],
    ['an empty file', '', 'a', undefined],
  ])('reads %s', (_label, text, key, value) => {
    expect(labelValue(text, key)).toBe(value);
  });
});

describe('contextSources', () => {
  it.each<[string, string, string[]]>([
    ['one COPY', 'FROM x\nCOPY requirements.txt ./\n', ['requirements.txt']],
    [
      'several sources of one COPY, in order',
      'FROM x\nCOPY pyproject.toml setup.cfg ./\n',
      ['pyproject.toml', 'setup.cfg'],
    ],
    [
      'COPYs of every stage, with other flags',
      'FROM x AS builder\nCOPY requirements.txt ./requirements.txt\nFROM x\nCOPY --chown=10001:10001 models/ ./models/\nCOPY --link --chmod=755 docker/training/entrypoint.sh /usr/local/bin/ml-entrypoint\n',
      ['requirements.txt', 'models/', 'docker/training/entrypoint.sh'],
    ],
    [
      'the exec form',
      'FROM x\nCOPY --chown=1:1 ["models/", "metrics/", "./"]\n',
      ['models/', 'metrics/'],
    ],
    ['a lowercase keyword', 'FROM x\ncopy src/ ./src/\n', ['src/']],
    [
      'no COPY --from, of a stage or an image, whatever the flag order',
      'FROM x\nCOPY --from=builder /opt/venv /opt/venv\nCOPY --chown=1:1 --from=127.0.0.1:5000/lib:latest /python/ ./\nCOPY --from=0 /a /a\n',
      [],
    ],
    ['no ADD', 'FROM x\nADD models/ ./models/\n', []],
    ['a COPY with no destination', 'FROM x\nCOPY a\n', []],
    ['an empty file', '', []],
  ])('reads %s', (_label, text, sources) => {
    expect(contextSources(text)).toEqual(sources);
  });
});

describe('stagesOf', () => {
  it.each<[string, string, Stage[]]>([
    [
      'one unnamed stage',
      'FROM python:3.10-slim\nRUN pip install x\n',
      [{ index: 0, name: undefined, runs: 1, uses: ['python:3.10-slim'] }],
    ],
    [
      'named stages, lowercased, with their RUNs counted and what they build on',
      [
        'ARG BASE_IMAGE=python:3.10-slim',
        'RUN echo before any stage',
        'FROM ${BASE_IMAGE} AS Builder',
        'RUN python3 -m venv /opt/venv',
        'RUN /opt/venv/bin/pip install -r requirements.txt',
        'FROM ${BASE_IMAGE} AS runtime',
        'COPY --from=Builder /opt/venv /opt/venv',
        'COPY --chown=1:1 --from=ML-COMMON /python/ ./',
        'COPY src/ ./src/',
        '',
      ].join('\n'),
      [
        { index: 0, name: 'builder', runs: 2, uses: ['${base_image}'] },
        {
          index: 1,
          name: 'runtime',
          runs: 0,
          uses: ['${base_image}', 'builder', 'ml-common'],
        },
      ],
    ],
    [
      'a stage FROM another, an unnamed stage and a COPY --from an index',
      'FROM python:3.10-slim AS deps\nRUN a\nFROM deps\nRUN b\nRUN c\nFROM scratch AS out\nCOPY --from=1 /w /w\n',
      [
        { index: 0, name: 'deps', runs: 1, uses: ['python:3.10-slim'] },
        { index: 1, name: undefined, runs: 2, uses: ['deps'] },
        { index: 2, name: 'out', runs: 0, uses: ['scratch', '1'] },
      ],
    ],
    ['an empty file', '', []],
  ])('reads %s', (_label, text, stages) => {
    expect(stagesOf(text)).toEqual(stages);
  });
});

describe('cacheableStages', () => {
  /** The generated layout: a library stage that only copies, a builder that installs, the runtime. */
  const GENERATED = [
    'ARG BASE_IMAGE=python:3.10-slim',
    'ARG ML_COMMON_IMAGE=127.0.0.1:5000/ml-images/ml-common-lib:latest',
    'FROM ${ML_COMMON_IMAGE} AS ml-common',
    'FROM ${BASE_IMAGE} AS builder',
    'RUN python3 -m venv /opt/venv',
    'FROM ${BASE_IMAGE} AS runtime',
    'RUN groupadd --gid 10001 mluser',
    'COPY --from=builder /opt/venv /opt/venv',
    'COPY --from=ml-common /python/ ./',
    '',
  ].join('\n');

  /** deps ← builder ← runtime through FROM and COPY --from, and a tests stage nothing needs. */
  const CHAIN = [
    'FROM python:3.10-slim AS deps',
    'RUN pip install -r requirements.txt',
    'FROM deps AS builder',
    'RUN pip wheel --wheel-dir /wheels .',
    'FROM python:3.10-slim AS tests',
    'COPY --from=builder /wheels /wheels',
    'RUN pytest',
    'FROM python:3.10-slim AS runtime',
    'COPY --from=builder /wheels /wheels',
    'RUN pip install /wheels/*',
    '',
  ].join('\n');

  it.each<[string, string, string | undefined, string[]]>([
    [
      'the builder of the generated layout, not the library stage that runs nothing nor the last stage itself',
      GENERATED,
      undefined,
      ['builder'],
    ],
    [
      'a chain through FROM and COPY --from, in build order, without the stage nothing needs',
      CHAIN,
      undefined,
      ['deps', 'builder'],
    ],
    ['what the target needs', CHAIN, 'tests', ['deps', 'builder']],
    ['a target named in another case', CHAIN, 'BUILDER', ['deps']],
    ['a target that needs nothing', CHAIN, 'deps', []],
    ['a target by index', CHAIN, '1', ['deps']],
    ['a target that is no stage', CHAIN, 'nope', []],
    [
      'no unnamed stage: a cache image is tagged by stage name',
      'FROM python:3.10-slim\nRUN pip install x\nFROM python:3.10-slim AS runtime\nCOPY --from=0 /a /a\n',
      undefined,
      [],
    ],
    [
      'the named stage an unnamed one builds on',
      'FROM python:3.10-slim AS deps\nRUN a\nFROM deps\nRUN b\nFROM scratch\nCOPY --from=1 /w /w\n',
      undefined,
      ['deps'],
    ],
    [
      'a stage named like the image it is FROM',
      'FROM python AS python\nRUN x\nFROM python AS runtime\n',
      undefined,
      ['python'],
    ],
    [
      'a single stage',
      'FROM python:3.10-slim\nRUN pip install x\n',
      undefined,
      [],
    ],
    ['an empty file', '', undefined, []],
  ])('picks %s', (_label, text, target, stages) => {
    expect(cacheableStages(text, target)).toEqual(stages);
  });
});
