/**
 * What a deployment manifest must agree with, read from the image's own
 * Dockerfile (the labels docker-test reads, EXPOSE, USER, WORKDIR) and, when
 * docker-test has run, from its test record: the measured time to ready.
 */
import { DockerfileParser } from 'dockerfile-ast';
import { posix } from 'node:path';
import { labelValue } from '../dockerfile/dockerfile';
import { fail } from '../errors/errors';
import {
  HEALTH_PATH_LABEL,
  READY_PATH_LABEL,
  WRITABLE_LABEL,
} from '../names/names';
import type { TestRecord } from '../record/test-record';

export interface ServingFacts {
  /** Image key inside the project (inference). */
  image: string;
  port: number;
  uid: number;
  gid: number;
  livenessPath: string;
  /** The liveness path when the image declares no readiness path of its own. */
  readinessPath: string;
  /** Absolute folders the app writes; everything else can be read-only. */
  writable: string[];
  /** From the test record; undefined when docker-test has not recorded one. */
  timeToReadyMs?: number;
  /** Where the timings came from, said in the generated files. */
  timingsFrom: 'test record' | 'defaults';
}

function instructionArgs(text: string, keyword: string): string[][] {
  return DockerfileParser.parse(text)
    .getInstructions()
    .filter((i) => i.getKeyword() === keyword)
    .map((i) => i.getArguments().map((a) => a.getValue()));
}

/**
 * The serving facts of one image. dockerfilePath is only for messages. The
 * last EXPOSE, USER and WORKDIR count, as in the image itself.
 */
export function servingFacts(
  image: string,
  dockerfile: string,
  dockerfilePath: string,
  testRecord?: TestRecord,
): ServingFacts {
  const regenerate = `Generate it with nx g @ml/docker:images, or fix ${dockerfilePath} by hand`;
  const expose = instructionArgs(dockerfile, 'EXPOSE').at(-1)?.[0];
  const port = Number(expose?.replace(/\/tcp$/, ''));
  if (!expose || !Number.isInteger(port) || port < 1 || port > 65535)
    fail(
      `${dockerfilePath} has no EXPOSE with a port number, so a manifest cannot say which port the image serves. ${regenerate}.`,
    );
  const user = instructionArgs(dockerfile, 'USER').at(-1)?.[0];
  const ids = /^(\d+)(?::(\d+))?$/.exec(user ?? '');
  if (!ids || Number(ids[1]) === 0)
    fail(
      `${dockerfilePath} runs as ${user ? `USER ${user}` : 'root (no USER)'}; runAsNonRoot needs a numeric non-root USER such as 10001:10001. ${regenerate}.`,
    );
  const livenessPath = labelValue(dockerfile, HEALTH_PATH_LABEL);
  if (!livenessPath)
    fail(
      `${dockerfilePath} has no ${HEALTH_PATH_LABEL} label, so the probes would be guesses. ${regenerate}.`,
    );
  const workdir = instructionArgs(dockerfile, 'WORKDIR').at(-1)?.[0] ?? '/';
  const writable = (labelValue(dockerfile, WRITABLE_LABEL) ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((f) => posix.resolve(workdir, f));
  const tested = testRecord?.images.find((i) => i.image === image)?.service;
  return {
    image,
    port,
    uid: Number(ids[1]),
    gid: Number(ids[2] ?? ids[1]),
    livenessPath,
    readinessPath: labelValue(dockerfile, READY_PATH_LABEL) ?? livenessPath,
    writable,
    timeToReadyMs: tested?.timeToReadyMs,
    timingsFrom: tested ? 'test record' : 'defaults',
  };
}
