import { pythonModuleOf } from './sources';
import { Files, inspect, MAIN_GUARD } from '../testing/inspect-project';

describe('pythonModuleOf', () => {
  it.each<[string, string, string | undefined]>([
    ['src/serve/app.py', '.', 'src.serve.app'],
    ['src/mypkg/api.py', 'src', 'mypkg.api'],
    ['src/mypkg/__init__.py', 'src', 'mypkg'],
    ['pipeline/fit.py', '', 'pipeline.fit'],
    ['./common.py', '.', 'common'],
    ['api/server.py', 'src', undefined],
    ['my-app/server.py', '.', undefined],
    ['README.md', '.', undefined],
    ['__init__.py', '.', undefined],
  ])('%s from %s is %s', (file, root, module) => {
    expect(pythonModuleOf(file, root)).toBe(module);
  });
});

// A file is parsed for its imports only when its text names a top-level
// module of the project (or imports relatively): each form below names one.
describe('the folders an entry reaches through its imports', () => {
  const project = (code: string, srcRoot = false): Files => {
    const root = srcRoot ? 'src/' : '';
    return {
      'requirements.txt': 'joblib\n',
      [`${root}train.py`]:
        'from pipeline import steps\n\ndef main():\n    steps.run()' +
        MAIN_GUARD,
      [`${root}pipeline/__init__.py`]: '',
      [`${root}pipeline/steps.py`]: 'def run():\n    return 1\n',
      [`${root}pipeline/other.py`]: `import os\n${code}\n`,
      [`${root}features/__init__.py`]: '',
      [`${root}features/build.py`]: 'X = 1\n',
      [`${root}unused/__init__.py`]: '',
    };
  };

  it.each<[string, string]>([
    ['from … import', 'from features.build import X'],
    ['import … as', 'import features.build as fb'],
    [
      'import_module',
      'import importlib\nimportlib.import_module("features.build")',
    ],
    ['__import__', 'm = __import__("features")'],
    ['a module:attr string', 'TARGET = "features.build:X"\nimport uvicorn'],
  ])('%s', (_, code) => {
    expect(inspect(project(code), { needsApp: false }).sources).toEqual([
      'features/',
      'pipeline/',
      'train.py',
    ]);
  });

  it('reads imports under a src/ import root', () => {
    const i = inspect(project('from features.build import X', true), {
      needsApp: false,
    });
    expect(i.importRoot).toBe('src');
    expect(i.sources).toEqual(['src/']);
  });

  it('leaves out a folder nothing imports', () => {
    expect(inspect(project('X = 2'), { needsApp: false }).sources).toEqual([
      'pipeline/',
      'train.py',
    ]);
  });
});
