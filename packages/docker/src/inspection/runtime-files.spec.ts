import { Files, inspect, MAIN_GUARD } from '../testing/inspect-project';

describe('inspectProject', () => {
  describe('runtime and model files', () => {
    const app: Files = {
      'requirements.txt': 'fastapi\nuvicorn\n',
      'train.py': 'def main(): pass' + MAIN_GUARD,
    };

    it('adds --runtimeFiles and drops --excludeRuntimeFiles', () => {
      const i = inspect(
        {
          ...app,
          'app.py':
            'from fastapi import FastAPI\nCFG = "config/serving.yaml"\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n',
          'config/serving.yaml': 'a: 1\n',
          'params.yaml': 'a: 1\n',
          'prompts/system.txt': 'be nice',
        },
        {
          runtimeFiles: ['prompts'],
          excludeRuntimeFiles: ['params.yaml', 'nope.yaml'],
        },
      );
      expect(i.runtimeFiles).toEqual(['config/', 'prompts/']);
      expect(i.warnings).toEqual([
        '--excludeRuntimeFiles names nope.yaml, which is not among the runtime files found (config/, params.yaml, prompts/): nothing to leave out.',
      ]);
    });

    it('never copies what the code writes, even when a local run left it in the project', () => {
      const i = inspect({
        ...app,
        'app.py':
          'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n',
        'train.py':
          'import json\nfrom pathlib import Path\nMETRICS = "metrics/metrics.json"\ndef main():\n    Path("metrics").mkdir(exist_ok=True)\n    json.dump({"r2": 1}, open(METRICS, "w"))' +
          MAIN_GUARD,
        'metrics/metrics.json': '{"r2": 1}',
        'params.yaml': 'a: 1\n',
      });
      expect(i.writableFolders.training).toEqual(['metrics']);
      expect(i.runtimeFiles).toEqual(['params.yaml']);
    });

    it('never copies a secret the code reads, and says so', () => {
      const i = inspect({
        ...app,
        'app.py':
          'from dotenv import load_dotenv\nfrom fastapi import FastAPI\nload_dotenv(".env")\nKEY = open("secrets/service-account.json")\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n',
        '.env': 'X=1\n',
      });
      expect(i.runtimeFiles).toEqual([]);
      expect(i.warnings).toEqual([
        'The code reads .env, which looks like a secret and is not copied into the images: pass its values as environment variables or mount it at run time.',
      ]);
    });

    it.each<[string, Files, string[]]>([
      [
        'a model folder named only as a default path',
        {
          'service/__init__.py': '',
          'service/main.py':
            'import os\nfrom pathlib import Path\nfrom fastapi import FastAPI\nDIR = Path(os.environ.get("CKPT_DIR", "checkpoints"))\nWEIGHTS = DIR / "mlp.pt"\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n',
        },
        ['checkpoints/'],
      ],
      [
        'a file the app reads and training writes, in a folder of any name',
        {
          'service.py':
            'from fastapi import FastAPI\nMODEL = "trained/ridge.json"\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n',
          'train.py':
            'import json\n\ndef main():\n    open("trained/ridge.json", "w").write("{}")\n    open("metrics/scores.json", "w")' +
            MAIN_GUARD,
        },
        ['trained/'],
      ],
      [
        'nothing for a bare file name joined to a folder held in a variable, or a model outside the project',
        {
          'service.py':
            'import os\nfrom fastapi import FastAPI\nMODEL = os.environ.get("MODEL", "/mnt/models/m.joblib")\nPATH = os.path.join(os.environ["DIR"], "m.joblib")\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n',
        },
        [],
      ],
    ])('finds %s', (_, files, modelPaths) => {
      const i = inspect({ ...app, ...files });
      expect(i.modelPaths).toEqual(modelPaths);
      expect(i.modelsCommitted).toBe(false);
    });

    it('finds a feature store and a committed root-level model file', () => {
      const i = inspect({
        ...app,
        'app.py':
          'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n',
        'feature_repo/feature_store.yaml': 'project: x\n',
        'feature_repo/features.py': 'x = 1\n',
        'classifier.onnx': 'onnx',
      });
      expect(i.runtimeFiles).toEqual(['feature_repo/']);
      expect(i.modelPaths).toEqual(['classifier.onnx']);
      expect(i.modelsCommitted).toBe(true);
    });
  });
});
