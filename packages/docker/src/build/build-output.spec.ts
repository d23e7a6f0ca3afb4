import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { explainBuildFailure } from './build-output';

/** Logs the engines here wrote (Docker 20.10's BuildKit and classic builder, Podman 4.3), unedited. */
const realLog = (name: string) =>
  readFileSync(
    join(__dirname, '__fixtures__', 'build-logs', `${name}.log`),
    'utf8',
  );

const buildkitFailingRun = `#0 building with "default" instance using docker driver

#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 1.94kB done
#1 DONE 0.0s

#2 [internal] load metadata for docker.io/library/python:3.10-slim
#2 DONE 0.4s

#5 [builder 1/5] FROM docker.io/library/python:3.10-slim@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
#5 CACHED

#8 [builder 4/5] COPY requirements.txt ./
#8 DONE 0.0s

#9 [builder 5/5] RUN /opt/venv/bin/pip install -r requirements.txt
#9 1.843 ERROR: Could not find a version that satisfies the requirement nosuchpkg==9.9 (from versions: none)
#9 1.844 ERROR: No matching distribution found for nosuchpkg==9.9
#9 ERROR: process "/bin/sh -c /opt/venv/bin/pip install -r requirements.txt" did not complete successfully: exit code: 1
------
 > [builder 5/5] RUN /opt/venv/bin/pip install -r requirements.txt:
1.843 ERROR: Could not find a version that satisfies the requirement nosuchpkg==9.9 (from versions: none)
1.844 ERROR: No matching distribution found for nosuchpkg==9.9
------
Dockerfile:27
--------------------
  25 |     WORKDIR /build
  26 |     COPY requirements.txt ./
  27 | >>> RUN /opt/venv/bin/pip install -r requirements.txt
  28 |
  29 |     FROM \${BASE_IMAGE} AS runtime
--------------------
ERROR: failed to solve: process "/bin/sh -c /opt/venv/bin/pip install -r requirements.txt" did not complete successfully: exit code: 1
`;

const buildkitMissingModels = `#12 [runtime 4/6] COPY --chown=10001:10001 models/ ./models/
#12 ERROR: failed to calculate checksum of ref 4d1c1b0c::abc: "/models": not found
------
 > [runtime 4/6] COPY --chown=10001:10001 models/ ./models/:
------
ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref 4d1c1b0c::abc: "/models": not found
`;

const buildkitParseError = `#0 building with "default" instance using docker driver

#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 99B done
#1 DONE 0.0s
Dockerfile:3
--------------------
   1 |     FROM python:3.10-slim
   2 |     RUN echo hi
   3 | >>> RUNN echo typo
   4 |
--------------------
ERROR: failed to solve: dockerfile parse error on line 3: unknown instruction: RUNN
`;

const classicFailingRun = `DEPRECATED: The legacy builder is deprecated and will be removed in a future release.
            Install the buildx component to build images with BuildKit:
            https://docs.docker.com/go/buildx/

Sending build context to Docker daemon  4.608kB
Step 1/4 : FROM python:3.10-slim
 ---> 1a2b3c4d5e6f
Step 2/4 : WORKDIR /build
 ---> Using cache
 ---> 2b3c4d5e6f70
Step 3/4 : RUN pip install nosuchpkg==9.9
 ---> Running in 0123456789ab
ERROR: Could not find a version that satisfies the requirement nosuchpkg==9.9 (from versions: none)
ERROR: No matching distribution found for nosuchpkg==9.9
The command '/bin/sh -c pip install nosuchpkg==9.9' returned a non-zero code: 1
`;

const classicCopyFailed = `Sending build context to Docker daemon  4.608kB
Step 1/3 : FROM python:3.10-slim
 ---> 1a2b3c4d5e6f
Step 2/3 : COPY --chown=10001:10001 models/ ./models/
COPY failed: file not found in build context or excluded by .dockerignore: stat models/: file does not exist
`;

const classicParseError = `Sending build context to Docker daemon  2.048kB
Error response from daemon: dockerfile parse error on line 3: unknown instruction: RUNN
`;

const COPY_HINT =
  ' (a file the Dockerfile copies is missing from the build context or excluded by .dockerignore)';

