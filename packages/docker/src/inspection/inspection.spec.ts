// Issue 16: strangers' FastAPI model servers, each misread by the regex reader.
import { UserFacingError } from '../errors/errors';
import { Files, inspect as inspectAt } from '../testing/inspect-project';
import {
  InspectOptions,
  ProjectInspection,
  summarize,
} from './inspect-project';

const inspect = (files: Files, options: InspectOptions = {}) =>
  inspectAt(
    files,
    { projectName: 'srv', needsTraining: false, ...options },
    'apps/srv',
  );

const REQS = { 'requirements.txt': 'fastapi\nuvicorn\n' };
const HEALTH = '\ndef health():\n    return {"ok": True}\n';

/** An app in main.py plus the given modules. */
function server(main: string, more: Files = {}): Files {
  return { ...REQS, 'main.py': main, ...more };
}

type Pick = (i: ProjectInspection) => unknown;
const route: Pick = (i) => ({
  app: i.app,
  healthPath: i.healthPath,
  readyPath: i.readyPath,
});

describe('routes, prefixes and the health path', () => {
  it.each<[string, Files, unknown]>([
    [
      'include_router(prefix=API_PREFIX) with the constant in core/config.py',
      {
        ...REQS,
        'app/__init__.py': '',
        'app/core/__init__.py': '',
        'app/core/config.py': 'API_PREFIX = "/api"\n',
        'app/api.py':
          'from fastapi import APIRouter\nrouter = APIRouter()\n@router.get("/health")' +
          HEALTH,
        'app/main.py':
          'from fastapi import FastAPI\nfrom app.core.config import API_PREFIX\nfrom app.api import router\napp = FastAPI()\napp.include_router(router, prefix=API_PREFIX)\n',
      },
      { app: 'app.main:app', healthPath: '/api/health', readyPath: undefined },
    ],
    [
      'prefix=settings.API_V1_STR from a pydantic-settings BaseSettings default',
      {
        ...REQS,
        'core/__init__.py': '',
        'core/config.py':
          'from pydantic_settings import BaseSettings, SettingsConfigDict\nclass Settings(BaseSettings):\n    model_config = SettingsConfigDict(env_file=".env")\n    API_V1_STR: str = "/api/v1"\nsettings = Settings()\n',
        'main.py':
          'from fastapi import FastAPI, APIRouter\nfrom core.config import settings\napp = FastAPI()\nr = APIRouter()\n@r.get("/health")' +
          HEALTH +
          'app.include_router(r, prefix=settings.API_V1_STR)\n',
      },
      { app: 'main:app', healthPath: '/api/v1/health', readyPath: undefined },
    ],
    [
      'Field(default=...), a base class, and a settings getter',
      server(
        'from functools import lru_cache\nfrom fastapi import FastAPI, APIRouter\nfrom pydantic import BaseSettings, Field\nclass Base(BaseSettings):\n    PREFIX: str = Field(default="/svc")\nclass Settings(Base):\n    DEBUG: bool = False\n@lru_cache\ndef get_settings():\n    return Settings()\napp = FastAPI()\nr = APIRouter(prefix=get_settings().PREFIX)\n@r.get("/livez")' +
          HEALTH +
          'app.include_router(r)\n',
      ),
      { app: 'main:app', healthPath: '/svc/livez', readyPath: undefined },
    ],
    [
      '@app.get(HEALTH_PATH) and a ready route by constant',
      server(
        'from fastapi import FastAPI\nHEALTH_PATH = "/healthz"\nREADY = "/readyz"\napp = FastAPI()\n@app.get(HEALTH_PATH)' +
          HEALTH +
          '@app.get(path=READY)\ndef ready():\n    return 1\n',
      ),
      { app: 'main:app', healthPath: '/healthz', readyPath: '/readyz' },
    ],
    [
      'app.add_api_route and app.router.add_api_route',
      server(
        'from fastapi import FastAPI' +
          HEALTH +
          'app = FastAPI()\napp.router.add_api_route("/ping", health)\napp.add_api_route("/ready", health, methods=["GET"])\napp.add_api_route("/health", health, methods=["POST"])\n',
      ),
      { app: 'main:app', healthPath: '/ping', readyPath: '/ready' },
    ],
    [
      'app, router = FastAPI(), APIRouter()',
      server(
        'from fastapi import FastAPI, APIRouter\napp, router = FastAPI(), APIRouter()\n@router.get("/health")' +
          HEALTH +
          'app.include_router(router, prefix="/v2")\n',
      ),
      { app: 'main:app', healthPath: '/v2/health', readyPath: undefined },
    ],
    [
      'fastapi.applications.FastAPI() through a module alias',
      server(
        'import fastapi.applications as fa\napplication = fa.FastAPI()\n@application.get("/health")' +
          HEALTH,
      ),
      { app: 'main:application', healthPath: '/health', readyPath: undefined },
    ],
    [
      'import fastapi; app = fastapi.FastAPI() on one line',
      server(
        'import fastapi; app = fastapi.FastAPI()\n@app.get("/health")' + HEALTH,
      ),
      { app: 'main:app', healthPath: '/health', readyPath: undefined },
    ],
    [
      'heartbeat under a health router, router including router across modules',
      {
        ...REQS,
        'svc/__init__.py': '',
        'svc/config.py': 'API_PREFIX = "/api"\n',
        'svc/routes/__init__.py': '',
        'svc/routes/health.py':
          'from fastapi import APIRouter\nrouter = APIRouter(prefix="/health", tags=["health"])\n@router.get("/heartbeat")' +
          HEALTH,
        'svc/routes/api.py':
          'from fastapi import APIRouter\nfrom svc.routes import health\napi_router = APIRouter()\napi_router.include_router(health.router)\n',
        'svc/main.py':
          'from fastapi import FastAPI\nfrom .config import API_PREFIX\nfrom .routes.api import api_router\napp = FastAPI(title="x")\napp.include_router(api_router, prefix=API_PREFIX)\n',
      },
      {
        app: 'svc.main:app',
        healthPath: '/api/health/heartbeat',
        readyPath: undefined,
      },
    ],
    [
      'f-strings and + of constants, os.getenv defaults',
      server(
        'import os\nfrom fastapi import FastAPI, APIRouter\nBASE = os.getenv("BASE", "/api")\nV = "v1"\napp = FastAPI()\nr = APIRouter(prefix=f"{BASE}/{V}")\n@r.get("/" + "health")' +
          HEALTH +
          'app.include_router(r)\n',
      ),
      { app: 'main:app', healthPath: '/api/v1/health', readyPath: undefined },
    ],
    [
      'Starlette Config field default',
      server(
        'from starlette.config import Config\nfrom fastapi import FastAPI, APIRouter\nconfig = Config(".env")\nPREFIX = config("PREFIX", cast=str, default="/ml")\napp = FastAPI()\nr = APIRouter()\n@r.get("/health")' +
          HEALTH +
          'app.include_router(r, prefix=PREFIX)\n',
      ),
      { app: 'main:app', healthPath: '/ml/health', readyPath: undefined },
    ],
    [
      'app = create_app() with the routers included in the factory',
      {
        ...REQS,
        'api/__init__.py': '',
        'api/factory.py':
          'from fastapi import FastAPI\nfrom api.routes import router\ndef create_app() -> FastAPI:\n    application = FastAPI()\n    application.include_router(router, prefix="/api")\n    return application\n',
        'api/routes.py':
          'from fastapi import APIRouter\nrouter = APIRouter()\n@router.get("/health")' +
          HEALTH,
        'api/main.py':
          'from api.factory import create_app\napp = create_app()\n',
      },
      { app: 'api.main:app', healthPath: '/api/health', readyPath: undefined },
    ],
  ])('%s', (_, files, expected) => {
    const i = inspect(files);
    expect(route(i)).toEqual(expected);
    expect(i.healthFrom).toBe('route');
    expect(i.warnings).toEqual([]);
  });

  it.each<[string, string, string, string]>([
    [
      'only POST /predict: the OpenAPI document',
      'from fastapi import FastAPI\napp = FastAPI()\n@app.post("/predict")\ndef p():\n    return 1\n',
      '/openapi.json',
      "the app's OpenAPI document is probed",
    ],
    [
      'a moved OpenAPI document',
      'from fastapi import FastAPI\nDOCS = "/api"\napp = FastAPI(openapi_url=f"{DOCS}/openapi.json")\n@app.post("/predict")\ndef p():\n    return 1\n',
      '/api/openapi.json',
      "the app's OpenAPI document is probed",
    ],
    [
      'openapi_url=None: a GET route without parameters',
      'from fastapi import FastAPI\napp = FastAPI(openapi_url=None)\n@app.get("/items/{id}")\ndef item(id):\n    return 1\n@app.get("/")\ndef root():\n    return 1\n',
      '/',
      'a GET route without parameters is probed',
    ],
  ])('no liveness route, %s', (_, main, healthPath, said) => {
    const i = inspect(server(main));
    expect(i.healthPath).toBe(healthPath);
    expect(i.warnings).toEqual([]);
    expect(summarize(i).find((l) => l.startsWith('App:'))).toContain(said);
    expect(summarize(i).find((l) => l.startsWith('App:'))).toContain(
      '--healthPath',
    );
  });

  it.each<[string, Files, RegExp]>([
    [
      'a prefix from an unresolvable expression',
      server(
        'from fastapi import FastAPI, APIRouter\nfrom somewhere import get_prefix\napp = FastAPI()\nr = APIRouter()\n@r.get("/health")' +
          HEALTH +
          'app.include_router(r, prefix=get_prefix())\n',
      ),
      /^main\.py:8: the prefix of app\.include_router\(r\) is not known .*--healthPath=/,
    ],
    [
      'a route path from a call',
      server(
        'from fastapi import FastAPI\nfrom paths import health_path\napp = FastAPI()\n@app.get(health_path())' +
          HEALTH,
      ),
      /^main\.py:4: the path of @app\.get is not known .*--healthPath=/,
    ],
    [
      'a router not in the project',
      server(
        'from fastapi import FastAPI\nfrom prometheus_fastapi import metrics_router\napp = FastAPI()\napp.include_router(metrics_router)\n',
      ),
      /^main\.py:4: app\.include_router\(metrics_router\) includes a router that is not found in the project.*--healthPath=/,
    ],
  ])('warns, naming file:line and --healthPath: %s', (_, files, warning) => {
    const i = inspect(files);
    expect(i.warnings).toEqual([expect.stringMatching(warning)]);
  });

  it('names the line of an app built by something it cannot read', () => {
    expect(() =>
      inspect(
        server(
          'import fastapi\nfrom platform_kit import make_service\napp = make_service("x")\n',
        ),
      ),
    ).toThrow(
      new UserFacingError(
        'No FastAPI app found in project "srv" (looked for app = FastAPI(...) in its .py files outside tests/ and notebooks/; built by something not read: main.py:3 (app = make_service(...))). Pass --appModule=<module:attr>, or --image=training to generate only the training image.',
      ),
    );
  });
});

