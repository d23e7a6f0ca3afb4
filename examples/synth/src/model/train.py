"""Train a RandomForest on a synthetic tabular dataset.

Run from the project root:

    python -m src.model.train

Environment overrides:
    PARAMS_FILE             path to the params file (default: params.yaml)
    TRAIN_N_SAMPLES         override data.n_samples (e.g. a tiny config for tests)
    TRAIN_N_ESTIMATORS      override model.n_estimators
    MODELS_DIR              output folder for model.joblib (default: models)
    METRICS_DIR             output folder for metrics.json (default: metrics)
    MLFLOW_TRACKING_URI     if set and mlflow is installed, log params/metrics
    MLFLOW_EXPERIMENT_NAME  MLflow experiment name (default: synth)
"""

import json
import os
import sys
import time

import joblib
import yaml
from ml_common.features import engineer
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

SUPPORTED_MODELS = ("random_forest",)


class ParamsError(Exception):
    """Raised when the params file is missing or invalid."""


def _env_int(name):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ParamsError("env %s must be an integer, got %r" % (name, raw))
    if value <= 0:
        raise ParamsError("env %s must be positive, got %d" % (name, value))
    return value


def _require_int(section, key, minimum=1):
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamsError("param %r must be an integer, got %r" % (key, value))
    if value < minimum:
        raise ParamsError("param %r must be >= %d, got %d" % (key, minimum, value))
    return value


def load_params(path):
    """Read and validate params, applying env overrides."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except FileNotFoundError:
        raise ParamsError("params file not found: %s" % path)
    except OSError as exc:
        raise ParamsError("cannot read params file %s: %s" % (path, exc))
    except yaml.YAMLError as exc:
        raise ParamsError("invalid YAML in %s: %s" % (path, str(exc).replace("\n", " ")))

    if not isinstance(raw, dict):
        raise ParamsError("params file %s must contain a mapping" % path)
    data = raw.get("data")
    model = raw.get("model")
    if not isinstance(data, dict) or not isinstance(model, dict):
        raise ParamsError("params file %s needs 'data' and 'model' sections" % path)
    data = dict(data)
    model = dict(model)

    n_samples = _env_int("TRAIN_N_SAMPLES")
    if n_samples is not None:
        data["n_samples"] = n_samples
    n_estimators = _env_int("TRAIN_N_ESTIMATORS")
    if n_estimators is not None:
        model["n_estimators"] = n_estimators

    data.setdefault("n_informative", 2)
    data.setdefault("n_classes", 2)
    data.setdefault("random_state", 42)
    data.setdefault("test_size", 0.2)
    model.setdefault("type", "random_forest")
    model.setdefault("max_depth", None)
    model.setdefault("random_state", 42)

    _require_int(data, "n_samples", 10)
    _require_int(data, "n_features", 1)
    _require_int(data, "n_informative", 1)
    _require_int(data, "n_classes", 2)
    _require_int(data, "random_state", 0)
    _require_int(model, "n_estimators", 1)
    _require_int(model, "random_state", 0)
    if model["max_depth"] is not None:
        _require_int(model, "max_depth", 1)
    if data["n_informative"] > data["n_features"]:
        raise ParamsError(
            "param 'n_informative' (%d) cannot exceed 'n_features' (%d)"
            % (data["n_informative"], data["n_features"])
        )
    test_size = data["test_size"]
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or not 0 < test_size < 1:
        raise ParamsError("param 'test_size' must be a float in (0, 1), got %r" % (test_size,))
    if model["type"] not in SUPPORTED_MODELS:
        raise ParamsError(
            "unsupported model type %r (supported: %s)" % (model["type"], ", ".join(SUPPORTED_MODELS))
        )
    return {"data": data, "model": model}


def make_dataset(data):
    try:
        return make_classification(
            n_samples=data["n_samples"],
            n_features=data["n_features"],
            n_informative=data["n_informative"],
            n_redundant=0,
            n_classes=data["n_classes"],
            random_state=data["random_state"],
        )
    except ValueError as exc:
        # e.g. n_classes * n_clusters_per_class > 2 ** n_informative
        raise ParamsError("invalid data params: %s" % exc)


def log_to_mlflow(params, metrics):
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        return
    try:
        import mlflow  # optional dependency
    except ImportError:
        print("warning: MLFLOW_TRACKING_URI is set but mlflow is not installed; skipping MLflow logging")
        return
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME", "synth"))
    with mlflow.start_run():
        flat = {}
        for section, values in params.items():
            for key, value in values.items():
                flat["%s.%s" % (section, key)] = value
        mlflow.log_params(flat)
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})


def train(params):
    data, model_cfg = params["data"], params["model"]
    X, y = make_dataset(data)
    X = engineer(X)  # shared with serving: same features both sides
    try:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=data["test_size"], random_state=data["random_state"], stratify=y
        )
    except ValueError as exc:
        # e.g. too few samples for a stratified holdout
        raise ParamsError("cannot split dataset: %s" % exc)

    clf = RandomForestClassifier(
        n_estimators=model_cfg["n_estimators"],
        max_depth=model_cfg["max_depth"],
        random_state=model_cfg["random_state"],
        n_jobs=1,
    )
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    training_seconds = time.perf_counter() - start

    y_pred = clf.predict(X_test)
    average = "binary" if data["n_classes"] == 2 else "macro"
    metrics = {
        "accuracy": round(float(accuracy_score(y_test, y_pred)), 6),
        "f1": round(float(f1_score(y_test, y_pred, average=average)), 6),
        "n_samples": int(data["n_samples"]),
        "n_features": int(data["n_features"]),
        "training_seconds": round(training_seconds, 4),
    }
    bundle = {
        "model": clf,
        "n_features": int(data["n_features"]),
        "classes": [int(c) for c in clf.classes_],
        "model_type": model_cfg["type"],
        "params": params,
    }
    return bundle, metrics


def main():
    params_path = os.environ.get("PARAMS_FILE", "params.yaml")
    models_dir = os.environ.get("MODELS_DIR", "models")
    metrics_dir = os.environ.get("METRICS_DIR", "metrics")
    try:
        params = load_params(params_path)
        bundle, metrics = train(params)
    except ParamsError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2

    os.makedirs(models_dir, exist_ok=True)
    os.makedirs(metrics_dir, exist_ok=True)
    model_path = os.path.join(models_dir, "model.joblib")
    metrics_path = os.path.join(metrics_dir, "metrics.json")
    joblib.dump(bundle, model_path)
    with open(metrics_path, "w", encoding="utf-8") as handle:
        json.dump(metrics, handle, indent=2, sort_keys=True)
        handle.write("\n")

    log_to_mlflow(params, metrics)

    print(
        "trained %s: accuracy=%.4f f1=%.4f n_samples=%d n_features=%d in %.2fs -> %s, %s"
        % (
            params["model"]["type"],
            metrics["accuracy"],
            metrics["f1"],
            metrics["n_samples"],
            metrics["n_features"],
            metrics["training_seconds"],
            model_path,
            metrics_path,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