describe('explainBuildFailure', () => {
  it.each([
    [
      'a failing RUN in BuildKit plain progress',
      buildkitFailingRun,
      'step [builder 5/5] RUN /opt/venv/bin/pip install -r requirements.txt: ERROR: No matching distribution found for nosuchpkg==9.9 (exit code: 1)',
    ],
    [
      'a COPY of a missing folder in BuildKit plain progress',
      buildkitMissingModels,
      `step [runtime 4/6] COPY --chown=10001:10001 models/ ./models/: ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref 4d1c1b0c::abc: "/models": not found${COPY_HINT}`,
    ],
    [
      'a failing RUN in the classic builder',
      classicFailingRun,
      'step RUN pip install nosuchpkg==9.9: ERROR: No matching distribution found for nosuchpkg==9.9 (exit code: 1)',
    ],
    [
      'a COPY of a missing folder in the classic builder',
      classicCopyFailed,
      `step COPY --chown=10001:10001 models/ ./models/: COPY failed: file not found in build context or excluded by .dockerignore: stat models/: file does not exist${COPY_HINT}`,
    ],
  ])('names the step and the reason for %s', (_label, log, expected) => {
    expect(explainBuildFailure(log)).toBe(expected);
  });

  it.each([
    [
      'BuildKit',
      buildkitParseError,
      'ERROR: failed to solve: dockerfile parse error on line 3: unknown instruction: RUNN',
    ],
    [
      'the classic builder',
      classicParseError,
      'Error response from daemon: dockerfile parse error on line 3: unknown instruction: RUNN',
    ],
  ])(
    'gives the parse error with its line for a Dockerfile %s cannot parse',
    (_label, log, expected) => {
      expect(explainBuildFailure(log)).toBe(expected);
    },
  );

  it.each<[string, string, boolean]>([
    [
      'an ADD of a missing file',
      'Step 2/3 : ADD model.tar.gz /app/\nADD failed: file not found in build context or excluded by .dockerignore: stat model.tar.gz: file does not exist\n',
      true,
    ],
    [
      'a RUN whose command is not found',
      "Step 2/3 : RUN dvc pull\n/bin/sh: 1: dvc: not found\nThe command '/bin/sh -c dvc pull' returned a non-zero code: 127\n",
      false,
    ],
    [
      'a COPY that fails for another reason',
      ' > [runtime 3/6] COPY --from=builder /opt/venv /opt/venv:\nERROR: failed to solve: failed to copy: write /var/lib/docker/x: no space left on device\n',
      false,
    ],
    [
      'a missing file without a step',
      'ERROR: failed to solve: failed to read dockerfile: open Dockerfile: no such file or directory\n',
      false,
    ],
  ])(
    'adds the .dockerignore hint only to a failed COPY or ADD of a missing file: %s',
    (_label, log, hinted) => {
      expect(explainBuildFailure(log).endsWith(COPY_HINT)).toBe(hinted);
    },
  );

  it('handles CRLF line endings like LF', () => {
    expect(explainBuildFailure(classicFailingRun.replace(/\n/g, '\r\n'))).toBe(
      explainBuildFailure(classicFailingRun),
    );
  });

  it('strips the BuildKit "#<n> <seconds>" prefix from the reason', () => {
    const log = '#9 [runtime 2/3] RUN false\n#9 0.123 sh: 1: error: boom\n';
    expect(explainBuildFailure(log)).toBe('sh: 1: error: boom');
  });

  it('falls back to the last line when no line names an error', () => {
    expect(explainBuildFailure('Sending build context\nkilled\n')).toBe(
      'killed',
    );
  });

  it('says "no output" for an empty log', () => {
    expect(explainBuildFailure('')).toBe('no output');
  });

  it('truncates a long step to 160 characters and a long reason to 300', () => {
    const step = `RUN ${'x'.repeat(400)}`;
    const reason = `error: ${'y'.repeat(600)}`;
    const out = explainBuildFailure(`Step 1/1 : ${step}\n${reason}\n`);
    const [stepPart, reasonPart] = out.slice('step '.length).split(': error');
    expect(stepPart).toHaveLength(160);
    expect(stepPart.endsWith('…')).toBe(true);
    expect(`error${reasonPart}`).toHaveLength(300);
    expect(reasonPart.endsWith('…')).toBe(true);
  });
});

