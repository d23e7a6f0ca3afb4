import {
  inspectProject,
  InspectOptions,
  ProjectInspection,
  summarize,
} from './inspect-project';
import {
  Files,
  inspect,
  MAIN_GUARD,
  refusal,
  ROOT,
  treeWith,
} from '../testing/inspect-project';

// ---------------------------------------------------------------------------
// Projects, each laid out the way a different team would.

/** Kaggle style: notebooks/, a namespace src/ imported as src.x, DVC stages. */
const KAGGLE: Files = {
  'requirements.txt':
    '# runtime\npandas==2.2.2\nscikit-learn==1.5.2\nfastapi==0.111.0\nuvicorn[standard]==0.30.1\njoblib\ndvc[s3]>=3.50\n',
  'requirements-dev.txt': '-r requirements.txt\npytest\njupyterlab\n',
  'notebooks/01-eda.ipynb': '{"cells": []}',
  'notebooks/scratch.py':
    'from fastapi import FastAPI\n\napp = FastAPI()  # trying things out\n',
  'src/features/__init__.py': '',
  'src/features/build.py':
    'import pandas as pd\n\n\ndef make_features(df):\n    return df\n' +
    'def main():\n    pass' +
    MAIN_GUARD,
  'src/models/__init__.py': '',
  'src/models/train_model.py':
    'import joblib\nfrom src.features.build import make_features\n\n\ndef main():\n    joblib.dump(None, "models/model.joblib")' +
    MAIN_GUARD,
  'src/models/predict_model.py':
    'def predict(model, rows):\n    return model.predict(rows)\n',
  'src/api/__init__.py': '',
  'src/api/main.py': `"""Serves the model.

Example:
    app = FastAPI()  # not this one: a docstring
"""
import os

from fastapi import FastAPI
from src.models.predict_model import predict

app = FastAPI(
    title="titanic",
    version="1.0",
)


@app.get("/healthz")
def healthz():
    return {"ok": True}


@app.get("/readyz")
def readyz():
    return {"ready": True}


@app.post("/predict")
def predict_route(rows: list):
    return predict(None, rows)
`,
  'dvc.yaml': `stages:
  featurize:
    cmd: python -m src.features.build --input data/raw/train.csv
    deps:
      - src/features
      - data/raw/train.csv
    outs:
      - data/processed/train.parquet
  train:
    cmd: >-
      python -m src.models.train_model
    deps:
      - data/processed/train.parquet
      - src/models
    params:
      - train.seed
      - train.n_estimators
    outs:
      - models/model.joblib
    metrics:
      - metrics/scores.json:
          cache: false
`,
  'dvc.lock': 'schema: "2.0"\n',
  '.dvc/config':
    '[core]\n    remote = storage\n[\'remote "storage"\']\n    url = s3://bucket/dvc\n',
  '.dvc/config.local': 'secret',
  'params.yaml': 'train:\n  seed: 42\n  n_estimators: 300\n',
  'models/.gitignore': '/model.joblib\n',
  'models/model.joblib.dvc': 'outs:\n- md5: 1\n  path: model.joblib\n',
  'data/raw/train.csv.dvc': 'outs:\n- md5: 2\n',
  'tests/test_api.py': 'from src.api.main import app\n',
};

/** Hydra: conf/ next to flat packages, requirements/ split in base/prod/dev. */
const HYDRA: Files = {
  'requirements/base.txt':
    'hydra-core==1.3.2\nomegaconf\nxgboost==2.0.3\npandas\n',
  'requirements/prod.txt': '-r base.txt\nfastapi==0.110.0\nuvicorn==0.29.0\n',
  'requirements/dev.txt': '-r prod.txt\npytest\nblack\n',
  'conf/config.yaml': 'defaults:\n  - model: xgb\n',
  'conf/model/xgb.yaml': 'max_depth: 6\n',
  'trainer/__init__.py': '',
  'trainer/data.py': 'def load():\n    return []\n',
  'trainer/train.py': `import hydra
from omegaconf import DictConfig

from trainer.data import load


@hydra.main(config_path="../conf", config_name="config", version_base=None)
def main(cfg: DictConfig) -> None:
    load()


if __name__ == "__main__":
    main()
`,
  'serving/__init__.py': '',
  'serving/app.py': `import os

import fastapi
import xgboost as xgb

MODEL = os.path.join("artifacts", "model.ubj")

application = fastapi.FastAPI(title="churn")


@application.get("/ping")
def ping():
    return "pong"
`,
  'artifacts/model.ubj': 'binary',
  'scripts/download_data.py':
    'import requests\n\nrequests.get("https://example.com")\n',
  '.env': 'API_KEY=not-for-images\n',
  'README.md': '# churn\n',
};

