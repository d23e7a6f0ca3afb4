import { UserFacingError } from '../errors/errors';
import {
  ManifestFile,
  readManifestVersion,
  writeManifestVersion,
} from './manifest-version';

const PEP621 = `# the model's package
[build-system]
requires = ["setuptools"]

[project]
name = "synth"   # keep
version = "0.3.1"  # bumped by nx release
dependencies = ["numpy"]

[tool.other]
version = "9.9.9"
`;

const POETRY = `[tool.poetry]
name = "synth"
version = '1.0.0'
description = "x"

[tool.poetry.dependencies]
python = "^3.10"
`;

const SETUP_CFG = `[metadata]
name = synth
version: 2.1.0
description = model

[options]
install_requires =
    numpy
`;

const PACKAGE_JSON = `{
    "name": "synth",
    "version": "0.0.1",
    "nx": { "targets": { "x": { "options": { "version": "keep" } } } }
}
`;

describe('readManifestVersion', () => {
  it.each<[string, ManifestFile, string, string | undefined, string]>([
    [
      'PEP 621 [project]',
      'pyproject.toml',
      PEP621,
      '0.3.1',
      '[project] version',
    ],
    [
      '[tool.poetry]',
      'pyproject.toml',
      POETRY,
      '1.0.0',
      '[tool.poetry] version',
    ],
    [
      'setup.cfg with ":"',
      'setup.cfg',
      SETUP_CFG,
      '2.1.0',
      '[metadata] version',
    ],
    ['package.json', 'package.json', PACKAGE_JSON, '0.0.1', '"version"'],
    [
      'pyproject without a version',
      'pyproject.toml',
      '[build-system]\nrequires = []\n',
      undefined,
      '',
    ],
    [
      'setup.cfg without [metadata] version',
      'setup.cfg',
      '[metadata]\nname = x\n',
      undefined,
      '',
    ],
    [
      'package.json without a version',
      'package.json',
      '{"name":"x"}',
      undefined,
      '',
    ],
  ])('%s', (_, file, text, version, key) => {
    const read = readManifestVersion(file, text, `p/${file}`);
    expect(read?.version).toBe(version);
    if (key) expect(read?.key).toBe(key);
  });

  it.each<[string, ManifestFile, string, RegExp]>([
    [
      'a dynamic PEP 621 version',
      'pyproject.toml',
      '[project]\nname = "x"\ndynamic = ["version"]\n',
      /p\/pyproject.toml lists version in \[project\] dynamic.*versionSchemes/,
    ],
    [
      'setup.cfg attr:',
      'setup.cfg',
      '[metadata]\nversion = attr: synth.__version__\n',
      /reads \[metadata\] version from "attr: synth.__version__"/,
    ],
    [
      'invalid TOML',
      'pyproject.toml',
      '[project\nname=1',
      /p\/pyproject.toml is not valid TOML \(line 1/,
    ],
    [
      'invalid JSON',
      'package.json',
      '{"version": ',
      /p\/package.json is not valid JSON/,
    ],
  ])(
    'refuses %s with a message saying what to do',
    (_, file, text, message) => {
      expect(() => readManifestVersion(file, text, `p/${file}`)).toThrow(
        UserFacingError,
      );
      expect(() => readManifestVersion(file, text, `p/${file}`)).toThrow(
        message,
      );
    },
  );
});

describe('writeManifestVersion', () => {
  it.each<[string, ManifestFile, string, string]>([
    [
      'PEP 621 keeps comments, quotes and other tables',
      'pyproject.toml',
      PEP621,
      PEP621.replace('"0.3.1"', '"0.4.0"'),
    ],
    [
      'poetry keeps single quotes',
      'pyproject.toml',
      POETRY,
      POETRY.replace("'1.0.0'", "'0.4.0'"),
    ],
    [
      'setup.cfg keeps ":"',
      'setup.cfg',
      SETUP_CFG,
      SETUP_CFG.replace('version: 2.1.0', 'version: 0.4.0'),
    ],
    [
      'package.json keeps its indent and nested "version" keys',
      'package.json',
      PACKAGE_JSON,
      `{\n    "name": "synth",\n    "version": "0.4.0",\n    "nx": {\n        "targets": {\n            "x": {\n                "options": {\n                    "version": "keep"\n                }\n            }\n        }\n    }\n}\n`,
    ],
    [
      'CRLF line endings stay',
      'pyproject.toml',
      PEP621.replace(/\n/g, '\r\n'),
      PEP621.replace('"0.3.1"', '"0.4.0"').replace(/\n/g, '\r\n'),
    ],
  ])('%s', (_, file, text, expected) => {
    expect(writeManifestVersion(file, text, `p/${file}`, '0.4.0')).toBe(
      expected,
    );
  });

  it('refuses a file with no version to update', () => {
    expect(() =>
      writeManifestVersion(
        'setup.cfg',
        '[metadata]\nname = x\n',
        'p/setup.cfg',
        '1.0.0',
      ),
    ).toThrow('p/setup.cfg declares no version to update');
  });

  it('refuses a version it cannot edit in place (a dotted key) rather than writing a wrong file', () => {
    const text = 'project.name = "x"\nproject.version = "1.0.0"\n';
    expect(() =>
      writeManifestVersion('pyproject.toml', text, 'p/pyproject.toml', '2.0.0'),
    ).toThrow(/Could not write version 2.0.0 into p\/pyproject.toml/);
  });
});
