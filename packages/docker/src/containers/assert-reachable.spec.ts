/**
 * docker-test publishes a service's port on 127.0.0.1 of the engine's host:
 * an engine on another machine is refused, one on this machine (socket,
 * loopback TCP, Podman's local store) is not. A unit test, not an e2e row:
 * the e2e suites never point DOCKER_HOST at an address off this machine.
 */
import { UserFacingError } from '../errors/errors';
import { assertReachable } from './test-service';

describe('assertReachable', () => {
  it.each([
    'unix:///var/run/docker.sock',
    'tcp://127.0.0.1:23750',
    'tcp://127.1.2.3:2375',
    'tcp://localhost:2375',
    'tcp://[::1]:2375',
    'ssh://ci@127.0.0.1',
    'local store',
  ])('accepts an engine on this machine: %s', (host) => {
    expect(() => assertReachable({ host })).not.toThrow();
  });

  it.each([
    'tcp://10.0.0.5:2375',
    'tcp://192.0.2.10:2376',
    'tcp://build-host.example:2375',
    'tcp://[2001:db8::1]:2375',
    'ssh://ci@build-host.example',
    'https://192.0.2.10:2376',
  ])('refuses an engine on another machine: %s', (host) => {
    let thrown: unknown;
    try {
      assertReachable({ host });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(UserFacingError);
    expect((thrown as Error).message).toBe(
      `The engine is on another machine (${host}): docker-test publishes a service's port on 127.0.0.1 of the engine's host, which this machine cannot reach. Run docker-test on that host, or reach the engine through a tunnel to 127.0.0.1 (e.g. ssh -L 2375:/var/run/docker.sock host, then DOCKER_HOST=tcp://127.0.0.1:2375).`,
    );
    // One line: the executor boundary prints it as is.
    expect((thrown as Error).message).not.toContain('\n');
  });
});
