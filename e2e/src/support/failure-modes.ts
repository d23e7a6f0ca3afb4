/**
 * The failure modes users meet, one row each: the README's "Failure modes"
 * table is rendered from this list (readme-failure-modes checks it is), and
 * the suites assert each row on the real engine through `expectFailure`.
 * A row nobody asserts fails that check too, so the table cannot promise a
 * message no test has seen.
 */
import type { Ran } from './run';

export interface FailureMode {
  /** The command that fails: nx g, or the target the executor backs. */
  area:
    | 'nx g @ml/docker:images'
    | 'docker-build'
    | 'docker-test'
    | 'docker-push'
    | 'docker-promote'

    | 'nx g @ml/docker:deploy'
    | 'docker-deploy-manifests'
    | 'docker-check-manifests';
  situation: string;
  /** How the one line reads, `…` for the parts that vary (the README column). */
  message: string;
  /** What the suites match in the output. */
  pattern: RegExp;
  /** What is left afterwards; the suite asserting the row checks it. */
  leaves: string;
}

/** nx exits 1 for a failed task or generator, whatever the executor's error. */
const FAILED = 1;

const NOTHING = 'nothing: no file written, nx.json untouched';
const NO_CONTAINER = 'no container';
const NO_IMAGE = 'no image, no build record';
const PROMOTED_NOTHING =
  'nothing copied or tagged at the destination, no promotion record';