/** Flat: api/ and pipeline/ packages plus a common.py module, routers with prefixes. */
const FLAT: Files = {
  'requirements.txt':
    '--extra-index-url https://download.pytorch.org/whl/cpu\nfastapi==0.110.0\nuvicorn==0.29.0\nmlflow==2.12.1\ntorch==2.3.0+cpu\n',
  'dev-requirements.txt': 'pytest\nhttpx\n',
  'api/__init__.py': '',
  'api/server.py': `from fastapi import FastAPI

from api import routes
from common import settings
from pipeline.model import load_model

app: FastAPI = FastAPI(title="forecast")
app.include_router(routes.router)
`,
  'api/routes.py': `from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["ops"])


@router.get("/health")
async def health():
    return {"status": "ok"}


@router.get("/health/ready")
async def ready():
    return {"status": "ready"}


@router.get("/items/{item_id}")
async def item(item_id: int):
    return item_id
`,
  'pipeline/__init__.py': '',
  'pipeline/model.py':
    'import torch\n\n\ndef load_model():\n    return torch.load("models/net.pt")\n',
  'pipeline/fit.py':
    `import mlflow
import torch

from common import settings
from pipeline.model import load_model


def main():
    torch.save({}, "models/net.pt")
` + MAIN_GUARD,
  'common.py':
    'from pathlib import Path\n\nsettings = Path("settings.toml").read_text()\n',
  'settings.toml': '[default]\nhorizon = 7\n',
  'scripts/backfill.py': 'print("one-off")\n',
  'models/.gitkeep': '',
  'tests/test_fit.py': 'from pipeline.fit import main\n',
};

/** src-layout installable (hatchling) with console scripts and no __main__ guards. */
const SRC_LAYOUT: Files = {
  'pyproject.toml': `[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "churn-model"
version = "0.3.0"
readme = "README.md"
requires-python = ">=3.10"
dependencies = [
  "fastapi>=0.110",
  "uvicorn[standard]>=0.29",  # the server
  "scikit-learn>=1.4",
  "mlflow-skinny==2.12.1",
]

[project.optional-dependencies]
dev = ["pytest>=8", "ruff"]
gpu = ["xgboost[gpu]"]

[project.scripts]
churn-train = "churn_model.cli:train"
churn-serve = "churn_model.cli:serve"

[dependency-groups]
lint = ["ruff", "mypy"]

[tool.ruff]
line-length = 100
`,
  'README.md': '# churn-model\n',
  'src/churn_model/__init__.py': '__version__ = "0.3.0"\n',
  'src/churn_model/api.py': `from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app):
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/health")
def health():
    return {"ok": True}
`,
  'src/churn_model/cli.py': `import uvicorn

CONFIG = "configs/default.yaml"


def train():
    pass


def serve():
    uvicorn.run("churn_model.api:app")
`,
  'src/churn_model/training.py': 'def fit(X, y):\n    return None\n',
  'configs/default.yaml': 'seed: 1\n',
  'tests/test_api.py': 'from churn_model.api import app\n',
};

/** Legacy setup.py with find_packages, a factory app and a console script. */
const SETUP_PY: Files = {
  'setup.py': `from setuptools import find_packages, setup

with open("README.rst") as f:
    long_description = f.read()

setup(
    name="fraud-detector",
    version="1.2.0",
    long_description=long_description,
    packages=find_packages(exclude=["tests", "tests.*"]),
    install_requires=[
        "numpy>=1.26",
        "lightgbm>=4.3",
        "fastapi",
        "uvicorn",
    ],
    extras_require={"test": ["pytest"], "viz": ["matplotlib"]},
    entry_points={"console_scripts": ["fraud-fit=fraud.train:main"]},
)
`,
  'README.rst': 'fraud\n=====\n',
  'fraud/__init__.py': '',
  'fraud/train.py': 'import lightgbm\n\n\ndef main():\n    pass\n',
  'fraud/service/__init__.py': '',
  'fraud/service/http.py': `from fastapi import FastAPI


def build_app():
    api = FastAPI(title="fraud")

    @api.get("/livez")
    def livez():
        return "ok"

    return api
`,
  'serve_local.py':
    'import uvicorn\n\nuvicorn.run("fraud.service.http:build_app", factory=True)\n',
  'tests/__init__.py': '',
  'tests/test_http.py': 'from fraud.service.http import build_app\n',
};

