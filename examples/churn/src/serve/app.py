"""Churn scoring API: /health (liveness), /ready (503 until the model is
loaded), /predict (rows of raw customer features in, churn probabilities out).
"""
import os
import threading
from typing import List

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from ml_common.features import engineer
from pydantic import BaseModel

MODEL_PATH = os.environ.get("MODEL_PATH", "models/model.joblib")
state = {"bundle": None, "error": None}


class Rows(BaseModel):
    rows: List[List[float]]


def load_model():
    try:
        import joblib

        state["bundle"] = joblib.load(MODEL_PATH)
    except Exception as exc:  # reported by /ready
        state["error"] = "%s: %s" % (type(exc).__name__, exc)


app = FastAPI(title="churn scorer", on_startup=[lambda: threading.Thread(target=load_model, daemon=True).start()])


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/ready")
def ready():
    if state["bundle"] is None:
        return JSONResponse(status_code=503, content={"status": "loading", "detail": state["error"]})
    return {"status": "ready"}


@app.post("/predict")
def predict(body: Rows):
    bundle = state["bundle"]
    if bundle is None:
        raise HTTPException(status_code=503, detail="model not loaded yet")
    expected = bundle["n_features"]
    if not body.rows or any(len(r) != expected for r in body.rows):
        raise HTTPException(status_code=422, detail="every row needs %d features" % expected)
    probabilities = bundle["model"].predict_proba(engineer(body.rows))[:, 1]
    return {"churn_probability": [round(float(p), 4) for p in probabilities]}
