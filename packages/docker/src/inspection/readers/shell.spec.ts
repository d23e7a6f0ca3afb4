import { argvCommands, shellCommands } from './shell';

describe('shellCommands', () => {
  it.each<[string, string, Array<[string[], string]>]>([
    [
      'quotes inside a word',
      'python train.py --config="conf/a b.yaml"',
      [[['python', 'train.py', '--config=conf/a b.yaml'], '.']],
    ],
    [
      'single quotes and escaped spaces',
      "python x.py 'conf/a b.yaml' conf/c\\ d.yaml",
      [[['python', 'x.py', 'conf/a b.yaml', 'conf/c d.yaml'], '.']],
    ],
    [
      '&&, ;, | and || as separate commands',
      'python prep.py && python train.py; echo ok | tee log || true',
      [
        [['python', 'prep.py'], '.'],
        [['python', 'train.py'], '.'],
        [['echo', 'ok'], '.'],
        [['tee', 'log'], '.'],
        [['true'], '.'],
      ],
    ],
    [
      'operators without spaces',
      'python -m train&&echo done',
      [
        [['python', '-m', 'train'], '.'],
        [['echo', 'done'], '.'],
      ],
    ],
    [
      'env assignments before the command',
      'FOO=1 PYTHONPATH=src python -m train',
      [[['python', '-m', 'train'], '.']],
    ],
    [
      'cd before the command',
      'cd src && python train.py',
      [[['python', 'train.py'], 'src']],
    ],
    [
      'a subshell cd that does not last',
      '(cd src && python a.py); python b.py',
      [
        [['python', 'a.py'], 'src'],
        [['python', 'b.py'], '.'],
      ],
    ],
    [
      'one command per line, backslash continuations, comments',
      'python prep.py \\\n  --out data/x # "not closed\npython train.py\n',
      [
        [['python', 'prep.py', '--out', 'data/x'], '.'],
        [['python', 'train.py'], '.'],
      ],
    ],
    [
      'a quoted newline inside one word',
      'python x.py --msg "a\nb"',
      [[['python', 'x.py', '--msg', 'a\nb'], '.']],
    ],
    [
      'redirections left out of the words',
      'python train.py > logs/out.txt 2>&1',
      [[['python', 'train.py'], '.']],
    ],
    [
      'variables kept as text, not emptied',
      'python train.py --data $DATA/x ${OUT}',
      [[['python', 'train.py', '--data', '${DATA}/x', '${OUT}'], '.']],
    ],
    [
      'sh -c read as its script',
      'sh -c "cd jobs && python fit.py"',
      [[['python', 'fit.py'], 'jobs']],
    ],
  ])('%s', (_, script, expected) => {
    const read = shellCommands(script);
    expect(read.commands.map((c) => [c.argv, c.dir])).toEqual(expected);
    expect(read.unresolved).toEqual([]);
  });

  it('keeps the env assignments', () => {
    expect(
      shellCommands('FOO=1 BAR="a b" python x.py').commands[0].env,
    ).toEqual({ FOO: '1', BAR: 'a b' });
  });

  it('starts in the given folder', () => {
    expect(shellCommands('cd .. && python x.py', 'stages/a').commands).toEqual([
      { argv: ['python', 'x.py'], env: {}, dir: 'stages' },
    ]);
  });

  it.each<[string, string, string]>([
    [
      'command substitution',
      'python x.py --tag $(git rev-parse HEAD)',
      'command substitution ($(…) or `…`)',
    ],
    ['backticks', 'python x.py `date`', 'command substitution ($(…) or `…`)'],
    ['cd to a variable', 'cd $WORK && python x.py', 'cd ${WORK}'],
    ['cd to an absolute path', 'cd /opt/app && python x.py', 'cd /opt/app'],
    ['process substitution', 'diff <(python a.py) b', 'the shell operator <('],
  ])('says what it does not follow: %s', (_, script, what) => {
    expect(shellCommands(script).unresolved).toContain(what);
  });
});

describe('argvCommands', () => {
  it.each<[string, string[], Array<[string[], string]>]>([
    [
      'an exec-form argv stays one command',
      ['python', 'x.py', '&&', 'y'],
      [[['python', 'x.py', '&&', 'y'], '.']],
    ],
    [
      'sh -c is read as its script',
      ['bash', '-c', 'cd jobs && python fit.py'],
      [[['python', 'fit.py'], 'jobs']],
    ],
  ])('%s', (_, argv, expected) => {
    expect(argvCommands(argv).commands.map((c) => [c.argv, c.dir])).toEqual(
      expected,
    );
  });
});
