"""FastAPI app serving the synthetic tabular classifier.

Run from the project root:

    uvicorn src.serve.app:app --host 0.0.0.0 --port 8000

Environment:
    MODEL_PATH                 model file (default: models/model.joblib, relative to cwd)
    MODEL_LOAD_RETRY_SECONDS   wait between load attempts while the file is
                               missing or unreadable (default: 5)

The model is loaded in a background thread started on app startup, so
/health answers immediately and /ready turns 200 once the model is loaded.
"""

import contextlib
import inspect
import math
import os
import threading
import time
from typing import List

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from ml_common.features import engineer
from pydantic import BaseModel

DEFAULT_MODEL_PATH = os.path.join("models", "model.joblib")


class PredictRequest(BaseModel):
    rows: List[List[float]]


class PredictResponse(BaseModel):
    classes: List[int]
    probabilities: List[List[float]]
    labels: List[int]


class _ModelState:
    """Holds the loaded model; written once by the loader thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.model = None
        self.n_features = None
        self.labels = None
        self.error = None
        self.path = None
        self.thread = None


state = _ModelState()


def _model_path():
    return os.environ.get("MODEL_PATH", DEFAULT_MODEL_PATH)


def _retry_seconds():
    try:
        return max(0.1, float(os.environ.get("MODEL_LOAD_RETRY_SECONDS", "5")))
    except ValueError:
        return 5.0


def _load_bundle(path):
    import joblib  # imported lazily: keeps module import light

    obj = joblib.load(path)
    if isinstance(obj, dict):
        model = obj["model"]
        n_features = obj.get("n_features")
    else:
        model = obj
        n_features = None
    if n_features is None:
        n_features = getattr(model, "n_features_in_", None)
    if n_features is None or not hasattr(model, "predict_proba"):
        raise ValueError("%s does not contain a fitted classifier" % path)
    labels = [int(c) for c in model.classes_]
    return model, int(n_features), labels


def _loader():
    path = _model_path()
    state.path = path
    while True:
        try:
            if not os.path.exists(path):
                raise FileNotFoundError("model file not found: %s" % path)
            model, n_features, labels = _load_bundle(path)
        except Exception as exc:  # keep retrying; /ready reports the reason
            with state.lock:
                state.error = "%s: %s" % (type(exc).__name__, exc)
            time.sleep(_retry_seconds())
            continue
        with state.lock:
            state.model = model
            state.n_features = n_features
            state.labels = labels
            state.error = None
        print("model loaded from %s (n_features=%d, classes=%s)" % (path, n_features, labels), flush=True)
        return


def start_loader():
    if state.thread is None:
        state.thread = threading.Thread(target=_loader, name="model-loader", daemon=True)
        state.thread.start()


def _snapshot():
    with state.lock:
        return state.model, state.n_features, state.labels, state.error


# Start the loader on app startup. Newer FastAPI prefers `lifespan`; older
# releases (e.g. Debian's 0.92) only support `on_startup`.
if "lifespan" in inspect.signature(FastAPI.__init__).parameters:

    @contextlib.asynccontextmanager
    async def _lifespan(_app):
        start_loader()
        yield

    app = FastAPI(title="synth tabular classifier", lifespan=_lifespan)
else:
    app = FastAPI(title="synth tabular classifier", on_startup=[start_loader])


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/ready")
def ready():
    model, n_features, labels, error = _snapshot()
    if model is None:
        body = {"status": "loading", "model_path": state.path or _model_path()}
        if error:
            body["detail"] = error
        return JSONResponse(status_code=503, content=body)
    return {"status": "ready", "model_path": state.path, "n_features": n_features, "classes": labels}


@app.post("/predict", response_model=PredictResponse)
def predict(request: PredictRequest):
    model, n_features, labels, error = _snapshot()
    if model is None:
        detail = "model not loaded yet"
        if error:
            detail += " (%s)" % error
        raise HTTPException(status_code=503, detail=detail)

    rows = request.rows
    if not rows:
        raise HTTPException(status_code=422, detail="rows must contain at least one row")
    for i, row in enumerate(rows):
        if len(row) != n_features:
            raise HTTPException(
                status_code=422,
                detail="row %d has %d features, expected %d" % (i, len(row), n_features),
            )
        if not all(math.isfinite(v) for v in row):
            raise HTTPException(status_code=422, detail="row %d contains a non-finite value" % i)

    probabilities = model.predict_proba(engineer(rows))
    classes = [labels[int(j)] for j in probabilities.argmax(axis=1)]
    return {
        "classes": classes,
        "probabilities": [[float(p) for p in row] for row in probabilities],
        "labels": labels,
    }