/** Serving only: one main.py and a committed model/model.pkl. */
const SERVING_ONLY: Files = {
  'requirements.txt': 'fastapi\nuvicorn\nscikit-learn==1.4.2\njoblib\n',
  'main.py': `import json

import joblib
from fastapi import FastAPI as Api

app = Api()
model = joblib.load("model/model.pkl")
labels = json.load(open("labels.json"))


@app.get("/health")
def health():
    return {"ok": True}
`,
  'model/model.pkl': 'pickle-bytes',
  'labels.json': '["no", "yes"]',
};

/** Poetry with poetry-core, a package named in packages, and a root train.py. */
const POETRY: Files = {
  'pyproject.toml': `[tool.poetry]
name = "sentiment-api"
version = "0.1.0"
description = "Sentiment as a service"
authors = ["Team <team@example.com>"]
readme = "README.md"
packages = [{ include = "sentiment" }]

[tool.poetry.dependencies]
python = "^3.11"
fastapi = "^0.110"
uvicorn = { extras = ["standard"], version = "^0.29" }
transformers = "^4.40"
torch = { version = "^2.2", source = "pytorch" }

[tool.poetry.group.dev.dependencies]
pytest = "^8.1"

[[tool.poetry.source]]
name = "pytorch"
url = "https://download.pytorch.org/whl/cpu"
priority = "explicit"

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
`,
  'README.md': '# sentiment\n',
  'sentiment/__init__.py': '',
  'sentiment/settings.py': 'debug = False\n',
  'sentiment/app.py': `from fastapi import FastAPI

from sentiment import settings

if settings.debug:
    app = FastAPI(debug=True)
else:
    app = FastAPI()


@app.get("/health")
def health():
    return {}
`,
  'train.py':
    'from sentiment import settings\n\n\ndef main():\n    pass' + MAIN_GUARD,
};