describe('explainBuildFailure on real engine logs', () => {
  const BACKEND =
    "pip._vendor.pyproject_hooks._impl.BackendUnavailable: Cannot import 'poetry.core.masonry.api' (exit code: 2)";
  it.each([
    [
      'buildkit-backend-unavailable',
      `step [6/6] RUN /opt/venv/bin/pip install .: ${BACKEND}`,
    ],
    [
      'classic-backend-unavailable',
      `step RUN /opt/venv/bin/pip install .: ${BACKEND}`,
    ],
    [
      'podman-backend-unavailable',
      `step RUN /opt/venv/bin/pip install .: ${BACKEND}`,
    ],
  ])(
    '%s: the step, its last meaningful line (not only the exit code)',
    (log, expected) => {
      expect(explainBuildFailure(realLog(log))).toBe(expected);
    },
  );

  const MISSING =
    'ERROR: No matching distribution found for ml-private-utils (exit code: 1)';
  it.each([
    ['buildkit-secret-missing', '[3/3] RUN '],
    ['podman-secret-missing', 'RUN '],
  ])(
    '%s: names the secret the step mounts and the build was not given, without the mount flags',
    (log, stepPrefix) => {
      expect(explainBuildFailure(realLog(log), [])).toBe(
        `step ${stepPrefix}/opt/venv/bin/pip install ml-private-utils: ${MISSING}; the build secret pip-index-url or netrc was not given: if the package comes from a private index, add "secrets": { "pip-index-url": { "env": "PIP_INDEX_URL" } } to the build options (see README "Private package index")`,
      );
    },
  );

  it("reads a multi-stage Podman build's [stage/stages] STEP lines the same", () => {
    const log = realLog('podman-secret-missing').replace(
      /^STEP (\d+)\/(\d+): /gm,
      '[1/2] STEP $1/$2: ',
    );
    expect(explainBuildFailure(log)).toBe(
      explainBuildFailure(realLog('podman-secret-missing')),
    );
    expect(explainBuildFailure(log)).toMatch(/^step RUN \/opt\/venv/);
  });

  it.each<[string, string[], boolean]>([
    ['every secret given', ['pip-index-url', 'netrc'], false],
    ['one of two given', ['pip-index-url'], false],
    ['none given', [], true],
  ])(
    'names the secrets only when the step got none of them: %s',
    (_l, given, hinted) => {
      const line = explainBuildFailure(
        realLog('buildkit-secret-missing'),
        given,
      );
      expect(line.includes('was not given')).toBe(hinted);
    },
  );

  it('gives no secret hint when the step failed for another reason', () => {
    const log = realLog('podman-secret-missing').replace(
      /ERROR: No matching distribution found for ml-private-utils/,
      'ModuleNotFoundError: No module named setuptools',
    );
    expect(explainBuildFailure(log)).toMatch(
      /: ModuleNotFoundError: No module named setuptools \(exit code: 1\)$/,
    );
  });

  it.each([
    [
      "pip's subprocess epilogue",
      [
        '  error: invalid command bdist_wheel',
        '  [end of output]',
        '',
        'note: This error originates from a subprocess, and is likely not a problem with pip.',
        'error: subprocess-exited-with-error',
        '',
        '× Building wheel did not run successfully.',
        '│ exit code: 1',
        '╰─> See above for output.',
        '',
        'note: This error originates from a subprocess, and is likely not a problem with pip.',
      ],
      '× Building wheel did not run successfully.',
    ],
    [
      "pip's upgrade notice",
      [
        'ERROR: No matching distribution found for x',
        '',
        '[notice] A new release of pip is available: 24.0 -> 25.0',
        '[notice] To update, run: pip install --upgrade pip',
      ],
      'ERROR: No matching distribution found for x',
    ],
  ])('skips lines that only close a failure: %s', (_l, out, cause) => {
    const log = [
      'STEP 2/2: RUN pip install x',
      ...out,
      'Error: building at STEP "RUN pip install x": while running runtime: exit status 1',
    ].join('\n');
    expect(explainBuildFailure(log)).toBe(
      `step RUN pip install x: ${cause} (exit code: 1)`,
    );
  });
});
