import { parseToml } from './readers/toml';
import { readPyproject, TomlError } from './pyproject';

describe('parseToml', () => {
  it.each<[string, string, unknown]>([
    [
      'tables, dotted keys and quoted keys',
      '[project]\nname = "x"\nurls.Homepage = "https://x.dev"\n"quoted key" = 1\n\'literal key\' = 2\n',
      {
        project: {
          name: 'x',
          urls: { Homepage: 'https://x.dev' },
          'quoted key': 1,
          'literal key': 2,
        },
      },
    ],
    [
      'nested headers after their parent, and a parent after its child',
      '[tool.poetry.dependencies]\npython = "^3.11"\n[tool.poetry]\nname = "p"\n',
      { tool: { poetry: { dependencies: { python: '^3.11' }, name: 'p' } } },
    ],
    [
      'arrays of tables, and sub-tables of their last element',
      '[[tool.poetry.source]]\nname = "a"\n[[tool.poetry.source]]\nname = "b"\n[tool.poetry.source.extra]\nk = true\n',
      {
        tool: {
          poetry: {
            source: [{ name: 'a' }, { name: 'b', extra: { k: true } }],
          },
        },
      },
    ],
    [
      'arrays over several lines with comments and a trailing comma',
      'dependencies = [\n  "fastapi>=0.110",  # web\n  # a comment line\n  "uvicorn[standard]",\n]\n',
      { dependencies: ['fastapi>=0.110', 'uvicorn[standard]'] },
    ],
    [
      'inline tables, nested',
      'torch = { version = "^2.2", source = "pytorch", markers = { os = "linux" } }\n',
      {
        torch: {
          version: '^2.2',
          source: 'pytorch',
          markers: { os: 'linux' },
        },
      },
    ],
    [
      'basic strings with escapes',
      's = "tab\\there \\"quoted\\" \\u00e9 \\U0001F600 back\\\\slash"\n',
      { s: 'tab\there "quoted" é 😀 back\\slash' },
    ],
    [
      'literal strings, which keep backslashes',
      "path = 'C:\\Users\\x'\nregex = '<\\i\\c*\\s*>'\n",
      { path: 'C:\\Users\\x', regex: '<\\i\\c*\\s*>' },
    ],
    [
      'multi-line basic strings: first newline trimmed, line-ending backslash',
      's = """\nRoses\nare red"""\nt = """\\\n    one \\\n    two"""\nu = """a ""quoted"" b"""""\n',
      { s: 'Roses\nare red', t: 'one two', u: 'a ""quoted"" b""' },
    ],
    [
      'multi-line literal strings',
      "s = '''\nfirst\\n\n  second'''\n",
      { s: 'first\\n\n  second' },
    ],
    [
      'numbers in every notation',
      'a = 42\nb = -17\nc = 1_000\nd = 0xDEAD_beef\ne = 0o755\nf = 0b1101\ng = 3.14\nh = -1e-3\ni = 6.626E-34\nj = inf\nk = -inf\n',
      {
        a: 42,
        b: -17,
        c: 1000,
        d: 0xdeadbeef,
        e: 0o755,
        f: 0b1101,
        g: 3.14,
        h: -0.001,
        i: 6.626e-34,
        j: Infinity,
        k: -Infinity,
      },
    ],
    [
      'booleans and dates (kept as ISO text)',
      'on = true\noff = false\nwhen = 1979-05-27T07:32:00Z\nday = 1979-05-27\nat = 07:32:00\nlocal = 1979-05-27 07:32:00\n',
      {
        on: true,
        off: false,
        when: '1979-05-27T07:32:00.000Z',
        day: '1979-05-27',
        at: '07:32:00.000',
        local: '1979-05-27T07:32:00.000',
      },
    ],
    [
      'CRLF line endings and comments everywhere',
      '# top\r\n[a] # header comment\r\nb = 1 # value comment\r\n',
      { a: { b: 1 } },
    ],
    [
      'empty inline tables and arrays',
      'a = {}\nb = []\nc = [[1, 2], ["x"]]\n',
      { a: {}, b: [], c: [[1, 2], ['x']] },
    ],
  ])('reads %s', (_, text, expected) => {
    expect(parseToml(text)).toEqual(expected);
  });

  it('reads nan', () => {
    expect(parseToml('x = nan\n').x).toBeNaN();
  });

  // The wording is smol-toml's; what callers rely on is TomlError and its line.
  it.each<[string, string, number]>([
    ['a value without quotes', 'name = fastapi\n', 1],
    ['a missing =', '[project]\nname "x"\n', 2],
    ['a missing value', 'name =\n', 1],
    ['an array without commas', 'a = [\n  "x"\n  "y"\n]\n', 3],
    ['an unclosed string', 'a = "x\n', 1],
    ['an unclosed multi-line string', 'a = """\nx\n', 2],
    ['a duplicate key', 'a = 1\na = 2\n', 2],
    ['a table defined twice', '[a]\nx = 1\n[a]\ny = 2\n', 3],
    ['a table over a dotted-key table', '[a]\nb.c = 1\n[a.b]\n', 3],
    ['extending an inline table', 'a = { b = 1 }\na.c = 2\n', 2],
    ['a header over a value', 'a = 1\n[a.b]\n', 2],
    ['an array of tables over a table', '[a]\n[[a]]\n', 2],
    ['two values on one line', 'a = 1 b = 2\n', 1],
    ['a leading zero', 'a = 012\n', 1],
    ['a stray underscore', 'a = 1__0\n', 1],
    ['an unknown escape', 'a = "\\q"\n', 1],
    ['an unclosed header', '[project\nname = "x"\n', 1],
    // Refused by tomllib, accepted by the hand-written reader this replaced:
    ['a raw control character in a string', 'a = "x\u0001y"\n', 1],
    ['an hour 25', '[t]\nat = 25:00:00\n', 2],
    ['a day 32', 'd = 2024-01-32\n', 1],
    ['a byte order mark', '\ufeff[project]\nname = "x"\n', 1],
  ])('refuses %s', (_, text, line) => {
    let error: unknown;
    try {
      parseToml(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TomlError);
    expect((error as TomlError).line).toBe(line);
    expect((error as Error).message).toMatch(new RegExp(`^line ${line}: \\S`));
  });
});

describe('readPyproject', () => {
  it('reads PEP 621 metadata, optional dependencies, scripts and groups', () => {
    const p = readPyproject(`
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "demand-forecast"
version = "1.0.0"
readme = { file = "README.rst", content-type = "text/x-rst" }
license = { file = "LICENSE.txt" }
license-files = ["NOTICE", "LICENSES/*"]
dependencies = ["pandas>=2", "lightgbm"]

[project.optional-dependencies]
serve = ["fastapi", "uvicorn"]
test = ["pytest"]

[project.scripts]
forecast-train = "forecast.train:main"

[dependency-groups]
dev = ["ruff", { include-group = "test" }]
test = ["pytest"]

[tool.setuptools.packages.find]
where = ["src"]
include = ["forecast*"]

[tool.setuptools.dynamic]
readme = { file = ["README.rst"] }

[tool.uv]
dev-dependencies = ["ipython"]
`);
    expect(p).toEqual({
      project: {
        name: 'demand-forecast',
        dependencies: ['pandas>=2', 'lightgbm'],
        optionalDependencies: {
          serve: ['fastapi', 'uvicorn'],
          test: ['pytest'],
        },
        scripts: { 'forecast-train': 'forecast.train:main' },
        readme: 'README.rst',
        licenseFiles: ['LICENSE.txt', 'NOTICE'],
        dynamic: [],
      },
      buildSystem: {
        requires: ['setuptools>=68', 'wheel'],
        backend: 'setuptools.build_meta',
      },
      dependencyGroups: { dev: ['ruff'], test: ['pytest'] },
      toolDevDependencies: { '[tool.uv] dev-dependencies': ['ipython'] },
      setuptools: {
        findWhere: ['src'],
        findInclude: ['forecast*'],
        dynamicFiles: ['README.rst'],
        dependencyFiles: [],
      },
      versionFromVcs: false,
    });
  });

  it('reads poetry: dependencies without python, groups, the old dev-dependencies, packages', () => {
    const p = readPyproject(`
[tool.poetry]
name = "sentiment"
readme = ["README.md", "CHANGES.md"]
packages = [{ include = "sentiment", from = "src" }, { include = "extra.py" }]

[tool.poetry.dependencies]
python = "^3.11"
torch = { version = "^2.2", source = "pytorch" }

[tool.poetry.dev-dependencies]
black = "*"

[tool.poetry.group.docs.dependencies]
mkdocs = "*"

[tool.poetry.extras]
gpu = ["cupy"]

[tool.poetry.scripts]
train = "sentiment.train:main"
`);
    expect(p.poetry).toEqual({
      name: 'sentiment',
      packageMode: true,
      dependencies: ['torch'],
      groups: { docs: ['mkdocs'], dev: ['black'] },
      extras: { gpu: ['cupy'] },
      scripts: { train: 'sentiment.train:main' },
      packages: [
        { include: 'sentiment', from: 'src' },
        { include: 'extra.py' },
      ],
      readme: ['README.md', 'CHANGES.md'],
    });
  });

  it.each<[string, string, boolean]>([
    [
      'setuptools-scm',
      '[build-system]\nrequires = ["setuptools", "setuptools_scm[toml]>=8"]\n[project]\nname = "x"\ndynamic = ["version"]\n',
      true,
    ],
    [
      'hatch-vcs',
      '[build-system]\nrequires = ["hatchling", "hatch-vcs"]\n[project]\nname = "x"\ndynamic = ["version"]\n[tool.hatch.version]\nsource = "vcs"\n',
      true,
    ],
    [
      'a version read from a file',
      '[build-system]\nrequires = ["setuptools", "setuptools-scm"]\n[project]\nname = "x"\ndynamic = ["version"]\n[tool.setuptools.dynamic]\nversion = { attr = "x.__version__" }\n',
      false,
    ],
    ['a static version', '[project]\nname = "x"\nversion = "1"\n', false],
  ])('tells whether the version comes from git: %s', (_, text, expected) => {
    expect(readPyproject(text).versionFromVcs).toBe(expected);
  });

  it('throws TomlError with the line for an invalid file', () => {
    expect(() => readPyproject('[project]\nname = \n')).toThrow(/^line 2: /);
  });
});