describe('inspectProject', () => {
  it('reads a Kaggle-style project: src/ imported as src.x, notebooks/ left out, DVC stages', () => {
    const i = inspect(KAGGLE);
    expect(i).toEqual({
      projectName: 'ml',
      projectRoot: ROOT,
      layout: 'src-package',
      importRoot: '.',
      sources: ['src/'],
      install: {
        requirements: ['requirements.txt'],
        requirementFiles: ['requirements.txt'],
        installable: false,
        installFiles: [],
        excluded: ['requirements-dev.txt'],
        optional: [],
      },
      dependencies: [
        'dvc',
        'fastapi',
        'joblib',
        'pandas',
        'scikit-learn',
        'uvicorn',
      ],
      frameworks: ['dvc', 'scikit-learn'],
      app: 'src.api.main:app',
      appFactory: false,
      apps: ['src.api.main:app'],
      factories: [],
      healthPath: '/healthz',
      healthFrom: 'route',
      readyPath: '/readyz',
      writableFolders: {
        training: ['data/processed', 'metrics', 'models'],
        inference: [],
        where: {
          'data/processed': 'dvc.yaml stage featurize outs',
          metrics: 'dvc.yaml stage train outs',
          models: 'src/models/train_model.py:6',
        },
      },
      training: {
        kind: 'dvc',
        command: ['dvc', 'repro'],
        stages: ['featurize', 'train'],
        dvcDeclared: true,
        files: ['dvc.yaml', 'dvc.lock', '.dvc/config'],
        module: 'src.models.train_model',
      },
      runtimeFiles: ['params.yaml'],
      modelPaths: ['models/'],
      modelsCommitted: false,
      warnings: [],
    });
    expect(summarize(i)).toEqual([
      'Layout: src/ package, imported as src.…',
      'Sources: src/',
      'Install: pip install -r requirements.txt',
      'Left out (dev only): requirements-dev.txt',
      'Frameworks: dvc, scikit-learn',
      'App: src.api.main:app (health /healthz, ready /readyz)',
      'Training: dvc repro (stages: featurize, train)',
      'Writable: data/processed/ (dvc.yaml stage featurize outs), metrics/ (dvc.yaml stage train outs), models/ (src/models/train_model.py:6)',
      'Runtime files: params.yaml',
      'Model files: models/ (written by training)',
    ]);
  });

  it('reads a Hydra project: conf/ found through config_path, requirements/prod.txt over base.txt', () => {
    const i = inspect(HYDRA);
    expect(i).toMatchObject({
      layout: 'top-level-packages',
      importRoot: '.',
      sources: ['serving/', 'trainer/'],
      install: {
        requirements: ['requirements/prod.txt'],
        requirementFiles: ['requirements/prod.txt', 'requirements/base.txt'],
        installable: false,
        excluded: ['requirements/dev.txt'],
        optional: [],
      },
      frameworks: ['xgboost', 'hydra'],
      app: 'serving.app:application',
      healthPath: '/ping',
      training: {
        kind: 'module',
        module: 'trainer.train',
        command: ['python', '-m', 'trainer.train'],
      },
      runtimeFiles: ['conf/'],
      modelPaths: ['artifacts/'],
      modelsCommitted: true,
      warnings: [],
    });
    expect(i.readyPath).toBeUndefined();
  });

  it('reads a flat api/ + pipeline/ + common.py project, with router prefixes and unimported scripts left out', () => {
    const i = inspect(FLAT);
    expect(i).toMatchObject({
      layout: 'top-level-packages',
      sources: ['api/', 'common.py', 'pipeline/'],
      install: {
        requirements: ['requirements.txt'],
        excluded: ['dev-requirements.txt'],
      },
      dependencies: ['fastapi', 'mlflow', 'torch', 'uvicorn'],
      frameworks: ['mlflow', 'torch'],
      app: 'api.server:app',
      healthPath: '/api/health',
      readyPath: '/api/health/ready',
      training: { kind: 'module', module: 'pipeline.fit' },
      runtimeFiles: ['settings.toml'],
      modelPaths: ['models/'],
      modelsCommitted: false,
    });
  });

  it('reads a src-layout installable: modules named under src/, console script for training', () => {
    const i = inspect(SRC_LAYOUT);
    expect(i).toMatchObject({
      layout: 'installable',
      importRoot: 'src',
      sources: [],
      install: {
        requirements: [],
        requirementFiles: [],
        installable: true,
        installFiles: ['pyproject.toml', 'README.md', 'src/'],
        excluded: [
          'pyproject.toml [project.optional-dependencies] dev',
          'pyproject.toml [dependency-groups] lint',
        ],
        optional: ['pyproject.toml [project.optional-dependencies] gpu'],
      },
      dependencies: ['fastapi', 'mlflow-skinny', 'scikit-learn', 'uvicorn'],
      frameworks: ['mlflow', 'scikit-learn'],
      app: 'churn_model.api:app',
      healthPath: '/health',
      training: {
        kind: 'console-script',
        name: 'churn-train',
        command: ['churn-train'],
      },
      runtimeFiles: ['configs/'],
      warnings: [],
    });
    expect(summarize(i).slice(0, 3)).toEqual([
      'Layout: installable package (src layout), pip install .',
      'Sources: none beyond the installed package',
      'Install: pip install .',
    ]);
  });

  it('reads a setup.py project: find_packages, an app factory, extras sorted into dev and optional', () => {
    const i = inspect(SETUP_PY);
    expect(i).toMatchObject({
      layout: 'installable',
      importRoot: '.',
      sources: [],
      install: {
        requirements: [],
        installable: true,
        installFiles: ['setup.py', 'README.rst', 'fraud/'],
        excluded: ['setup.py extras_require test'],
        optional: ['setup.py extras_require viz'],
      },
      dependencies: ['fastapi', 'lightgbm', 'numpy', 'uvicorn'],
      frameworks: ['lightgbm'],
      app: 'fraud.service.http:build_app',
      appFactory: true,
      apps: [],
      factories: ['fraud.service.http:build_app'],
      healthPath: '/livez',
      training: {
        kind: 'console-script',
        name: 'fraud-fit',
        command: ['fraud-fit'],
      },
      warnings: [
        'fraud.service.http:build_app is an app factory (no module-level app): the inference image runs uvicorn with --factory.',
      ],
    });
    expect(summarize(i)).toContain(
      'App: fraud.service.http:build_app (factory: uvicorn --factory) (health /livez)',
    );
  });

  it('reads a serving-only project with a committed model/model.pkl', () => {
    const i = inspect(SERVING_ONLY, { needsTraining: false });
    expect(i).toMatchObject({
      layout: 'top-level-packages',
      sources: ['main.py'],
      app: 'main:app',
      healthPath: '/health',
      training: { kind: 'none' },
      runtimeFiles: ['labels.json'],
      modelPaths: ['model/'],
      modelsCommitted: true,
    });
    expect(summarize(i)).toContain('Training: none');
    expect(summarize(i)).toContain('Model files: model/');
  });

  it('reads a poetry project: package from [tool.poetry] packages, a root train.py copied as source', () => {
    const i = inspect(POETRY);
    expect(i).toMatchObject({
      layout: 'installable',
      sources: ['train.py'],
      install: {
        installable: true,
        installFiles: ['pyproject.toml', 'README.md', 'sentiment/'],
        excluded: ['pyproject.toml [tool.poetry.group.dev]'],
        optional: [],
      },
      dependencies: ['fastapi', 'torch', 'transformers', 'uvicorn'],
      frameworks: ['torch', 'transformers'],
      app: 'sentiment.app:app',
      apps: ['sentiment.app:app'],
      training: { kind: 'module', module: 'train' },
    });
  });

  it('reads scripts kept in a non-package src/ that import each other top-level', () => {
    const i = inspect({
      'requirements.txt': 'fastapi\nuvicorn\n',
      'src/serve.py':
        'from fastapi import FastAPI\nfrom features import build\n\napp = FastAPI()\n\n@app.get("/health")\ndef h():\n    return 1\n',
      'src/features.py': 'def build():\n    pass\n',
      'src/train.py':
        'from features import build\n\ndef main():\n    build()' + MAIN_GUARD,
    });
    expect(i).toMatchObject({
      layout: 'top-level-packages',
      importRoot: 'src',
      sources: ['src/'],
      app: 'serve:app',
      training: { kind: 'module', module: 'train' },
    });
  });

  describe('refuses', () => {
    const app: Files = {
      'app.py':
        'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n',
      'train.py': 'def main(): pass' + MAIN_GUARD,
    };
    const withReqs: Files = {
      ...app,
      'requirements.txt': 'fastapi\nuvicorn\n',
    };

    it.each<[string, Files, InspectOptions, string]>([
      [
        'a project with nothing to install',
        app,
        {},
        `Project "ml" has nothing to install: no requirements.txt, pyproject.toml or setup.py in ${ROOT}. Add one listing the Python dependencies, then rerun.`,
      ],
      [
        'a conda-only project',
        { ...app, 'environment.yml': 'dependencies:\n  - numpy\n' },
        {},
        `Project "ml" has nothing to install: no requirements.txt, pyproject.toml or setup.py in ${ROOT}. Add one listing the Python dependencies, then rerun. (environment.yml is not read: the images install with pip, so export the dependencies to requirements.txt.)`,
      ],
      [
        'a pyproject.toml with tool settings only',
        { ...app, 'pyproject.toml': '[tool.black]\nline-length = 100\n' },
        {},
        `Project "ml" has nothing to install: the pyproject.toml in ${ROOT} has no [project] or [build-system] table, and there is no requirements.txt or setup.py. Add a requirements.txt listing the Python dependencies (or a [project] table with dependencies), then rerun.`,
      ],
      [
        'a poetry project in package-mode = false',
        {
          ...app,
          'pyproject.toml':
            '[tool.poetry]\npackage-mode = false\n\n[tool.poetry.dependencies]\npython = "^3.11"\nfastapi = "*"\n',
        },
        {},
        'Project "ml" lists its dependencies only in [tool.poetry] with package-mode = false, which pip cannot install. Export them (poetry export -f requirements.txt -o requirements.txt --without-hashes), then rerun.',
      ],
      [
        'a poetry project without [build-system]',
        {
          ...app,
          'pyproject.toml':
            '[tool.poetry]\nname = "x"\n\n[tool.poetry.dependencies]\nfastapi = "*"\n',
        },
        {},
        'Project "ml" lists its dependencies only in [tool.poetry] without a [build-system], which pip cannot install. Export them (poetry export -f requirements.txt -o requirements.txt --without-hashes), then rerun.',
      ],
      [
        'a setup.cfg alone',
        { ...app, 'setup.cfg': '[metadata]\nname = x\n' },
        {},
        `Project "ml" has nothing to install: setup.cfg in ${ROOT} needs a setup.py or pyproject.toml beside it for pip install . to work. Add a requirements.txt listing the Python dependencies, or a pyproject.toml with a [build-system] table, then rerun.`,
      ],
      [
        'a pyproject.toml that is not TOML',
        {
          ...app,
          'pyproject.toml':
            '[project]\nname = "x"\ndependencies = [\n  "fastapi"\n  "uvicorn",\n]\n',
        },
        {},
        `pyproject.toml in ${ROOT} is not valid TOML (line 5: unexpected character encountered). Fix it, then rerun.`,
      ],
      [
        'requirements that include a dev file',
        {
          ...app,
          'requirements.txt': 'fastapi\n-r requirements-dev.txt\n',
          'requirements-dev.txt': 'pytest\n',
        },
        {},
        'requirements.txt includes requirements-dev.txt (line 2), a dev-only requirements file, so the images would install dev tools. Remove that line (requirements-dev.txt can include requirements.txt instead), then rerun.',
      ],
      [
        'requirements that include a missing file',
        { ...app, 'requirements.txt': '-r requirements/base.txt\n' },
        {},
        `requirements.txt includes requirements/base.txt (line 1), which does not exist in ${ROOT}. Fix the path, then rerun.`,
      ],
      [
        'requirements that include a file outside the project',
        { ...app, 'requirements.txt': '-r ../../shared/requirements.txt\n' },
        {},
        `requirements.txt includes ../../shared/requirements.txt (line 1), which is outside the project folder, so the image build cannot see it. Copy those requirements into ${ROOT}, then rerun.`,
      ],
      [
        'requirements that install the project itself',
        {
          ...app,
          'setup.py':
            'from setuptools import setup\nsetup(name="x", py_modules=["app", "train"])\n',
          'requirements.txt': 'fastapi\nuvicorn\n\n# local package\n-e .\n',
        },
        {},
        'requirements.txt installs the project itself ("-e ." on line 5), which the images already do with pip install . after the requirements. Move that line to requirements-dev.txt, then rerun.',
      ],
      [
        'several FastAPI apps',
        {
          ...withReqs,
          'admin/__init__.py':
            'from fastapi import FastAPI\nadmin_app = FastAPI()\n',
        },
        {},
        'Project "ml" has several FastAPI apps (admin:admin_app, app:app). Choose one with --appModule=<module:attr>.',
      ],
      [
        'no FastAPI app',
        {
          'requirements.txt': 'numpy\n',
          'train.py': 'def main(): pass' + MAIN_GUARD,
        },
        {},
        'No FastAPI app found in project "ml" (looked for app = FastAPI(...) in its .py files outside tests/ and notebooks/). Pass --appModule=<module:attr>, or --image=training to generate only the training image.',
      ],
      [
        'several app factories and no app',
        {
          'requirements.txt': 'fastapi\n',
          'train.py': 'def main(): pass' + MAIN_GUARD,
          'web.py':
            'from fastapi import FastAPI\n\ndef create_app() -> FastAPI:\n    return FastAPI()\n\ndef create_admin():\n    a = FastAPI()\n    return a\n',
        },
        {},
        'Project "ml" has no module-level FastAPI app but several app factories (web:create_app, web:create_admin). Choose one with --appModule=<module:function>.',
      ],
      [
        'an --appModule that is no module:attr',
        withReqs,
        { appModule: 'app.py' },
        '--appModule must look like package.module:app (got "app.py").',
      ],
      [
        'an --appModule whose module does not exist',
        withReqs,
        { appModule: 'service.api:app' },
        `--appModule names service.api:app, but ${ROOT} has no service/api.py. Check the module path, then rerun.`,
      ],
      [
        'a --trainingModule that is a file',
        withReqs,
        { trainingModule: 'jobs/train.py' },
        '--trainingModule takes a module, not a file (got "jobs/train.py"): pass --trainingModule=jobs.train, or --trainingCommand="python jobs/train.py".',
      ],
      [
        'a --trainingModule that is no module',
        withReqs,
        { trainingModule: 'jobs/train' },
        '--trainingModule must be a dotted Python module such as pipeline.train (got "jobs/train").',
      ],
      [
        'a --trainingModule that does not exist',
        withReqs,
        { trainingModule: 'jobs.train' },
        `The training module jobs.train does not exist in ${ROOT} (no jobs/train.py). Pass --trainingModule=<package.module>, or --image=inference for a serving-only project.`,
      ],
      [
        'an empty --trainingCommand',
        withReqs,
        { trainingCommand: [] },
        '--trainingCommand must be a non-empty list of arguments, e.g. ["python", "-m", "pipeline.train", "--config", "configs/base.yaml"].',
      ],
      [
        '--trainingModule with --trainingCommand',
        withReqs,
        { trainingModule: 'train', trainingCommand: ['python', 'train.py'] },
        'Pass --trainingModule or --trainingCommand, not both: they both set what the training image runs.',
      ],
      [
        'no training entry',
        { 'requirements.txt': 'fastapi\nuvicorn\n', 'app.py': app['app.py'] },
        {},
        'No training entry found in project "ml": no dvc.yaml stages, no train.py or fit.py with if __name__ == "__main__":, no console script named like train. Pass --trainingModule=<package.module> or --trainingCommand, or --image=inference for a serving-only project.',
      ],
      [
        'several training entries',
        { ...withReqs, 'fit.py': 'def main(): pass' + MAIN_GUARD },
        {},
        'Project "ml" has several training entries (fit.py, train.py). Choose one with --trainingModule=<package.module> or --trainingCommand.',
      ],
      [
        'several training console scripts',
        {
          'pyproject.toml':
            '[project]\nname = "x"\nversion = "1"\ndependencies = ["fastapi", "uvicorn"]\n\n[project.scripts]\nx-train = "x.cli:train"\nx-train-gpu = "x.cli:train_gpu"\n',
          'src/x/__init__.py': '',
          'src/x/cli.py': 'def train(): pass\n',
          'src/x/app.py': app['app.py'],
        },
        {},
        'Project "ml" has several training console scripts (x-train, x-train-gpu). Choose one with --trainingCommand.',
      ],
      [
        'a --runtimeFiles path outside the project',
        withReqs,
        { runtimeFiles: ['../shared/config.yaml'] },
        `--runtimeFiles names "../shared/config.yaml", which is not inside the project: name files and folders relative to ${ROOT}.`,
      ],
      [
        'a --runtimeFiles path that does not exist',
        withReqs,
        { runtimeFiles: ['configs/prod.yaml'] },
        `--runtimeFiles names "configs/prod.yaml", which does not exist in ${ROOT}. Check the path, then rerun.`,
      ],
    ])('%s', (_, files, options, message) => {
      expect(refusal(files, options)).toBe(message);
    });

    it('does not write to the tree', () => {
      const tree = treeWith(KAGGLE);
      const before = tree.listChanges().length;
      inspectProject(tree, ROOT, { projectName: 'ml' });
      expect(tree.listChanges().length).toBe(before);
    });
  });

  it('names the project after its folder when no name is given', () => {
    expect(() => inspectProject(treeWith({}), ROOT)).toThrow(
      'Project "ml" has nothing to install',
    );
  });
});

