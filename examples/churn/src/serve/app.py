"""Churn scoring API: /health (liveness, always 200), /ready (503 until the
model is loaded), /predict (rows of raw customer features in, churn
probabilities out; its request schema documents an example).

The app's lifespan loads the model in a background thread, so /health answers
while the model loads; a load error is reported by /ready.
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

MODEL_PATH = os.environ.get("MODEL_PATH", "models/model.joblib")
state = {"bundle": None, "error": None}

# One customer's raw features, as many as params.yaml's data.n_features (8).
EXAMPLE_ROW = [0.1, -0.3, 1.2, 0.0, -1.1, 0.4, 2.0, -0.5]


class Rows(BaseModel):
    """Rows of raw customer features, one list of numbers per customer."""

    model_config = {"json_schema_extra": {"examples": [{"rows": [EXAMPLE_ROW]}]}}

    rows: List[List[float]] = Field(min_length=1, description="one row of raw features per customer")

    @field_validator("rows")
    @classmethod
    def _rows_rectangular(cls, rows):
        # NaN and infinity are refused by predict(), not here: a validation
        # error echoes its input, and FastAPI cannot encode NaN as JSON.
        if any(len(row) != len(rows[0]) for row in rows):
            raise ValueError("every row needs the same number of features")
        return rows


class Scores(BaseModel):
    churn_probability: List[float] = Field(description="probability that each customer churns, rounded to 4 places")


class Readiness(BaseModel):
    status: str
    detail: Optional[str] = None


def load_model():
    try:
        import joblib

        state["bundle"] = joblib.load(MODEL_PATH)
    except Exception as exc:  # reported by /ready
        state["error"] = "%s: %s" % (type(exc).__name__, exc)


@contextlib.asynccontextmanager
async def lifespan(_app):
    threading.Thread(target=load_model, name="model-loader", daemon=True).start()
    yield


app = FastAPI(title="churn scorer", lifespan=lifespan)


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get(
    "/ready",
    response_model=Readiness,
    response_model_exclude_none=True,
    responses={503: {"model": Readiness, "description": "model not loaded (yet)"}},
)
def ready():
    if state["bundle"] is None:
        body = Readiness(status="loading", detail=state["error"])
        return JSONResponse(status_code=503, content=body.model_dump(exclude_none=True))
    return Readiness(status="ready")


@app.post("/predict", response_model=Scores)
def predict(body: Rows):
    bundle = state["bundle"]
    if bundle is None:
        raise HTTPException(status_code=503, detail="model not loaded yet")
    expected = bundle["n_features"]
    if any(len(r) != expected for r in body.rows):
        raise HTTPException(status_code=422, detail="every row needs %d features" % expected)
    if not all(math.isfinite(v) for row in body.rows for v in row):
        raise HTTPException(status_code=422, detail="rows must hold finite numbers only")
    probabilities = bundle["model"].predict_proba(engineer(body.rows))[:, 1]
    return Scores(churn_probability=[round(float(p), 4) for p in probabilities])
