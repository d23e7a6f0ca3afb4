import {
  parseRequirement,
  requirementName,
  requirementsLines,
  torchPinOf,
} from './requirements';

describe('requirementsLines', () => {
  it.each<[string, string, Array<[number, string]>]>([
    [
      'comments after whitespace, not inside a URL',
      'fastapi  # web\n# whole line\npkg @ https://x.dev/p-1.0.tar.gz#sha256=ab\n',
      [
        [1, 'fastapi'],
        [3, 'pkg @ https://x.dev/p-1.0.tar.gz#sha256=ab'],
      ],
    ],
    [
      'continuations keep the first line number, and later lines keep theirs',
      'torch==2.5.1 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n-r missing.txt\n',
      [
        [1, 'torch==2.5.1     --hash=sha256:aa     --hash=sha256:bb'],
        [4, '-r missing.txt'],
      ],
    ],
    [
      'CRLF and blank lines',
      'a\r\n\r\n  b  \r\n',
      [
        [1, 'a'],
        [3, 'b'],
      ],
    ],
  ])('%s', (_, text, lines) => {
    expect(requirementsLines(text).map((l) => [l.line, l.text])).toEqual(lines);
  });
});

describe('parseRequirement', () => {
  it.each<[string, ReturnType<typeof parseRequirement>]>([
    [
      'uvicorn[standard]>=0.30',
      { name: 'uvicorn', extras: ['standard'], specifier: '>=0.30' },
    ],
    [
      'numpy>=1.26; python_version<"3.12"',
      {
        name: 'numpy',
        extras: [],
        specifier: '>=1.26',
        marker: 'python_version<"3.12"',
      },
    ],
    [
      'requests (>=2.31, <3)',
      { name: 'requests', extras: [], specifier: '>=2.31,<3' },
    ],
    ['requests(>=2.31)', { name: 'requests', extras: [], specifier: '>=2.31' }],
    [
      'Zope.Interface_X',
      { name: 'zope-interface-x', extras: [], specifier: '' },
    ],
    [
      'scikit-learn==1.4.2 --hash=sha256:abc',
      { name: 'scikit-learn', extras: [], specifier: '==1.4.2' },
    ],
    [
      'mypkg @ https://example.com/mypkg-1.0.tar.gz ; sys_platform == "linux"',
      {
        name: 'mypkg',
        extras: [],
        specifier: '==1.0',
        url: 'https://example.com/mypkg-1.0.tar.gz',
        marker: 'sys_platform == "linux"',
      },
    ],
    [
      './wheels/My_Pkg-2.0-py3-none-any.whl',
      {
        name: 'my-pkg',
        extras: [],
        specifier: '==2.0',
        url: './wheels/My_Pkg-2.0-py3-none-any.whl',
      },
    ],
    [
      'git+https://github.com/o/r.git@v1#egg=r_lib',
      {
        name: 'r-lib',
        extras: [],
        specifier: '',
        url: 'git+https://github.com/o/r.git@v1#egg=r_lib',
      },
    ],
    ['--index-url https://x', undefined],
    ['-e .', undefined],
    ['./libs/shared', undefined],
    ['not a requirement!', undefined],
  ])('%s', (line, expected) => {
    expect(parseRequirement(line)).toEqual(expected);
  });

  it('names a requirement line', () => {
    expect(requirementName('Flask_SQLAlchemy[async]~=3.1')).toBe(
      'flask-sqlalchemy',
    );
  });
});

describe('torchPinOf', () => {
  it.each<[string, string[], string | undefined]>([
    ['an exact pin', ['torch==2.5.1'], '2.5.1'],
    ['an exact pin with a local version', ['torch==2.5.1+cu121'], '2.5.1'],
    [
      'a pin with spaces, a marker and a comment',
      ['torch == 2.4.0 ; python_version >= "3.9"  # GPU'],
      '2.4.0',
    ],
    [
      'a pin with hashes (pip-compile)',
      ['torch==2.5.1 --hash=sha256:aa --hash=sha256:bb'],
      '2.5.1',
    ],
    ['a pin with extras', ['torch[opt-einsum]==2.4.1'], '2.4.1'],
    [
      'a wheel URL',
      [
        'torch @ https://download.pytorch.org/whl/cu121/torch-2.5.1%2Bcu121-cp311-cp311-linux_x86_64.whl',
      ],
      '2.5.1',
    ],
    ['a release line', ['torch==2.5.*'], '2.5'],
    ['a compatible release of a patch', ['torch~=2.5.0'], '2.5'],
    ['a compatible release of a minor (2.x)', ['torch~=2.5'], undefined],
    ['a range', ['torch>=2.2,<2.6'], undefined],
    ['no version', ['torch'], undefined],
    ['torchvision only', ['torchvision==0.20.1'], undefined],
    ['the torch line among others', ['numpy==2.1.0', 'Torch==2.6.0'], '2.6.0'],
  ])('%s: %j', (_label, lines, pin) => {
    expect(torchPinOf(lines)).toBe(pin);
  });
});
