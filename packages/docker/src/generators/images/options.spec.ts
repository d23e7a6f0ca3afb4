import { addProjectConfiguration, Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { UserFacingError } from '../../errors/errors';
import { projectRootOf, splitCommand, validateOptions } from './options';
import { ImagesGeneratorSchema } from './schema';

const ROOT = 'apps/synth';

function workspace(files: string[] = []): Tree {
  const tree = createTreeWithEmptyWorkspace();
  addProjectConfiguration(tree, 'synth', { root: ROOT });
  for (const f of files) tree.write(`${ROOT}/${f}`, 'x');
  return tree;
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserFacingError);
    return (e as Error).message;
  }
  throw new Error('expected a UserFacingError');
}

const validate = (
  options: Partial<ImagesGeneratorSchema>,
  tree = workspace(),
) => validateOptions(tree, { project: 'synth', ...options });

describe('splitCommand', () => {
  it.each<[string, string, string[]]>([
    ['one word', 'train', ['train']],
    [
      'words split on spaces',
      'python -m pkg.train --config configs/base.yaml',
      ['python', '-m', 'pkg.train', '--config', 'configs/base.yaml'],
    ],
    [
      'runs of spaces, tabs and newlines as one separator, at either end too',
      '  python\t-m \n pkg.train  ',
      ['python', '-m', 'pkg.train'],
    ],
    [
      'double quotes grouping spaces',
      'python -m pkg.train --name "my run"',
      ['python', '-m', 'pkg.train', '--name', 'my run'],
    ],
    [
      'single quotes grouping spaces',
      "python -m pkg.train --name 'my run'",
      ['python', '-m', 'pkg.train', '--name', 'my run'],
    ],
    [
      'a quote inside a word',
      'python -m pkg.train --name="my run"',
      ['python', '-m', 'pkg.train', '--name=my run'],
    ],
    [
      'the other quote kept inside quotes',
      `echo "it's" 'say "hi"'`,
      ['echo', "it's", 'say "hi"'],
    ],
    [
      'empty quotes as an empty argument',
      'train --tag ""',
      ['train', '--tag', ''],
    ],
    ['adjacent quoted parts as one argument', `a"b c"'d e'`, ['ab cd e']],
    [
      'shell syntax as plain text: no shell runs it',
      'python train.py && rm -rf / $(whoami) > out',
      ['python', 'train.py', '&&', 'rm', '-rf', '/', '$(whoami)', '>', 'out'],
    ],
  ])('reads %s', (_label, command, args) => {
    expect(splitCommand(command)).toEqual(args);
  });

  it.each<[string, string, string]>([
    [
      'an unclosed double quote',
      'python -m pkg.train --name "my run',
      '--trainingCommand has an unclosed " quote (got "python -m pkg.train --name \\"my run").',
    ],
    [
      'an unclosed single quote',
      "python -m pkg.train --tag it's",
      `--trainingCommand has an unclosed ' quote (got "python -m pkg.train --tag it's").`,
    ],
    [
      'an empty command',
      '',
      '--trainingCommand is empty: give the command and its arguments.',
    ],
    [
      'a command of spaces only',
      ' \t ',
      '--trainingCommand is empty: give the command and its arguments.',
    ],
  ])('refuses %s', (_label, command, message) => {
    expect(refusal(() => splitCommand(command))).toBe(message);
  });
});

describe('projectRootOf', () => {
  it('is the root of the project', () => {
    expect(projectRootOf(workspace(), 'synth')).toBe(ROOT);
  });

  it('refuses a project the workspace does not have', () => {
    expect(refusal(() => projectRootOf(workspace(), 'nope'))).toBe(
      'Project "nope" does not exist in this workspace. Check the name with: nx show projects',
    );
  });
});

