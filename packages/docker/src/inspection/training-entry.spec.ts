import { Files, inspect, MAIN_GUARD } from '../testing/inspect-project';

describe('inspectProject', () => {
  describe('the training entry', () => {
    const base: Files = {
      'requirements.txt': 'fastapi\nuvicorn\ndvc\n',
      'app.py':
        'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n',
    };

    it('runs dvc repro when dvc.yaml has stages, and warns when dvc is not installed', () => {
      const i = inspect({
        ...base,
        'requirements.txt': 'fastapi\nuvicorn\n',
        'dvc.yaml':
          'stages:\n  prepare:\n    cmd: python scripts/prepare.py\n  fit:\n    cmd:\n      - python -m pipeline.fit --epochs 3\n',
        'scripts/prepare.py': 'print(1)\n',
        'pipeline/__init__.py': '',
        'pipeline/fit.py': 'def main(): pass' + MAIN_GUARD,
      });
      expect(i.training).toEqual({
        kind: 'dvc',
        command: ['dvc', 'repro'],
        stages: ['prepare', 'fit'],
        dvcDeclared: false,
        files: ['dvc.yaml'],
        module: 'pipeline.fit',
      });
      // A script a stage runs is copied even though nothing imports it.
      expect(i.sources).toEqual(['app.py', 'pipeline/', 'scripts/']);
      expect(i.warnings).toEqual([
        'dvc.yaml has stages but dvc is not in the runtime dependencies: add dvc to requirements.txt (the training image runs dvc repro).',
      ]);
    });

    it('ignores a dvc.yaml without stages', () => {
      const i = inspect({
        ...base,
        'dvc.yaml': 'plots:\n  - metrics/roc.json\n',
        'train.py': 'def main(): pass' + MAIN_GUARD,
      });
      expect(i.training).toEqual({
        kind: 'module',
        module: 'train',
        command: ['python', '-m', 'train'],
      });
    });

    it('prefers a module outside scripts/ when several are found', () => {
      const i = inspect({
        ...base,
        'model/__init__.py': '',
        'model/train.py': 'def main(): pass' + MAIN_GUARD,
        'scripts/train_baseline.py': 'def main(): pass' + MAIN_GUARD,
      });
      expect(i.training).toMatchObject({
        kind: 'module',
        module: 'model.train',
      });
    });

    it('needs the __main__ guard: a train.py of helpers is no entry', () => {
      const i = inspect(
        { ...base, 'train.py': 'def fit(x):\n    return x\n' },
        { needsTraining: false },
      );
      expect(i.training).toEqual({ kind: 'none' });
    });

    it('takes --trainingModule over what is found', () => {
      const i = inspect(
        {
          ...base,
          'dvc.yaml': 'stages:\n  a:\n    cmd: echo\n',
          'jobs/__init__.py': '',
          'jobs/nightly.py': '',
        },
        { trainingModule: 'jobs.nightly' },
      );
      expect(i.training).toEqual({
        kind: 'module',
        module: 'jobs.nightly',
        command: ['python', '-m', 'jobs.nightly'],
      });
      expect(i.sources).toContain('jobs/');
    });

    it('takes --trainingCommand, copying the modules and config it names', () => {
      const i = inspect(
        {
          ...base,
          'pkg/__init__.py': '',
          'pkg/train.py': 'x = 1\n',
          'configs/base.yaml': 'a: 1\n',
          'configs/large.yaml': 'a: 2\n',
        },
        {
          trainingCommand: [
            'python',
            '-m',
            'pkg.train',
            '--config',
            'configs/base.yaml',
          ],
        },
      );
      expect(i.training).toEqual({
        kind: 'command',
        command: ['python', '-m', 'pkg.train', '--config', 'configs/base.yaml'],
      });
      expect(i.sources).toEqual(['app.py', 'pkg/']);
      expect(i.runtimeFiles).toEqual(['configs/']);
    });
  });
});
