"""FastAPI app serving the synthetic tabular classifier.

Run from the project root:

    uvicorn src.serve.app:app --host 0.0.0.0 --port 8000

Environment:
    MODEL_PATH                 model file (default: models/model.joblib, relative to cwd)
    MODEL_LOAD_RETRY_SECONDS   wait between load attempts while the file is
                               missing or unreadable (default: 5)

The app's lifespan starts the model loader in a background thread, so
/health (liveness) answers at once and /ready answers 503 until the model is
loaded, then 200. POST /predict documents an example request in its JSON
schema; the example is a valid input for the shipped params (10 features).
"""

import contextlib
import math
import os
import threading
from typing import List, Optional

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from ml_common.features import engineer
from pydantic import BaseModel, Field, field_validator

DEFAULT_MODEL_PATH = os.path.join("models", "model.joblib")


# One row of raw features, as many as params.yaml's data.n_features (10).
EXAMPLE_ROW = [0.5, -1.2, 0.3, 2.1, -0.7, 0.0, 1.1, -0.4, 0.9, -2.0]


class PredictRequest(BaseModel):
    """Rows of raw features, one list of numbers per sample."""

    model_config = {"json_schema_extra": {"examples": [{"rows": [EXAMPLE_ROW]}]}}

    rows: List[List[float]] = Field(min_length=1, description="one row of raw features per sample")

    @field_validator("rows")
    @classmethod
    def _rows_rectangular(cls, rows):
        # NaN and infinity are refused by predict(), not here: a validation
        # error echoes its input, and FastAPI cannot encode NaN as JSON.
        for i, row in enumerate(rows):
            if not row:
                raise ValueError("row %d is empty" % i)
            if len(row) != len(rows[0]):
                raise ValueError("row %d has %d features, row 0 has %d" % (i, len(row), len(rows[0])))
        return rows


class PredictResponse(BaseModel):
    classes: List[int] = Field(description="predicted class of each row")
    probabilities: List[List[float]] = Field(description="per row, the probability of each class in `labels` order")
    labels: List[int] = Field(description="the model's classes, in the order of the probabilities")


class Readiness(BaseModel):
    status: str
    model_path: str
    n_features: Optional[int] = None
    classes: Optional[List[int]] = None
    detail: Optional[str] = None


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
        self.stop = threading.Event()


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
            if state.stop.wait(_retry_seconds()):
                return  # the app is shutting down
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


@contextlib.asynccontextmanager
async def lifespan(_app):
    start_loader()
    yield
    state.stop.set()


app = FastAPI(title="synth tabular classifier", lifespan=lifespan)


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get(
    "/ready",
    response_model=Readiness,
    response_model_exclude_none=True,
    responses={503: {"model": Readiness, "description": "model not loaded yet"}},
)
def ready():
    model, n_features, labels, error = _snapshot()
    path = state.path or _model_path()
    if model is None:
        body = Readiness(status="loading", model_path=path, detail=error)
        return JSONResponse(status_code=503, content=body.model_dump(exclude_none=True))
    return Readiness(status="ready", model_path=path, n_features=n_features, classes=labels)


@app.post("/predict", response_model=PredictResponse)
def predict(request: PredictRequest):
    model, n_features, labels, error = _snapshot()
    if model is None:
        detail = "model not loaded yet"
        if error:
            detail += " (%s)" % error
        raise HTTPException(status_code=503, detail=detail)

    rows = request.rows
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
    return PredictResponse(
        classes=classes,
        probabilities=[[float(p) for p in row] for row in probabilities],
        labels=labels,
    )
