import { parseYaml, YamlError } from './yaml';

describe('parseYaml', () => {
  it.each<[string, string, unknown]>([
    [
      'merge keys and aliases',
      'base: &base\n  cmd: python x.py\n  deps: &common [a, b]\nt:\n  <<: *base\n  deps: *common\n  outs: [m]\n',
      {
        base: { cmd: 'python x.py', deps: ['a', 'b'] },
        t: { cmd: 'python x.py', deps: ['a', 'b'], outs: ['m'] },
      },
    ],
    [
      'a double-quoted scalar over two lines',
      'cmd: "python -m\n  train --epochs 3"\n',
      { cmd: 'python -m train --epochs 3' },
    ],
    [
      'folded and literal block scalars',
      'a: >\n  python x.py\n  --flag\nb: |\n  one\n  two\n',
      { a: 'python x.py --flag\n', b: 'one\ntwo\n' },
    ],
    [
      'YAML 1.2 scalars',
      'a: false\nb: 3\nc: "3"\nd: ~\n',
      { a: false, b: 3, c: '3', d: null },
    ],
  ])('reads %s', (_, text, value) => {
    expect(parseYaml(text).value).toEqual(value);
  });

  it('gives the line of a node, or of its nearest ancestor', () => {
    const doc = parseYaml(
      'stages:\n  train:\n    <<: {cmd: x}\n    deps: [a]\n',
    );
    expect(doc.lineOf(['stages', 'train'])).toBe(3);
    expect(doc.lineOf(['stages', 'train', 'deps'])).toBe(4);
    expect(doc.lineOf(['stages', 'train', 'cmd'])).toBe(3);
  });

  it.each<[string, string, number]>([
    ['an unclosed flow sequence', 'a:\n  b: [x\nc: 1\n', 3],
    ['a duplicate key', 'a: 1\nb: 2\na: 3\n', 3],
    ['an undefined alias', 'a: *nope\n', 1],
  ])('refuses %s with its line', (_, text, line) => {
    let error: unknown;
    try {
      parseYaml(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(YamlError);
    expect((error as YamlError).line).toBe(line);
  });
});
