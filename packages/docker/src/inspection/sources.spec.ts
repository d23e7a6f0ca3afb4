import { pythonModuleOf } from './sources';

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
