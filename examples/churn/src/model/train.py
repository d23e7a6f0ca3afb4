"""Trains the churn classifier: logistic regression on a synthetic, imbalanced
customer table, with the shared features from ml_common.

Run from the project root: python -m src.model.train
Writes models/model.joblib and metrics/metrics.json; exits 2 on bad params.
"""
import json
import os
import sys

import joblib
import yaml
from ml_common.features import engineer
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    path = os.environ.get("PARAMS_FILE", "params.yaml")
    try:
        with open(path) as f:
            params = yaml.safe_load(f)
        data = params["data"]
        n_samples = int(os.environ.get("TRAIN_N_SAMPLES", data["n_samples"]))
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        print("error: bad params in %s: %s" % (path, exc), file=sys.stderr)
        return 2

    X, y = make_classification(
        n_samples=n_samples,
        n_features=data["n_features"],
        n_informative=data["n_informative"],
        weights=[1 - data["churn_rate"]],
        random_state=data["random_state"],
    )
    X_train, X_test, y_train, y_test = train_test_split(
        engineer(X), y, test_size=0.25, random_state=data["random_state"], stratify=y
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(X_train, y_train)

    metrics = {
        "auc": round(float(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])), 4),
        "f1": round(float(f1_score(y_test, model.predict(X_test))), 4),
        "n_samples": n_samples,
        "n_features": int(data["n_features"]),
    }
    os.makedirs("models", exist_ok=True)
    os.makedirs("metrics", exist_ok=True)
    joblib.dump({"model": model, "n_features": int(data["n_features"])}, "models/model.joblib")
    with open("metrics/metrics.json", "w") as f:
        json.dump(metrics, f, indent=2)
    print("trained churn model: auc=%.3f f1=%.3f on %d rows" % (metrics["auc"], metrics["f1"], n_samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