export const FAILURE_MODES = {
  'generator.unknown-project': {
    area: 'nx g @ml/docker:images',
    situation: 'unknown project',
    message:
      'Project "…" does not exist in this workspace. Check the name with: nx show projects',
    pattern:
      /Project "[^"]+" does not exist in this workspace\. Check the name with: nx show projects/,
    leaves: NOTHING,
  },
  'generator.nothing-to-install': {
    area: 'nx g @ml/docker:images',
    situation: 'no `requirements.txt`, `pyproject.toml` or `setup.py`',
    message:
      'Project "…" has nothing to install: no requirements.txt, pyproject.toml or setup.py in …. Add one listing the Python dependencies, then rerun.',
    pattern:
      /Project "[^"]+" has nothing to install: no requirements\.txt, pyproject\.toml or setup\.py in \S+\. Add one listing the Python dependencies, then rerun\./,
    leaves: NOTHING,
  },
  'generator.invalid-port': {
    area: 'nx g @ml/docker:images',
    situation:
      'port outside 1–65535 or not whole (a word never gets here: nx refuses it against the schema first)',
    message: '--port must be an integer from 1 to 65535 (got …).',
    pattern: /--port must be an integer from 1 to 65535 \(got [^)]*\)\./,
    leaves: NOTHING,
  },
  'generator.invalid-health-path': {
    area: 'nx g @ml/docker:images',
    situation: 'health path without a leading `/` or with other characters',
    message:
      '--healthPath must start with / and hold only letters, digits and . _ ~ - / (got "…").',
    pattern:
      /--healthPath must start with \/ and hold only letters, digits and \. _ ~ - \/ \(got "[^"]*"\)\./,
    leaves: NOTHING,
  },
  'generator.invalid-base-image': {
    area: 'nx g @ml/docker:images',
    situation:
      'base image name or tag with characters an image reference cannot hold',
    message:
      '--baseImage "…" is not an image reference (e.g. python:3.10-slim or registry/path/image:tag).',
    pattern:
      /--baseImage "[^"]*" is not an image reference \(e\.g\. python:3\.10-slim or registry\/path\/image:tag\)\./,
    leaves: NOTHING,
  },
  'generator.edited-file': {
    area: 'nx g @ml/docker:images',
    situation:
      'a generated file edited by hand, no `--overwrite` (the refusal comes after the other files were rendered)',
    message:
      '… was edited since it was generated; it was left as it is and nothing was written. Rerun with --overwrite …',
    pattern:
      /\S+ was edited since it was generated; it was left as it is and nothing was written\. Rerun with --overwrite/,
    leaves: 'every file byte for byte as it was, no new file',
  },
  'generator.hand-written-file': {
    area: 'nx g @ml/docker:images',
    situation:
      'a file the generator would write is there already, written by hand (no generator checksum), no `--overwrite`',
    message:
      '… was written by hand, not by @ml/docker:images; it was left as it is and nothing was written. Keep it (…), or replace it with --overwrite.',
    pattern:
      /\S+ was written by hand, not by @ml\/docker:images; it was left as it is and nothing was written\. Keep it( \(.*\))?, or replace it with --overwrite\./,
    leaves: 'every file byte for byte as it was, no new file',
  },
  'generator.unknown-cuda': {
    area: 'nx g @ml/docker:images',
    situation:
      '`--accelerator=cuda…` with a CUDA, torch or Python version the torch × CUDA table does not know',
    message:
      "No CUDA build of torch … in @ml/docker's table. Known …. Pick one of those with --accelerator=cudaX.Y, or build with your own BASE_IMAGE and TORCH_INDEX_URL build args.",
    pattern:
      /No CUDA build of torch .* in @ml\/docker's table\. Known .*\. Pick one of those with --(accelerator=cudaX\.Y|pythonVersion), or build with your own BASE_IMAGE and TORCH_INDEX_URL build args\./,
    leaves: NOTHING,
  },
  'generator.several-apps': {
    area: 'nx g @ml/docker:images',
    situation:
      'several module-level FastAPI apps in the project (e.g. a public and an admin API), no `--appModule`',
    message:
      'Project "…" has several FastAPI apps (…). Choose one with --appModule=<module:attr>.',
    pattern:
      /Project "[^"]+" has several FastAPI apps \([^)]+\)\. Choose one with --appModule=<module:attr>\./,
    leaves: NOTHING,
  },
  'generator.no-app': {
    area: 'nx g @ml/docker:images',
    situation:
      'no FastAPI app anywhere in the project (a batch model), and the inference image asked for (the default)',
    message:
      'No FastAPI app found in project "…" (looked for app = FastAPI(...) in its .py files outside tests/ and notebooks/). Pass --appModule=<module:attr>, or --image=training to generate only the training image.',
    pattern:
      /No FastAPI app found in project "[^"]+" \(looked for app = FastAPI\(\.\.\.\) in its \.py files outside tests\/ and notebooks\/\)\. Pass --appModule=<module:attr>, or --image=training to generate only the training image\./,
    leaves: NOTHING,
  },
  'generator.no-liveness-path': {
    area: 'nx g @ml/docker:images',
    situation:
      'an inference image and no path to probe for liveness: no `/health`-like route, the OpenAPI document off (`FastAPI(openapi_url=None)`), no GET route without parameters, no `--healthPath`',
    message:
      '… serves no GET route the inference image can probe for liveness (no /health-like route, no GET route without parameters, no OpenAPI document): its HEALTHCHECK and docker-test need one. Add a route such as @app.get("/health"), or pass --healthPath=<path of a GET route the app answers with 2xx>.',
    pattern:
      /\S+ serves no GET route the inference image can probe for liveness \(no \/health-like route, no GET route without parameters, no OpenAPI document\): its HEALTHCHECK and docker-test need one\. Add a route such as @app\.get\("\/health"\), or pass --healthPath=<path of a GET route the app answers with 2xx>\./,
    leaves: NOTHING,
  },
  'build.no-engine': {
    area: 'docker-build',
    situation:
      'no engine on the socket / `DOCKER_HOST`, and no podman to fall back to (`engine: auto` builds with podman when it is installed)',
    message: 'Docker engine not reachable at … (…). Start it (…)',
    pattern: /Docker engine not reachable at \S+ \(.+\)\. Start it \(/,
    leaves: NO_IMAGE,
  },
  'build.no-dockerfile': {
    area: 'docker-build',
    situation: 'image key without a Dockerfile',
    message:
      'No Dockerfile for image "…" at …. Generate it (nx g @ml/docker:images …)',
    pattern: /No Dockerfile for image "[^"]+" at \S+\. Generate it/,
    leaves: NO_IMAGE,
  },
  'build.run-fails': {
    area: 'docker-build',
    situation: 'a failing `RUN` step',
    message:
      "Build of <project>/<image> failed at step [stage n/m] RUN …: <the engine's error>. Fix the Dockerfile or its inputs and rerun.",
    pattern:
      /Build of \S+\/\S+ failed at step \[[^\]]+\] RUN .*exit code: \d+.*Fix the Dockerfile or its inputs and rerun\./,
    leaves: NO_IMAGE,
  },
  'build.syntax-error': {
    area: 'docker-build',
    situation: 'a Dockerfile syntax error',
    message: 'Build of <project>/<image> failed at …: unknown instruction: …',
    pattern: /Build of \S+\/\S+ failed at .*unknown instruction/i,
    leaves: NO_IMAGE,
  },
  'build.missing-copy-source': {
    area: 'docker-build',
    situation: 'the model (or any copied file) missing from the context',
    message:
      'Build of <project>/<image> failed at step [stage n/m] COPY models/ …: … "/models" not found … (a file the Dockerfile copies is missing from the build context or excluded by .dockerignore). …',
    pattern:
      /failed at step \[[^\]]+\] COPY models\/.*"\/models" not found.* \(a file the Dockerfile copies is missing from the build context or excluded by \.dockerignore\)/,
    leaves: NO_IMAGE,
  },
  'build.credential-build-arg': {
    area: 'docker-build',
    situation:
      'a credential as a build arg: a URL with a user name or password (`PIP_EXTRA_INDEX_URL=https://ci-bot:<token>@…`), or a name ending in `TOKEN`, `PASSWORD`, `SECRET`, `KEY` or `CREDENTIALS` (the value is never repeated)',
    message:
      'Build arg … looks like a credential (…): build args stay readable in the image history and in the cache images pushed beside it. Pass it as a build secret instead, e.g. "secrets": { "pip-index-url": { "env": "…" } }, and remove it from buildArgs (see README "Private package index").',
    pattern:
      /Build arg \w+ looks like a credential \([^)]*\): build args stay readable in the image history and in the cache images pushed beside it\. Pass it as a build secret instead, e\.g\. "secrets": \{ "pip-index-url": \{ "env": "\w+" \} \}, and remove it from buildArgs \(see README "Private package index"\)\./,
    leaves: NO_IMAGE,
  },
  'build.secret-missing': {
    area: 'docker-build',
    situation:
      "a requirement only the private index has, and its secret not given (the `secrets` option's variable unset, or its file missing: the build goes on without it and says so)",
    message:
      'Build of <project>/<image> failed at step [builder n/m] RUN with-pip-secrets /opt/venv/bin/pip install …: ERROR: No matching distribution found for … (exit code: 1); the build secret pip-index-url or pip-extra-index-url or netrc was not given: if the package comes from a private index, add "secrets": { "pip-index-url": { "env": "PIP_INDEX_URL" } } to the build options (see README "Private package index"). Fix the Dockerfile or its inputs and rerun.',
    pattern:
      /Build of \S+\/\S+ failed at step (\[[^\]]+\] )?RUN with-pip-secrets \/opt\/venv\/bin\/pip install .*: ERROR: No matching distribution found for \S+ \(exit code: \d+\); the build secret pip-index-url or pip-extra-index-url or netrc was not given: if the package comes from a private index, add "secrets": \{ "pip-index-url": \{ "env": "PIP_INDEX_URL" \} \} to the build options \(see README "Private package index"\)\. Fix the Dockerfile or its inputs and rerun\./,
    leaves: NO_IMAGE,
  },
  'build.secrets-on-classic': {
    area: 'docker-build',
    situation:
      '`secrets` with `engine: classic` (the classic builder has no build secrets)',
    message:
      'The secrets option needs BuildKit or Podman, and … the classic builder cannot pass build secrets. Set engine to "auto" (with docker buildx installed, or a Docker client older than 23), or engine "podman".',
    pattern:
      /The secrets option needs BuildKit or Podman, and .*: the classic builder cannot pass build secrets\. Set engine to "auto" \(with docker buildx installed, or a Docker client older than 23\), or engine "podman"\./,
    leaves: NO_IMAGE,
  },
  'build.needs-buildkit': {
    area: 'docker-build',
    situation:
      '`engine: classic` with a Dockerfile that needs BuildKit (`RUN --mount`, `COPY --link`, heredocs)',
    message:
      '… uses RUN --mount, which needs BuildKit, and the engine option asks for the classic builder. Set engine to "auto", or use engine "podman". The Dockerfiles @ml/docker generates mount build secrets and need either; from a Dockerfile of your own you may remove RUN --mount instead.',
    pattern:
      /\S+ uses RUN --mount, which needs BuildKit, and the engine option asks for the classic builder\. Set engine to "auto", or use engine "podman"\. The Dockerfiles @ml\/docker generates mount build secrets and need either; from a Dockerfile of your own you may remove RUN --mount instead\./,
    leaves: NO_IMAGE,
  },
  'build.invalid-tag': {
    area: 'docker-build',
    situation: 'a tag with spaces, `;`, `$(…)` or a newline',
    message:
      'Invalid tag "…" in …: a tag is 1 to 128 of A-Z a-z 0-9 _ . - and may not start with . or -. Fix the tag option.',
    pattern:
      /Invalid tag "[^"]*" in [^:]+: a tag is 1 to 128 of A-Z a-z 0-9 _ \. - and may not start with \. or -\. Fix the tag option\./,
    leaves: NO_IMAGE,
  },
  'build.dependency-image-gone': {
    area: 'docker-build',
    situation:
      "a dependency's recorded image in neither the engine nor the registry",
    message:
      'Image … from the build record is neither in this engine nor in the registry. Build it now: nx run <dependency>:docker-build --skip-nx-cache',
    pattern:
      /Image \S+ \(sha256:[0-9a-f]+\) from the build record is neither in this engine nor in the registry\. Build it now: nx run \S+:docker-build --skip-nx-cache/,
    leaves: NO_IMAGE,
  },
  'test.no-record': {
    area: 'docker-test',
    situation: 'test (or push) before any build',
    message:
      'No build record at …. Build the images first: nx run <project>:docker-build',
    pattern:
      /No build record at \S+\. Build the images first: nx run \S+:docker-build/,
    leaves: NO_CONTAINER,
  },
  'test.exits-at-start': {
    area: 'docker-test',
    situation: 'the container exits at start',
    message:
      '<image> did not become healthy: the container exited with code N …',
    pattern: /\S+ did not become healthy: the container exited with code \d+/,
    leaves: NO_CONTAINER,
  },
  'test.never-answers': {
    area: 'docker-test',
    situation: 'the app never answers',
    message:
      '<image> did not become healthy: no healthy answer from http://127.0.0.1:…/health within N s …',
    pattern:
      /\S+ did not become healthy: no healthy answer from http:\/\/127\.0\.0\.1:\d+\/\S* within \d+ s/,
    leaves: NO_CONTAINER,
  },
  'test.health-500': {
    area: 'docker-test',
    situation: 'the health path answers 500',
    message:
      '<image> did not become healthy: no healthy answer from … within N s (last: HTTP 500) …',
    pattern: /\S+ did not become healthy: no healthy answer .*last: HTTP 500/,
    leaves: NO_CONTAINER,
  },
  'test.liveness-path-unserved': {
    area: 'docker-test',
    situation:
      "the liveness path (`--healthPath`, or `service.healthPath`) answers 404 and the app's OpenAPI document lists no GET route for it: it fails at once, without waiting out the timeout",
    message:
      "<image> did not become healthy: GET … answered HTTP 404: …, and the app's OpenAPI document lists no GET route for it, so it never will. GET routes the app serves: …. Probe a GET route the app answers with 2xx once it is up: regenerate the image with --healthPath=<path>, or set service.healthPath.",
    pattern:
      /\S+ did not become healthy: GET \/\S* answered HTTP 404(: .*)?, and the app's OpenAPI document lists no GET route for it, so it never will\. GET routes the app serves: .+\. Probe a GET route the app answers with 2xx once it is up: regenerate the image with --healthPath=<path>, or set service\.healthPath\./,
    leaves: NO_CONTAINER,
  },
  'test.read-only-root': {
    area: 'docker-test',
    situation:
      'the app writes outside the folders it may write (a path inspection could not follow, e.g. built from an environment variable) and the read-only root filesystem refuses it ("Read-only file system" in its last log lines, printed just above)',
    message:
      '<image> did not become healthy: …. It wrote outside the folders it may write: docker-test runs it with a read-only root filesystem, as Kubernetes readOnlyRootFilesystem does, where only /tmp… writable. Make that folder writable (the images generator does for the folders the code creates; by hand, a folder its user owns and LABEL ml-docker.writable="<folder>/"), or set service.readOnlyRootFilesystem to false.',
    pattern:
      /Read-only file system[\s\S]*\S+ did not become healthy: .*\. It wrote outside the folders it may write: docker-test runs it with a read-only root filesystem, as Kubernetes readOnlyRootFilesystem does, where only \/tmp(, \S+)* (is|are) writable\. Make that folder writable \(the images generator does for the folders the code creates; by hand, a folder its user owns and LABEL ml-docker\.writable="<folder>\/"\), or set service\.readOnlyRootFilesystem to false\./,
    leaves: NO_CONTAINER,
  },
  'test.broken-healthcheck': {
    area: 'docker-test',
    situation: "the app answers but the image's `HEALTHCHECK` fails",
    message:
      "<image>'s HEALTHCHECK command fails while the app answers /health (exit N: …) …",
    pattern:
      /\S+'s HEALTHCHECK command fails while the app answers \/\S* \(exit \d+: /,
    leaves: NO_CONTAINER,
  },
  'test.smoke-status': {
    area: 'docker-test',
    situation: 'a smoke request gets the wrong status',
    message: '<image>: smoke GET /…: expected HTTP 200, got 404: …',
    pattern: /\S+: smoke (GET|POST) \/\S*: expected HTTP \d+, got \d+/,
    leaves: NO_CONTAINER,
  },
  'test.smoke-missing-key': {
    area: 'docker-test',
    situation: 'a smoke response lacks an expected key',
    message: '<image>: smoke POST /predict: the response lacks …: …',
    pattern: /\S+: smoke (GET|POST) \/\S*: the response lacks \S+/,
    leaves: NO_CONTAINER,
  },
  'test.model-never-loads': {
    area: 'docker-test',
    situation:
      'the app is alive (its health path answers 200) but the readiness route its OpenAPI document names answers 503 until the timeout: the model never loads',
    message:
      '<image> is alive but did not become ready: no healthy answer from http://127.0.0.1:…/ready within N s (last: HTTP 503: <the body it answered>).',
    pattern:
      /\S+ is alive but did not become ready: no healthy answer from http:\/\/127\.0\.0\.1:\d+\/\S* within \d+ s \(last: HTTP 503: .+\)\./,
    leaves: NO_CONTAINER,
  },
  'test.documented-example-refused': {
    area: 'docker-test',
    situation:
      "a route's documented request example (from its OpenAPI document) is refused by the route's own schema: the docs lie",
    message:
      '<image>: POST /…: the documented example was refused with 422: … (the example in the API docs does not match the request schema)',
    pattern:
      /\S+: (GET|POST|PUT|PATCH|DELETE) \/\S*: the documented example was refused with 422: .+ \(the example in the API docs does not match the request schema\)/,
    leaves: NO_CONTAINER,
  },
  'test.runs-as-root': {
    area: 'docker-test',
    situation: 'the image runs as root',
    message:
      '<image> runs as root (USER is "…"). Set USER to a numeric non-root UID …',
    pattern:
      /\S+ runs as root \(USER is "[^"]*"\)\. Set USER to a numeric non-root UID/,
    leaves: NO_CONTAINER,
  },
  'test.job-fails': {
    area: 'docker-test',
    situation: 'a training job exits non-zero',
    message: '<image> exited with code N …',
    pattern: /\S+ exited with code \d+/,
    leaves: NO_CONTAINER,
  },
  'test.job-timeout': {
    area: 'docker-test',
    situation: 'a training job runs too long',
    message:
      '<image> did not finish within N s. Raise job.timeout or make the run smaller.',
    pattern:
      /\S+ did not finish within \d+ s\. Raise job\.timeout or make the run smaller\./,
    leaves: NO_CONTAINER,
  },
  'test.job-no-artifacts': {
    area: 'docker-test',
    situation: 'a training job writes no artifacts',
    message:
      '<image> exited 0 but did not write … (looked under …). Check where the pipeline writes its outputs, or the job.artifacts option.',
    pattern:
      /\S+ exited 0 but did not write .* \(looked under \S+\)\. Check where the pipeline writes its outputs, or the job\.artifacts option\./,
    leaves: NO_CONTAINER,
  },
  'test.pipeline-without-dvc': {
    area: 'docker-test',
    situation:
      'a DVC pipeline\'s training image run with its own command, `dvc repro`, without dvc installed (the generator warned: "dvc.yaml has stages but dvc is not in the runtime dependencies"); the container\'s last log lines, printed just above, end in "exec: dvc: not found"',
    message: '<image> exited with code 127 after N s.',
    pattern:
      /exec: dvc: not found[\s\S]*\S+ exited with code 127 after [\d.]+ s\./,
    leaves: NO_CONTAINER,
  },
  'test.gpu-required': {
    area: 'docker-test',
    situation:
      '`requireGpu` set, a CUDA image, and an engine with no NVIDIA runtime or CDI device',
    message:
      '… needs a GPU (requireGpu is set) but this engine has none: …. On a host with an NVIDIA GPU: install the NVIDIA Container Toolkit, then …; or unset requireGpu to build the image without running it.',
    pattern:
      /\S+ needs a GPU \(requireGpu is set\) but this engine has none: .*\. On a host with an NVIDIA GPU: install the NVIDIA Container Toolkit, then .*; or unset requireGpu to build the image without running it\./,
    leaves: NO_CONTAINER,
  },
  'push.registry-down': {
    area: 'docker-push',
    situation: 'the registry is not running',
    message:
      'Registry … is unreachable (ECONNREFUSED on …/v2/). Start the registry, or point the registry option (or ML_DOCKER_REGISTRY) at one that runs.',
    pattern:
      /Registry \S+ is unreachable \(ECONNREFUSED on \S+\/v2\/\)\. Start the registry, or point the registry option \(or ML_DOCKER_REGISTRY\) at one that runs\./,
    leaves: 'no push record',
  },
  'push.auth-refused': {
    area: 'docker-push',
    situation: 'a registry requiring a login, with no or wrong credentials',
    message:
      'Registry … refused authentication (HTTP 401). Log in first: docker login … (for Artifact Registry: gcloud auth configure-docker …).',
    pattern:
      /Registry \S+ refused authentication \(HTTP 401\)\. Log in first: docker login \S+ \(for Artifact Registry: gcloud auth configure-docker \S+\)\./,
    leaves: 'no push record, no secret in any output',
  },
  'push.cut-too-often': {
    area: 'docker-push',
    situation: 'the connection cut on every attempt',
    message:
      'Pushing … failed after N attempt(s): …. Check that the registry is up and has space, then rerun.',
    pattern:
      /Pushing \S+ failed after \d+ attempt\(s\): .*\. Check that the registry is up and has space, then rerun\./,
    leaves:
      'no tag in the registry, the last push record as it was; a rerun completes the push',
  },
  'promote.unknown-environment': {
    area: 'docker-promote',
    situation:
      "`--from` or `--to` names no environment of the plugin options (nor the target's `environments`)",
    message:
      'Unknown environment "…" (--to). Known environments: …. Define it in nx.json\'s @ml/docker plugin options ("environments": {"…": {"registry": "<host>/<path>"}}) or in the target\'s environments option.',
    pattern:
      /Unknown environment "[^"]+" \(--(?:from|to)\)\. (?:Known environments: [^.]+\.|No environment is defined\.) Define it in nx\.json's @ml\/docker plugin options \("environments": \{"[^"]+": \{"registry": "<host>\/<path>"\}\}\) or in the target's environments option\./,
    leaves: PROMOTED_NOTHING,
  },
  'promote.untested': {
    area: 'docker-promote',
    situation:
      'the digest the source environment holds is not an image `docker-test` passed (built and pushed, never tested, or rebuilt since)',
    message:
      '…@sha256:… is not tested: its image sha256:… is not in the test record …/test-record.json. Run docker-test on it (nx run …:docker-test), push, then promote.',
    pattern:
      /\S+@sha256:[0-9a-f]{64} is not tested: its image sha256:[0-9a-f]{64} is not in the test record \S+\/test-record\.json\. Run docker-test on it \(nx run \S+:docker-test\), push, then promote\./,
    leaves: PROMOTED_NOTHING,
  },
  'promote.auth-refused': {
    area: 'docker-promote',
    situation:
      'the destination registry requires a login, with no or wrong credentials',
    message:
      'Registry … refused authentication (HTTP 401). Log in first: docker login … (for Artifact Registry: gcloud auth configure-docker …).',
    pattern:
      /Registry \S+ refused authentication \(HTTP 401\)\. Log in first: docker login \S+ \(for Artifact Registry: gcloud auth configure-docker \S+\)\./,
    leaves: `${PROMOTED_NOTHING}, no secret in any output`,
  },
  'promote.registry-down': {
    area: 'docker-promote',
    situation: "the destination environment's registry does not answer",
    message:
      'Registry … is unreachable (ECONNREFUSED on …/v2/). Start it, or fix the registry of environment "…" (--to) in nx.json\'s @ml/docker plugin options or the target\'s environments option.',
    pattern:
      /Registry \S+ is unreachable \(ECONNREFUSED on \S+\/v2\/\)\. Start it, or fix the registry of environment "[^"]+" \(--to\) in nx\.json's @ml\/docker plugin options or the target's environments option\./,
    leaves: PROMOTED_NOTHING,
  },
  'promote.cut-too-often': {
    area: 'docker-promote',
    situation: 'the copy cut on every attempt',
    message:
      'Promoting …@sha256:… failed after N attempt(s): …. Check that both registries are up, then rerun: nothing is tagged at the destination until the image is complete, and what arrived is kept.',
    pattern:
      /Promoting \S+ failed after \d+ attempt\(s\): .*\. Check that both registries are up, then rerun: nothing is tagged at the destination until the image is complete, and what arrived is kept\./,
    leaves:
      'no tag at the destination (the blobs that arrived stay); a rerun completes the copy',
  },
  'build.podman-missing': {
    area: 'docker-build',
    situation:
      '`engine: podman` and no podman on PATH (nor `ML_DOCKER_PODMAN`)',
    message:
      'engine "podman" was requested but podman is not installed (not on PATH). Install it (on Debian: apt-get install podman), set ML_DOCKER_PODMAN to its path, or set engine to "auto".',
    pattern:
      /engine "podman" was requested but podman is not installed \(not on PATH\)\. Install it \(on Debian: apt-get install podman\), set ML_DOCKER_PODMAN to its path, or set engine to "auto"\./,
    leaves: NO_IMAGE,
  },
  'build.remote-engine-down': {
    area: 'docker-build',
    situation:
      '`DOCKER_HOST=tcp://…` names an engine that does not answer (stopped, or its tunnel closed) and there is no podman to fall back to; docker-test and docker-push say the same',
    message:
      'Docker engine not reachable at tcp://…:… (Cannot connect to the Docker daemon at tcp://…:…. Is the docker daemon running?). Start it (…) or point DOCKER_HOST at a running engine.',
    pattern:
      /Docker engine not reachable at tcp:\/\/[^\s(]+ \(Cannot connect to the Docker daemon at tcp:\/\/\S+\. Is the docker daemon running\?\)\. Start it \(.*\) or point DOCKER_HOST at a running engine\./,
    leaves: NO_IMAGE,
  },
  'build.cache-push-refused': {
    area: 'docker-build',
    situation:
      '`engine: podman`: the registry refuses the cache layers Podman pushes while it builds (`--cache-to <image>-buildcache`), e.g. a login is needed and none was given. The line is cut at 300 characters, before the registry\'s "unauthorized"',
    message:
      'Build of <project>/<image> failed at Error: failed pushing cache to {{{"<registry>" "<repository>/<image>-buildcache"} "…"}}: trying to reuse blob sha256:… at destination: checking whether a blob sha256:… exists in …. Fix the Dockerfile or its inputs and rerun.',
    pattern:
      /Build of \S+\/\S+ failed at Error: failed pushing cache to \{\{\{"[^"]+" "[^"]+-buildcache"\} "[0-9a-f]+"\}\}: trying to reuse blob sha256:[0-9a-f]+ at destination: .*Fix the Dockerfile or its inputs and rerun\./,
    leaves: NO_IMAGE,
  },
  'deploy.no-serving-image': {
    area: 'nx g @ml/docker:deploy',
    situation:
      'the project has no serving image (`docker/inference/Dockerfile`, or the one `--image` names)',
    message:
      '…/docker/inference/Dockerfile does not exist, so there is no image to deploy. Generate it first (nx g @ml/docker:images --project=…), or name the serving image with --image.',
    pattern:
      /\S+\/docker\/[^/\s]+\/Dockerfile does not exist, so there is no image to deploy\. Generate it first \(nx g @ml\/docker:images --project=\S+\), or name the serving image with --image\./,
    leaves: 'nothing: no file written',
  },
  'deploy.edited-manifest': {
    area: 'nx g @ml/docker:deploy',
    situation:
      'a generated manifest was edited since (rerun without `--overwrite`)',
    message:
      '…/deploy/kubernetes/base/deployment.yaml was edited since it was generated; it was left as it is and nothing was written. Rerun with --overwrite to replace it (your edits are lost), or merge the changes by hand.',
    pattern:
      /\S+\/deploy\/\S+\.yaml was edited since it was generated; it was left as it is and nothing was written\. Rerun with --overwrite to replace it \(your edits are lost\), or merge the changes by hand\./,
    leaves: 'every file as it was',
  },
  'deploy.pin-without-push': {
    area: 'docker-deploy-manifests',
    situation:
      'nothing was pushed (run with `--excludeTaskDependencies`, or the push record deleted)',
    message:
      'No push record at …/push-record.json: the image was never pushed, so there is no tested digest to pin. Run nx run …:docker-push, then rerun.',
    pattern:
      /No push record at \S+\/push-record\.json: the image was never pushed, so there is no tested digest to pin\. Run nx run \S+:docker-push, then rerun\./,
    leaves: 'the manifests as they were',
  },
  'deploy.drift': {
    area: 'docker-check-manifests',
    situation:
      'hand-written manifests disagree with the image (here `runAsUser: 1000` and a liveness probe on `/healthz`); the message has one line per mismatch',
    message:
      "2 mismatches between the manifests and the image …: - …: Deployment/… container …: livenessProbe path /healthz is not served by the image (liveness /health, readiness /ready, from its labels). Probe /health. - …: runAsUser 1000, but the image's user is 10001:10001 (USER), which owns the folders it writes. Set runAsUser: 10001.",
    pattern:
      /2 mismatches between the manifests and the image \S+:\n(?:\S+: )?\s+- \S+: Deployment\/\S+ container \S+: livenessProbe path \/healthz is not served by the image \(liveness \/health, readiness \/ready, from its labels\)\. Probe \/health\.\n(?:\S+: )?\s+- \S+: Deployment\/\S+ container \S+: runAsUser 1000, but the image's user is 10001:10001 \(USER\), which owns the folders it writes\. Set runAsUser: 10001\./,
    leaves: 'nothing changed',
  },
} satisfies Record<string, FailureMode>;

export type FailureModeId = keyof typeof FAILURE_MODES;

/** The command failed the way the row says: exit status 1 and the row's line. */
export function expectFailure(r: Ran, id: FailureModeId): void {
  const mode: FailureMode = FAILURE_MODES[id];
  if (r.status !== FAILED || !mode.pattern.test(r.all)) {
    throw new Error(
      `Expected failure mode ${id} (exit ${FAILED}, ${mode.pattern}), got exit ${r.status}:\n${r.all.slice(-3000)}`,
    );
  }
}

/** The README's table, rows in the order above. */
export function failureModesTable(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = Object.values(FAILURE_MODES as Record<string, FailureMode>).map(
    (m) =>
      `| \`${m.area}\` | ${cell(m.situation)} | \`${cell(m.message)}\` | ${cell(m.leaves)} |`,
  );
  return [
    '| command | situation | the one line (`…` varies) | left behind |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