describe('setup.py read through the tree', () => {
  const base = { 'app.py': 'from fastapi import FastAPI\napp = FastAPI()\n' };
  it.each<[string, Files, string[], string | undefined]>([
    [
      'install_requires with extras and a torch pin',
      {
        ...base,
        'setup.py':
          'from setuptools import setup\nsetup(\n    name="srv",\n    install_requires=["uvicorn[standard]>=0.30", "fastapi", "torch==2.3.1"],\n    py_modules=["app"],\n)\n',
      },
      ['fastapi', 'torch', 'uvicorn'],
      '2.3.1',
    ],
    [
      'install_requires=REQS, a module variable',
      {
        ...base,
        'setup.py':
          'from setuptools import setup\nREQS = [\n    "fastapi",  # web\n    "uvicorn",\n] + ["torch==2.4.0"]\nsetup(name="srv", install_requires=REQS, py_modules=["app"])\n',
      },
      ['fastapi', 'torch', 'uvicorn'],
      '2.4.0',
    ],
    [
      'install_requires read from a requirements file',
      {
        ...base,
        'deps.txt': 'fastapi\nuvicorn\ntorch==2.5.1\n',
        'setup.py':
          'from setuptools import setup\nsetup(name="srv", install_requires=open("deps.txt").read().splitlines(), py_modules=["app"])\n',
      },
      ['fastapi', 'torch', 'uvicorn'],
      '2.5.1',
    ],
  ])('%s', (_, files, deps, torchPin) => {
    const i = inspect(files);
    expect(i.dependencies).toEqual(deps);
    expect(i.torchPin).toBe(torchPin);
  });
});

