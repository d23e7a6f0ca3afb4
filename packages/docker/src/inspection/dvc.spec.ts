import { readDvcStages } from './dvc';

type Finding = {
  name: string;
  commands: Array<[string[], string]>;
  deps?: string[];
  outs?: string[];
};

function findings(text: string): Finding[] {
  const read = readDvcStages(text);
  expect(read.warnings).toEqual([]);
  return read.stages.map((s) => ({
    name: s.name,
    commands: s.commands.map((c) => [c.argv, c.dir]),
    deps: s.deps,
    outs: s.outs,
  }));
}

describe('readDvcStages', () => {
  it.each<[string, string, Finding[]]>([
    [
      'a stage merged from an anchor (<<: *base)',
      'x-base: &base\n  cmd: python -m proj.train\n  deps: [proj]\nstages:\n  train:\n    <<: *base\n    outs: [models/m.pkl]\n',
      [
        {
          name: 'train',
          commands: [[['python', '-m', 'proj.train'], '.']],
          deps: ['proj'],
          outs: ['models/m.pkl'],
        },
      ],
    ],
    [
      'deps given by an alias (deps: *common)',
      'stages:\n  prep:\n    cmd: python prep.py\n    deps: &common\n      - prep.py\n      - data/raw\n  train:\n    cmd: python train.py\n    deps: *common\n',
      [
        {
          name: 'prep',
          commands: [[['python', 'prep.py'], '.']],
          deps: ['prep.py', 'data/raw'],
          outs: [],
        },
        {
          name: 'train',
          commands: [[['python', 'train.py'], '.']],
          deps: ['prep.py', 'data/raw'],
          outs: [],
        },
      ],
    ],
    [
      'a cmd quoted over two lines',
      'stages:\n  train:\n    cmd: "python -m proj.train\n      --config conf/a.yaml"\n',
      [
        {
          name: 'train',
          commands: [
            [['python', '-m', 'proj.train', '--config', 'conf/a.yaml'], '.'],
          ],
          deps: [],
          outs: [],
        },
      ],
    ],
    [
      'a folded cmd (>)',
      'stages:\n  train:\n    cmd: >\n      python train.py\n      --epochs 3\n',
      [
        {
          name: 'train',
          commands: [[['python', 'train.py', '--epochs', '3'], '.']],
          deps: [],
          outs: [],
        },
      ],
    ],
    [
      'a literal cmd (|): one command per line',
      'stages:\n  train:\n    cmd: |\n      python prep.py\n      python train.py\n',
      [
        {
          name: 'train',
          commands: [
            [['python', 'prep.py'], '.'],
            [['python', 'train.py'], '.'],
          ],
          deps: [],
          outs: [],
        },
      ],
    ],
    [
      'a list of commands, with wdir and cd',
      'stages:\n  train:\n    wdir: jobs\n    cmd:\n      - python prep.py\n      - cd fit && python train.py --config="conf/a b.yaml"\n    outs:\n      - model.pkl:\n          cache: false\n    metrics: [m.json]\n',
      [
        {
          name: 'train',
          commands: [
            [['python', 'prep.py'], 'jobs'],
            [['python', 'train.py', '--config=conf/a b.yaml'], 'jobs/fit'],
          ],
          deps: [],
          outs: ['model.pkl', 'm.json'],
        },
      ],
    ],
    [
      'foreach/do stages',
      'stages:\n  fit:\n    foreach: [a, b]\n    do:\n      cmd: python fit.py ${item}\n      deps: [fit.py]\n',
      [
        {
          name: 'fit',
          commands: [[['python', 'fit.py', '${item}'], '.']],
          deps: ['fit.py'],
          outs: [],
        },
      ],
    ],
    ['no stages', 'plots:\n  - metrics/roc.json\n', []],
  ])('%s', (_, text, expected) => {
    expect(findings(text)).toEqual(expected);
  });

  it.each<[string, string, string]>([
    [
      'invalid YAML',
      'stages:\n  train:\n    cmd: [python train.py\n    deps: [a]\n',
      'dvc.yaml:4: not valid YAML',
    ],
    [
      'stages that are not a mapping',
      'vars: []\nstages:\n  - train\n',
      'dvc.yaml:3: stages is not a mapping',
    ],
    [
      'a cmd that is not text',
      'stages:\n  train:\n    cmd: {python: train.py}\n',
      "dvc.yaml:3: the train stage's cmd is not text",
    ],
    [
      'a cmd with command substitution',
      'stages:\n  train:\n    deps: [a]\n    cmd: python train.py --tag $(git rev-parse HEAD)\n',
      "dvc.yaml:4: the train stage's cmd uses command substitution",
    ],
  ])('warns, with file:line, on %s', (_, text, warning) => {
    const read = readDvcStages(text);
    expect(read.warnings).toHaveLength(1);
    expect(read.warnings[0]).toMatch(
      new RegExp(`^${warning.replace(/[$()[\]]/g, '\\$&')}`),
    );
  });
});