// Issue 16: each case was misread by the hand-written readers these replaced.
describe('inspectProject on forms the hand-written readers misread', () => {
  const app =
    'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/health")\ndef h():\n    return 1\n';
  const train = 'def main(): pass' + MAIN_GUARD;

  it.each<[string, Files, Partial<ProjectInspection>]>([
    [
      'setup.cfg install_requires on one line, split at ;',
      {
        'pyproject.toml':
          '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n',
        'setup.cfg':
          '[metadata]\nname = svc\n[options]\npy_modules = app\ninstall_requires = fastapi; uvicorn[standard]>=0.30\n',
        'app.py': app,
      },
      { dependencies: ['fastapi', 'uvicorn'], warnings: [] },
    ],
    [
      'setup.cfg install_requires = file: requirements-base.txt',
      {
        'pyproject.toml':
          '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n',
        'setup.cfg':
          '[metadata]\nname = svc\n[options]\npy_modules = app\ninstall_requires = file: requirements-base.txt\n',
        'requirements-base.txt': 'fastapi\nuvicorn\n',
        'app.py': app,
      },
      { dependencies: ['fastapi', 'uvicorn'], warnings: [] },
    ],
    [
      'a requirement with a parenthesized version, a -e VCS line with #egg',
      {
        'requirements.txt':
          'fastapi (>=0.110)\nuvicorn\n-e git+https://github.com/o/mlkit.git@v1#egg=mlkit\n',
        'app.py': app,
      },
      { dependencies: ['fastapi', 'mlkit', 'uvicorn'] },
    ],
    [
      'a torch pin with hashes on continuation lines (pip-compile)',
      {
        'requirements.txt':
          'fastapi==0.110.0\nuvicorn==0.29.0\ntorch==2.5.1 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n',
        'app.py': app,
      },
      { torchPin: '2.5.1' },
    ],
    [
      'a dvc stage merged from an anchor, its deps an alias',
      {
        'requirements.txt': 'fastapi\nuvicorn\ndvc\n',
        'dvc.yaml':
          'x-py: &py\n  cmd: python -m pipeline.fit\nx-deps: &deps [pipeline]\nstages:\n  fit:\n    <<: *py\n    deps: *deps\n',
        'pipeline/__init__.py': '',
        'pipeline/fit.py': train,
        'app.py': app,
      },
      {
        training: {
          kind: 'dvc',
          command: ['dvc', 'repro'],
          stages: ['fit'],
          dvcDeclared: true,
          files: ['dvc.yaml'],
          module: 'pipeline.fit',
        },
      },
    ],
    [
      'a dvc cmd quoted over two lines',
      {
        'requirements.txt': 'fastapi\nuvicorn\ndvc\n',
        'dvc.yaml':
          'stages:\n  fit:\n    cmd: "python -m\n      pipeline.fit"\n',
        'pipeline/__init__.py': '',
        'pipeline/fit.py': train,
        'app.py': app,
      },
      { training: expect.objectContaining({ module: 'pipeline.fit' }) },
    ],
    [
      'cd before python, and a quoted --config with a space',
      {
        'requirements.txt': 'fastapi\nuvicorn\ndvc\n',
        'dvc.yaml':
          'stages:\n  fit:\n    cmd: cd jobs && python fit.py --config="../experiments/a b.yaml"\n',
        'jobs/fit.py': train,
        'experiments/a b.yaml': 'lr: 1\n',
        'app.py': app,
      },
      {
        sources: ['app.py', 'jobs/'],
        runtimeFiles: ['experiments/a b.yaml'],
      },
    ],
  ])('%s', (_, files, expected) => {
    expect(inspect(files, { needsTraining: false })).toMatchObject(expected);
  });

  it.each<[string, Files, string]>([
    [
      'invalid dvc.yaml',
      {
        'requirements.txt': 'fastapi\nuvicorn\n',
        'dvc.yaml': 'stages:\n  fit:\n    cmd: [python fit.py\n',
        'train.py': train,
        'app.py': app,
      },
      'dvc.yaml:4: not valid YAML',
    ],
    [
      'setup.cfg a line setuptools refuses',
      {
        'pyproject.toml':
          '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n',
        'setup.cfg': '[options]\npy_modules = app\ninstall_requires\n',
        'requirements.txt': 'fastapi\nuvicorn\n',
        'app.py': app,
      },
      'setup.cfg:3: "install_requires" is not an option = value line',
    ],
    [
      'setup.cfg install_requires = file: naming a missing file',
      {
        'pyproject.toml':
          '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n',
        'setup.cfg':
          '[options]\npy_modules = app\ninstall_requires = file: reqs/base.txt\n',
        'requirements.txt': 'fastapi\nuvicorn\n',
        'app.py': app,
      },
      "The package's dependencies are read from reqs/base.txt, which does not exist: pip install . will fail on it. Add the file or fix the reference in setup.cfg, then rerun.",
    ],
  ])('warns: %s', (_, files, warning) => {
    const i = inspect(files, { needsTraining: false });
    expect(i.warnings.some((w) => w.startsWith(warning))).toBe(true);
  });

  it('gives the line a requirements error is on, after continuations', () => {
    expect(
      refusal({
        'requirements.txt':
          'torch==2.5.1 \\\n  --hash=sha256:aa\n-r missing.txt\n',
        'app.py': app,
      }),
    ).toContain('(line 3)');
  });
});