describe('writable folders', () => {
  const app = (extra = '') =>
    `from fastapi import FastAPI\n${extra}app = FastAPI()\n@app.get("/health")${HEALTH}`;
  const train = (body: string) =>
    `${body}\ndef main():\n    pass\n\nif __name__ == "__main__":\n    main()\n`;
  it.each<[string, Files, ProjectInspection['writableFolders']]>([
    [
      'metrics and logs in training, a log file at import in the app',
      {
        ...REQS,
        'app/__init__.py': '',
        'app/logging_setup.py':
          'import logging, os\nos.makedirs("logs", exist_ok=True)\nhandler = logging.FileHandler("logs/app.log")\n',
        'app/main.py': app('from app import logging_setup\n'),
        'train.py': train(
          'import json\nfrom pathlib import Path\nMETRICS = Path("metrics") / "metrics.json"\nMETRICS.parent.mkdir(parents=True, exist_ok=True)\nwith open(METRICS, "w") as f:\n    json.dump({}, f)\nwith open("runs/train.log", "a") as log:\n    log.write("x")\n',
        ),
      },
      {
        training: ['metrics', 'runs'],
        inference: ['logs'],
        where: {
          logs: 'app/logging_setup.py:2',
          metrics: 'train.py:4',
          runs: 'train.py:7',
        },
      },
    ],
    [
      'pandas, joblib and torch outputs, dynamic subpaths',
      {
        ...REQS,
        'main.py': app(),
        'pipeline/__init__.py': '',
        'pipeline/config.py': 'MODEL_PATH = "models/model.joblib"\n',
        'pipeline/train.py': train(
          'import joblib, torch\nfrom pipeline.config import MODEL_PATH\ndef run(df, m, name):\n    df.to_csv("data/processed/x.csv")\n    joblib.dump(m, MODEL_PATH)\n    torch.save(m, f"checkpoints/{name}.pt")\n',
        ),
      },
      {
        training: ['checkpoints', 'data/processed', 'models'],
        inference: [],
        where: {
          checkpoints: 'pipeline/train.py:6',
          'data/processed': 'pipeline/train.py:4',
          models: 'pipeline/train.py:5',
        },
      },
    ],
    [
      'a folder beside the module: Path(__file__).parent / "artifacts"',
      {
        ...REQS,
        'main.py': app(),
        'ml/__init__.py': '',
        'ml/train.py': train(
          'from pathlib import Path\nOUT = Path(__file__).parent / "artifacts"\nOUT.mkdir(exist_ok=True)\n',
        ),
      },
      {
        training: ['ml/artifacts'],
        inference: [],
        where: { 'ml/artifacts': 'ml/train.py:3' },
      },
    ],
    [
      'beside a path read from config: its parent is not known, so neither is the folder',
      {
        ...REQS,
        'main.py': app(),
        'train.py': train(
          'import json\nfrom pathlib import Path\ncfg = json.load(open("params.json"))\nmetrics_path = Path(cfg["metrics"])\nplots = metrics_path.parent / "plots"\nplots.mkdir(exist_ok=True)\nPath("reports").mkdir(exist_ok=True)\n',
        ),
        'params.json': '{"metrics": "reports/metrics.json"}',
      },
      {
        training: ['reports'],
        inference: [],
        where: { reports: 'train.py:7' },
      },
    ],
  ])('%s', (_, files, expected) => {
    const i = inspect(files, { needsTraining: true });
    expect(i.writableFolders).toEqual(expected);
    expect(summarize(i)).toContain(
      `Writable: ${[...new Set([...expected.inference, ...expected.training])]
        .sort()
        .map((f) => `${f}/ (${expected.where[f]})`)
        .join(', ')}`,
    );
  });

  it('warns about writes it cannot place and writes into the project root', () => {
    const i = inspect(
      {
        ...REQS,
        'main.py': app(),
        'train.py': train(
          'import sys\ndef save(df):\n    df.to_csv(sys.argv[1])\n    open("out.txt", "w").write("x")\n',
        ),
      },
      { needsTraining: true },
    );
    expect(i.writableFolders.training).toEqual([]);
    expect(i.warnings).toEqual([
      expect.stringMatching(
        /^Could not tell where this write lands: train\.py:3\./,
      ),
      expect.stringMatching(/^train\.py:4 writes a file into the project root/),
    ]);
  });
});

