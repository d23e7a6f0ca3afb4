import { summarize } from './inspect-project';
import { Files, inspect, MAIN_GUARD } from '../testing/inspect-project';

describe('inspectProject', () => {
  describe('the FastAPI app', () => {
    const withApp = (files: Files) => ({
      'requirements.txt': 'fastapi\nuvicorn\n',
      'train.py': 'def main():\n    pass' + MAIN_GUARD,
      ...files,
    });

    it.each<[string, Files, string]>([
      [
        'an annotated assignment',
        {
          'service.py':
            'from fastapi import FastAPI\napp: FastAPI = FastAPI()\n',
        },
        'service:app',
      ],
      [
        'fastapi.FastAPI under another name',
        {
          'web/__init__.py':
            'import fastapi\napplication = fastapi.FastAPI()\n',
        },
        'web:application',
      ],
      [
        'a module alias',
        {
          'web/asgi.py':
            'import fastapi as fa\n\nasgi = fa.FastAPI(\n    title="x",\n)\n',
        },
        'web.asgi:asgi',
      ],
      [
        'an app built by a factory at import time',
        {
          'web/factory.py':
            'from fastapi import FastAPI\n\ndef create_app() -> FastAPI:\n    return FastAPI()\n',
          'web/main.py':
            'from web.factory import create_app\n\napp = create_app()\n',
        },
        'web.main:app',
      ],
      [
        'an app inside try/except at module level',
        {
          'srv.py':
            'try:\n    from fastapi import FastAPI\nexcept ImportError:\n    raise\nelse:\n    app = FastAPI()\n',
        },
        'srv:app',
      ],
    ])('finds %s', (_, files, app) => {
      const i = inspect(withApp(files));
      expect(i.app).toBe(app);
      expect(i.apps).toEqual([app]);
    });

    it('leaves out apps mounted into another, and apps under tests/ and notebooks/', () => {
      const i = inspect(
        withApp({
          'gateway/__init__.py': '',
          'gateway/admin.py':
            'from fastapi import FastAPI\nadmin = FastAPI()\n',
          'gateway/main.py':
            'from fastapi import FastAPI\nfrom gateway.admin import admin\n\napp = FastAPI()\napp.mount("/admin", admin)\n',
          'tests/conftest.py': 'from fastapi import FastAPI\napp = FastAPI()\n',
          'notebooks/demo.py': 'from fastapi import FastAPI\napp = FastAPI()\n',
        }),
      );
      expect(i.apps).toEqual(['gateway.main:app']);
    });

    it('takes --appModule as given, and reports a factory it names', () => {
      const i = inspect(
        withApp({
          'a.py': 'from fastapi import FastAPI\napp = FastAPI()\n',
          'b.py':
            'from fastapi import FastAPI\napp = FastAPI()\n\ndef make() -> FastAPI:\n    return FastAPI()\n',
        }),
        { appModule: 'b:make' },
      );
      expect(i).toMatchObject({
        app: 'b:make',
        appFactory: true,
        apps: ['a:app', 'b:app'],
        factories: ['b:make'],
      });
    });

    it('is not needed for a training-only generation', () => {
      const i = inspect(
        {
          'requirements.txt': 'numpy\n',
          'train.py': 'def main(): pass' + MAIN_GUARD,
        },
        { needsApp: false },
      );
      expect(i.app).toBeUndefined();
      expect(summarize(i)).toContain('App: none found');
    });

    it('warns when the app has no health route', () => {
      const i = inspect(
        withApp({ 'app.py': 'from fastapi import FastAPI\napp = FastAPI()\n' }),
      );
      // The app always serves its OpenAPI document: probed instead, and said so.
      expect(i.warnings).toEqual([]);
      expect(i.healthPath).toBe('/openapi.json');
      expect(summarize(i)).toContain(
        "App: app:app (health: /openapi.json (no liveness route found; the app's OpenAPI document is probed; add a GET /health or pass --healthPath=<path>))",
      );
    });

    it('finds routes added on the app from another module, through include_router prefixes', () => {
      const i = inspect(
        withApp({
          'svc/__init__.py': '',
          'svc/main.py':
            'from fastapi import FastAPI\nfrom svc.ops import ops\n\napp = FastAPI()\napp.include_router(ops, prefix="/v1")\n',
          'svc/ops.py':
            'from fastapi import APIRouter\nops = APIRouter()\n\n@ops.api_route("/healthz", methods=["GET", "HEAD"])\ndef hz():\n    return 1\n\n@ops.api_route("/ready", methods=["POST"])\ndef not_get():\n    return 1\n',
          'svc/extra.py':
            'from svc.main import app\n\n@app.get(path="/livez")\ndef livez():\n    return 1\n',
        }),
      );
      // svc/extra.py adds a route but nothing the app loads imports it: uvicorn never serves it.
      expect(i.healthPath).toBe('/v1/healthz');
      expect(i.readyPath).toBeUndefined();
    });
  });
});
