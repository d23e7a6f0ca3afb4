/**
 * Probe timings from the time to ready docker-test measured. The startup
 * probe gets three times that (at least 30 s): a cluster node pulls the image
 * cold and shares its CPU, where docker-test ran on a warm engine. Without a
 * measurement, a minute to ready is assumed, and the files say so.
 */
import type { ServingFacts } from './image-facts';

/** Assumed time to ready when docker-test has not measured one. */
export const DEFAULT_TIME_TO_READY_MS = 60_000;
const STARTUP_FACTOR = 3;
const MIN_STARTUP_S = 30;
const STARTUP_PERIOD_S = 5;

export interface HttpProbe {
  httpGet: { path: string; port: number | string };
  periodSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  successThreshold?: number;
}

export interface Probes {
  startupProbe: HttpProbe;
  readinessProbe: HttpProbe;
  livenessProbe: HttpProbe;
  /** How long the startup probe waits in all, in seconds. */
  startupBudgetSeconds: number;
}

export function probesFor(
  facts: Pick<ServingFacts, 'livenessPath' | 'readinessPath' | 'timeToReadyMs'>,
  port: number | string,
): Probes {
  const readyS = (facts.timeToReadyMs ?? DEFAULT_TIME_TO_READY_MS) / 1000;
  const failureThreshold = Math.ceil(
    Math.max(MIN_STARTUP_S, STARTUP_FACTOR * readyS) / STARTUP_PERIOD_S,
  );
  const get = (path: string) => ({ path, port });
  return {
    // Liveness waits for this one, so a model that loads slowly is not killed
    // for it; a model that never loads is, once the budget is spent.
    startupProbe: {
      httpGet: get(facts.readinessPath),
      periodSeconds: STARTUP_PERIOD_S,
      timeoutSeconds: 5,
      failureThreshold,
    },
    readinessProbe: {
      httpGet: get(facts.readinessPath),
      periodSeconds: 5,
      timeoutSeconds: 3,
      failureThreshold: 3,
      successThreshold: 1,
    },
    livenessProbe: {
      httpGet: get(facts.livenessPath),
      periodSeconds: 15,
      timeoutSeconds: 5,
      failureThreshold: 3,
    },
    startupBudgetSeconds: failureThreshold * STARTUP_PERIOD_S,
  };
}
