import {
  healthcheckExecArgs,
  isRootUser,
  jobRunArgs,
  readOnlyArgs,
  serviceRunArgs,
} from './run-args';

describe('isRootUser', () => {
  it.each([
    ['', true],
    ['0', true],
    ['0:0', true],
    ['root', true],
    ['root:root', true],
    [' 0 ', true],
    ['10001:10001', false],
    ['10001', false],
    ['mluser', false],
    ['1000:0', false],
  ])('says USER %j is root: %s', (user, root) => {
    expect(isRootUser(user)).toBe(root);
  });
});

describe('serviceRunArgs', () => {
  it('publishes the port on 127.0.0.1 only, on a port Docker picks, with the owner label', () => {
    expect(
      serviceRunArgs('mld-synth-inference-1234abcd', 'sha256:abc', 8000, {}),
    ).toEqual([
      'run',
      '--detach',
      '--name',
      'mld-synth-inference-1234abcd',
      '--label',
      'ml-docker.owner=test',
      '--publish',
      '127.0.0.1::8000',
      'sha256:abc',
    ]);
  });

  it('passes env before the image, each value as one element', () => {
    const args = serviceRunArgs('c', 'sha256:abc', 9000, {
      A: '1',
      NOTE: 'two words $(id)',
    });
    expect(args.slice(args.indexOf('127.0.0.1::9000') + 1)).toEqual([
      '--env',
      'A=1',
      '--env',
      'NOTE=two words $(id)',
      'sha256:abc',
    ]);
  });

  it('never publishes on all interfaces', () => {
    const args = serviceRunArgs('c', 'img', 8080, {});
    const published = args.filter(
      (_a, i) => args[i - 1] === '--publish' || args[i - 1] === '-p',
    );
    expect(published).toEqual(['127.0.0.1::8080']);
  });
});

describe('readOnlyArgs', () => {
  const RO = ['--read-only', '--tmpfs', '/tmp:mode=1777'];
  it.each<[string, string, string[], string, string[]]>([
    ['nothing declared: /tmp alone', '/app', [], '10001:10001', RO],
    [
      'folders under the working directory, as the label names them, owned by the numeric user',
      '/app',
      ['logs/', 'data/cache/'],
      '10001:10001',
      [
        ...RO,
        '--tmpfs',
        '/app/logs:mode=1777,uid=10001,gid=10001',
        '--tmpfs',
        '/app/data/cache:mode=1777,uid=10001,gid=10001',
      ],
    ],
    [
      'a user without a group: its uid alone',
      '/app',
      ['logs'],
      '20000',
      [...RO, '--tmpfs', '/app/logs:mode=1777,uid=20000'],
    ],
    [
      'a user by name: world-writable, as an emptyDir',
      '/app',
      ['logs'],
      'mluser',
      [...RO, '--tmpfs', '/app/logs:mode=1777'],
    ],
    [
      'an absolute folder as it is, /tmp once',
      '/app',
      ['/tmp/', '/var/cache/app', '/var/cache/app/'],
      '',
      [...RO, '--tmpfs', '/var/cache/app:mode=1777'],
    ],
    [
      'no working directory: the root',
      '',
      ['logs'],
      '10001:10001',
      [...RO, '--tmpfs', '/logs:mode=1777,uid=10001,gid=10001'],
    ],
  ])('%s', (_label, workingDir, writable, user, expected) => {
    expect(readOnlyArgs(workingDir, writable, user)).toEqual(expected);
  });
});

describe('jobRunArgs', () => {
  it('puts mounts, then env, then the image, then the command', () => {
    expect(
      jobRunArgs(
        'mld-synth-training-1',
        'sha256:def',
        [
          ['/tmp/ml-docker-job-x/models', '/app/models'],
          ['/tmp/ml-docker-job-x/metrics', '/app/metrics'],
        ],
        { EPOCHS: '1', MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' },
        ['python', '-m', 'src.model.train'],
      ),
    ).toEqual([
      'run',
      '--name',
      'mld-synth-training-1',
      '--label',
      'ml-docker.owner=test',
      '--volume',
      '/tmp/ml-docker-job-x/models:/app/models',
      '--volume',
      '/tmp/ml-docker-job-x/metrics:/app/metrics',
      '--env',
      'EPOCHS=1',
      '--env',
      'MLFLOW_TRACKING_URI=file:///tmp/mlruns',
      'sha256:def',
      'python',
      '-m',
      'src.model.train',
    ]);
  });

  it("ends with the image, keeping the image's CMD, when no command is given", () => {
    const args = jobRunArgs('c', 'sha256:def', [], {});
    expect(args).toEqual([
      'run',
      '--name',
      'c',
      '--label',
      'ml-docker.owner=test',
      'sha256:def',
    ]);
  });

  it('runs the job in the foreground, without --detach or --rm', () => {
    const args = jobRunArgs('c', 'img', [['/h', '/c']], {});
    expect(args).not.toContain('--detach');
    expect(args).not.toContain('--rm');
  });
});

describe('healthcheckExecArgs', () => {
  it.each<[string, string[], string[] | undefined]>([
    [
      'CMD',
      [
        'CMD',
        'python',
        '-c',
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')",
      ],
      [
        'exec',
        'c1',
        'python',
        '-c',
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')",
      ],
    ],
    [
      'CMD-SHELL',
      ['CMD-SHELL', 'curl -f http://localhost/health || exit 1'],
      [
        'exec',
        'c1',
        '/bin/sh',
        '-c',
        'curl -f http://localhost/health || exit 1',
      ],
    ],
    ['NONE', ['NONE'], undefined],
    ['an empty test', [], undefined],
  ])('runs a %s healthcheck as docker would', (_kind, test, args) => {
    expect(healthcheckExecArgs('c1', test)).toEqual(args);
  });
});
