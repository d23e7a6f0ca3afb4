// Files that import nothing of the project are only evaluated when their
// text could name a path a finding uses: each form below must still count.
import { Files, inspect, MAIN_GUARD } from '../testing/inspect-project';

const TRAIN: Files = {
  'requirements.txt': 'joblib\n',
  'train.py':
    'from pipeline import steps\n\ndef main():\n    steps.run()' + MAIN_GUARD,
  'pipeline/__init__.py': '',
  'assets/labels.json': '{}',
};
const steps = (code: string): Files => ({
  ...TRAIN,
  'pipeline/steps.py': `import os\nfrom pathlib import Path\n\n${code}\n\ndef run():\n    return LABELS\n`,
});

describe('paths named by files that import nothing of the project', () => {
  it.each<[string, string]>([
    ['a literal', 'LABELS = "assets/labels.json"'],
    ['a ./ literal', 'LABELS = "./assets/labels.json"'],
    ['Path joins', 'LABELS = Path("assets") / "labels.json"'],
    [
      'an f-string of a constant',
      'BASE = "assets"\nLABELS = f"{BASE}/labels.json"',
    ],
    [
      'parents of __file__',
      'LABELS = Path(__file__).parent.parent / "assets" / "labels.json"',
    ],
    [
      '.. from the file',
      'LABELS = os.path.join(os.path.dirname(__file__), "..", "assets", "labels.json")',
    ],
    [
      'an os.getenv default',
      'LABELS = os.getenv("LABELS", "assets/labels.json")',
    ],
  ])('%s', (_, code) => {
    expect(inspect(steps(code), { needsApp: false }).runtimeFiles).toEqual([
      'assets/labels.json',
    ]);
  });

  it('follows a constant imported from another module of the project', () => {
    const files = {
      ...steps('from pipeline.paths import LABELS'),
      'pipeline/paths.py': 'LABELS = "assets/labels.json"\n',
    };
    expect(inspect(files, { needsApp: false }).runtimeFiles).toEqual([
      'assets/labels.json',
    ]);
  });

  it('finds the model the app reads and training writes, in a folder of any name', () => {
    const files = {
      ...TRAIN,
      'requirements.txt': 'fastapi\nuvicorn\njoblib\n',
      'pipeline/steps.py':
        'import joblib\n\ndef run():\n    joblib.dump({}, "out/clf.bin")\n',
      'main.py':
        'from fastapi import FastAPI\nMODEL = "out/clf.bin"\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n',
    };
    expect(inspect(files).modelPaths).toEqual(['out/']);
  });
});