describe('validateOptions', () => {
  it('fills in the defaults', () => {
    expect(validate({})).toEqual({
      projectName: 'synth',
      projectRoot: ROOT,
      images: ['training', 'inference'],
      imagesExplicit: false,
      baseImage: undefined,
      pythonVersion: '3.10',
      port: 8000,
      healthPath: undefined,
      appModule: undefined,
      trainingModule: undefined,
      trainingCommand: undefined,
      runtimeFiles: [],
      excludeRuntimeFiles: [],
      systemPackages: [],
      accelerator: { kind: 'cpu' },
      user: 'mluser',
      uid: 10001,
      sharedLibs: [],
      overwrite: false,
      skipFormat: false,
    });
  });

  it.each<[ImagesGeneratorSchema['image'], string[], boolean]>([
    [undefined, ['training', 'inference'], false],
    ['all', ['training', 'inference'], true],
    ['training', ['training'], true],
    ['inference', ['inference'], true],
  ])('--image=%s selects %j (explicit: %s)', (image, images, explicit) => {
    const o = validate({ image });
    expect(o.images).toEqual(images);
    expect(o.imagesExplicit).toBe(explicit);
  });

  it.each<
    [
      string,
      Partial<ImagesGeneratorSchema>,
      Partial<ReturnType<typeof validate>>,
    ]
  >([
    ['pythonVersion', { pythonVersion: '3.12' }, { pythonVersion: '3.12' }],
    [
      'baseImage with a registry, a port and a digest',
      {
        baseImage: `registry.local:5000/mirror/python:3.11-slim@sha256:${'0'.repeat(64)}`,
      },
      {
        baseImage: `registry.local:5000/mirror/python:3.11-slim@sha256:${'0'.repeat(64)}`,
      },
    ],
    ['port 1', { port: 1 }, { port: 1 }],
    ['port 65535', { port: 65535 }, { port: 65535 }],
    [
      'healthPath',
      { healthPath: '/api/v1/health-z_~.x' },
      { healthPath: '/api/v1/health-z_~.x' },
    ],
    ['healthPath /', { healthPath: '/' }, { healthPath: '/' }],
    ['readyPath', { readyPath: '/ready/deep' }, { readyPath: '/ready/deep' }],
    [
      'appModule',
      { appModule: 'pkg.serve.app:create_app' },
      { appModule: 'pkg.serve.app:create_app' },
    ],
    [
      'trainingModule',
      { trainingModule: 'pkg.train' },
      { trainingModule: 'pkg.train' },
    ],
    [
      'trainingCommand, split into arguments',
      { trainingCommand: 'python -m pkg.train --name "my run"' },
      { trainingCommand: ['python', '-m', 'pkg.train', '--name', 'my run'] },
    ],
    ['user with digits, _ and -', { user: '_svc-ml2' }, { user: '_svc-ml2' }],
    ['a 32-character user', { user: 'a'.repeat(32) }, { user: 'a'.repeat(32) }],
    ['uid 1000', { uid: 1000 }, { uid: 1000 }],
    [
      'accelerator cuda',
      { accelerator: 'cuda' },
      { accelerator: { kind: 'cuda' } },
    ],
    [
      'accelerator cuda12.4',
      { accelerator: 'cuda12.4' },
      { accelerator: { kind: 'cuda', cuda: '12.4' } },
    ],
    [
      'systemPackages as one comma-separated value, spaces trimmed, empties dropped',
      { systemPackages: ' libpq5, libgomp1 ,,' as never },
      { systemPackages: ['libpq5', 'libgomp1'] },
    ],
    [
      'systemPackages as an array of lists',
      { systemPackages: ['libpq5', 'libgomp1,g++', 'libstdc++6'] },
      { systemPackages: ['libpq5', 'libgomp1', 'g++', 'libstdc++6'] },
    ],
    [
      'sharedLibs as a list',
      { sharedLibs: ['ml-common,features'] },
      { sharedLibs: ['ml-common', 'features'] },
    ],
    ['overwrite', { overwrite: true }, { overwrite: true }],
    ['skipFormat', { skipFormat: true }, { skipFormat: true }],
  ])('takes %s', (_label, options, expected) => {
    expect(validate(options, workspace(['conf/a.yaml']))).toMatchObject(
      expected,
    );
  });

  it('takes runtime files that exist, relative to the project, without a leading ./', () => {
    const o = validate(
      {
        runtimeFiles: ['./conf/', 'feature_store.yaml'],
        excludeRuntimeFiles: ['./params.yaml'],
      },
      workspace(['conf/base.yaml', 'feature_store.yaml']),
    );
    expect(o.runtimeFiles).toEqual(['conf/', 'feature_store.yaml']);
    // Exclusions need not exist: they name what inspection would find.
    expect(o.excludeRuntimeFiles).toEqual(['params.yaml']);
  });

  it.each<[string, Partial<ImagesGeneratorSchema>, string]>([
    [
      'an unknown image',
      { image: 'both' as never },
      '--image must be all, training or inference (got "both").',
    ],
    ...['3', '2.7', '3.10.4', 'latest', '3.100'].map(
      (pythonVersion): [string, Partial<ImagesGeneratorSchema>, string] => [
        `pythonVersion ${pythonVersion}`,
        { pythonVersion },
        `--pythonVersion must look like 3.10 (got "${pythonVersion}").`,
      ],
    ),
    ...[
      'python 3.10',
      'python:3.10;rm -rf /',
      '$(x)',
      '-python',
      'python@sha256:abc',
      '',
    ].map((baseImage): [string, Partial<ImagesGeneratorSchema>, string] => [
      `baseImage ${JSON.stringify(baseImage)}`,
      { baseImage },
      `--baseImage "${baseImage}" is not an image reference (e.g. python:3.10-slim or registry/path/image:tag).`,
    ]),
    ...[0, 65536, 1.5, -1, Number.NaN].map(
      (port): [string, Partial<ImagesGeneratorSchema>, string] => [
        `port ${port}`,
        { port },
        `--port must be an integer from 1 to 65535 (got ${port}).`,
      ],
    ),
    ...(['healthPath', 'readyPath'] as const).flatMap((option) =>
      ['health', '/he alth', '/$(x)', "/h'+'x", '/a?b=1', ''].map(
        (path): [string, Partial<ImagesGeneratorSchema>, string] => [
          `${option} ${JSON.stringify(path)}`,
          { [option]: path },
          `--${option} must start with / and hold only letters, digits and . _ ~ - / (got "${path}").`,
        ],
      ),
    ),
    ...[
      'src/model/train',
      'src.model.train:main',
      'src.model.',
      '1pkg.train',
      '',
    ].map(
      (trainingModule): [string, Partial<ImagesGeneratorSchema>, string] => [
        `trainingModule ${JSON.stringify(trainingModule)}`,
        { trainingModule },
        `--trainingModule must be a dotted Python module such as src.model.train (got "${trainingModule}").`,
      ],
    ),
    ...[
      'src.serve.app',
      'src/serve/app:app',
      'src.serve.app:create_app()',
      ':app',
      'a:b:c',
    ].map((appModule): [string, Partial<ImagesGeneratorSchema>, string] => [
      `appModule ${JSON.stringify(appModule)}`,
      { appModule },
      `--appModule must look like package.module:app (got "${appModule}").`,
    ]),
    ...['MLUser', '1ml', 'ml user', 'a'.repeat(33), ''].map(
      (user): [string, Partial<ImagesGeneratorSchema>, string] => [
        `user ${JSON.stringify(user)}`,
        { user },
        `--user must be a valid Linux user name such as mluser (got "${user}").`,
      ],
    ),
    ...[999, 0, -1, 10001.5].map(
      (uid): [string, Partial<ImagesGeneratorSchema>, string] => [
        `uid ${uid}`,
        { uid },
        `--uid must be a number of at least 1000, so the user is not a system or root account (got ${uid}).`,
      ],
    ),
    ...['LibPQ5', 'libpq5;rm', 'lib pq', '-y', 'a', 'libpq5=1.0', '$(x)'].map(
      (name): [string, Partial<ImagesGeneratorSchema>, string] => [
        `the system package ${JSON.stringify(name)}`,
        { systemPackages: ['libpq5', name] },
        `--systemPackages: "${name}" is not a Debian package name (lowercase letters, digits and + . -, e.g. libpq5).`,
      ],
    ),
    ...[
      [
        'runtimeFiles',
        { runtimeFiles: ['../other/conf.yaml'] },
        '../other/conf.yaml',
      ],
      ['runtimeFiles', { runtimeFiles: ['/etc/passwd'] }, '/etc/passwd'],
      ['runtimeFiles', { runtimeFiles: ['conf/../../x'] }, 'conf/../../x'],
      [
        'excludeRuntimeFiles',
        { excludeRuntimeFiles: ['my conf.yaml'] },
        'my conf.yaml',
      ],
      ['excludeRuntimeFiles', { excludeRuntimeFiles: ['..'] }, '..'],
    ].map(
      ([key, options, path]): [
        string,
        Partial<ImagesGeneratorSchema>,
        string,
      ] => [
        `${key} ${JSON.stringify(path)}`,
        options as Partial<ImagesGeneratorSchema>,
        `"${path}" is not a path inside the project (relative, no .., no spaces): fix --runtimeFiles / --excludeRuntimeFiles.`,
      ],
    ),
    [
      'runtimeFiles that do not exist',
      { runtimeFiles: ['conf/a.yaml', 'settings/'] },
      '--runtimeFiles names settings/, which does not exist in apps/synth. Check the path (relative to the project).',
    ],
    [
      'a trainingCommand with an unclosed quote',
      { trainingCommand: "python -m x --tag 'a" },
      `--trainingCommand has an unclosed ' quote (got "python -m x --tag 'a").`,
    ],
    [
      'an empty trainingCommand',
      { trainingCommand: '' },
      '--trainingCommand is empty: give the command and its arguments.',
    ],
    [
      'an unknown accelerator',
      { accelerator: 'gpu' },
      'Unknown accelerator "gpu". Use --accelerator=cpu, --accelerator=cuda (newest CUDA build), --accelerator=cuda12 (newest CUDA 12.x) or --accelerator=cuda12.4 (that CUDA version).',
    ],
  ])('refuses %s', (_label, options, message) => {
    expect(refusal(() => validate(options, workspace(['conf/a.yaml'])))).toBe(
      message,
    );
  });

  it('checks the project first', () => {
    expect(
      refusal(() =>
        validateOptions(workspace(), { project: 'nope', port: 0, user: 'X' }),
      ),
    ).toBe(
      'Project "nope" does not exist in this workspace. Check the name with: nx show projects',
    );
  });
});
