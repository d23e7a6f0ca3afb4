import {
  readSetupCfg,
  setuptoolsFiles,
  setuptoolsList,
  setuptoolsRequirements,
} from './setup-cfg';

describe('readSetupCfg', () => {
  it.each<[string, string, Record<string, Record<string, string>>]>([
    [
      'continuation lines, comments inside a value, = and :',
      '[options]\ninstall_requires =\n    fastapi\n    # a comment\n\n    uvicorn\npython_requires: >=3.10\n',
      {
        options: {
          install_requires: '\nfastapi\n\nuvicorn',
          python_requires: '>=3.10',
        },
      },
    ],
    [
      'no inline comments (configparser keeps "; x")',
      '[metadata]\nname = demo ; x\n',
      { metadata: { name: 'demo ; x' } },
    ],
    [
      'option names in [options] with - as _ and lower case',
      '[options]\nInstall-Requires = numpy\n[options.extras_require]\nGPU-Extra = cupy\n',
      {
        options: { install_requires: 'numpy' },
        'options.extras_require': { 'GPU-Extra': 'cupy' },
      },
    ],
    [
      'option names in [options.packages.find] normalized too, %% as %',
      '[options.packages.find]\nWHERE = src\n[metadata]\ndescription = 100%% python\n',
      {
        'options.packages.find': { where: 'src' },
        metadata: { description: '100% python' },
      },
    ],
    [
      'a key line indented like the one before is no continuation',
      '[options]\n  packages = a\n  py_modules = b\n',
      { options: { packages: 'a', py_modules: 'b' } },
    ],
  ])('reads %s', (_, text, sections) => {
    const read = readSetupCfg(text);
    expect(read.sections).toEqual(sections);
    expect(read.warnings).toEqual([]);
  });

  it.each<[string, string, string]>([
    [
      'a line before any section',
      'name = x\n',
      'setup.cfg:1: "name = x" comes before any [section] header',
    ],
    [
      'a line without =',
      '[metadata]\nname = x\njust words\n',
      'setup.cfg:3: "just words" is not an option = value line',
    ],
    [
      'a duplicate option',
      '[options]\nzip_safe = false\nzip-safe = true\n',
      'setup.cfg:3: zip_safe appears twice in [options]',
    ],
    [
      'a duplicate section',
      '[options]\n[metadata]\n[options]\n',
      'setup.cfg:3: the section [options] appears twice',
    ],
    [
      'a lone %',
      '[metadata]\ndescription = 100% python\n',
      'setup.cfg:2: description has a lone %',
    ],
    [
      'a marker split off a one-line install_requires',
      '[options]\n\ninstall_requires = numpy; python_version<"3.12"\n',
      'setup.cfg:3: install_requires = numpy; python_version<"3.12" is on one line, so setuptools splits it at ";" and reads "python_version<"3.12"" as a requirement',
    ],
  ])('warns, with file:line, on %s', (_, text, warning) => {
    const { warnings } = readSetupCfg(text);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].startsWith(warning)).toBe(true);
  });
});

describe('setuptools lists', () => {
  it.each<[string, string, string[]]>([
    [
      'one line, split on ;',
      'fastapi; uvicorn[standard]>=0.30',
      ['fastapi', 'uvicorn[standard]>=0.30'],
    ],
    [
      'several lines, one item each (a ; stays in its line)',
      '\nfastapi\nnumpy; python_version<"3.12"\n# c\n',
      ['fastapi', 'numpy; python_version<"3.12"'],
    ],
    ['a file: directive', 'file: requirements.txt', []],
  ])('install_requires %s', (_, value, items) => {
    expect(setuptoolsRequirements(value)).toEqual(items);
  });

  it.each<[string, string, string[]]>([
    ['one line, split on ,', 'a, b ,c', ['a', 'b', 'c']],
    ['several lines, one item each', '\na\nb, c', ['a', 'b, c']],
  ])('other lists: %s', (_, value, items) => {
    expect(setuptoolsList(value)).toEqual(items);
  });

  it('reads the files of a file: directive', () => {
    expect(setuptoolsFiles('file: requirements.txt, extra.txt')).toEqual([
      'requirements.txt',
      'extra.txt',
    ]);
    expect(setuptoolsFiles('numpy')).toBeUndefined();
  });
});