describe('a serving project without training code', () => {
  it.each<[string, Files, string[], Record<string, string>]>([
    [
      'the model path is a settings default',
      {
        ...REQS,
        'sample_model/model.joblib': 'x',
        'config.py':
          'from pydantic_settings import BaseSettings\nclass Settings(BaseSettings):\n    MODEL_PATH: str = "sample_model/model.joblib"\nsettings = Settings()\n',
        'main.py':
          'import joblib\nfrom fastapi import FastAPI\nfrom config import settings\napp = FastAPI()\nmodel = joblib.load(settings.MODEL_PATH)\n',
      },
      ['sample_model/'],
      { 'sample_model/': 'main.py:5' },
    ],
    [
      'the model path is only in .env.example',
      {
        ...REQS,
        '.env.example':
          '# copy to .env\nMODEL_PATH=serving/clf.pkl\nLOG_LEVEL=info\n',
        'serving/clf.pkl': 'x',
        'main.py':
          'import os, pickle\nfrom fastapi import FastAPI\napp = FastAPI()\nmodel = pickle.load(open(os.environ["MODEL_PATH"], "rb"))\n',
      },
      ['serving/'],
      { 'serving/': '.env.example:2' },
    ],
  ])('%s', (_, files, modelPaths, modelSources) => {
    const i = inspect(files);
    expect(i.training).toEqual({ kind: 'none' });
    expect(i.modelPaths).toEqual(modelPaths);
    expect(i.modelsCommitted).toBe(true);
    expect(i.modelSources).toEqual(modelSources);
  });
});
