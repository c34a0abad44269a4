"""The training side of the model card: algorithm and parameters, input schema with training
statistics, data fingerprint, holdout metrics and the baseline distribution of predictions."""

from __future__ import annotations

import hashlib
import importlib.metadata
import math
import numbers

import numpy as np
import pandas as pd
from sklearn import metrics

from pmmlkit.scoring.engine import Model

from .fidelity import predictions
from .pipelines import final_estimator

QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
HISTOGRAM_BINS = 20
MAX_CATEGORIES = 1000
LIBRARIES = ("pmmlkit", "scikit-learn", "sklearn2pmml", "numpy", "pandas", "JPype1")


def algorithm(pipeline) -> dict:
    estimator = final_estimator(pipeline)
    steps = [{"name": n, "class": _qualname(s)} for n, s in getattr(pipeline, "steps", [])]
    params = {k: json_safe(v) for k, v in pipeline.get_params(deep=True).items() if k != "steps"}
    return {"estimator": _qualname(estimator), "steps": steps, "params": params}


def json_safe(value):
    """A parameter value as JSON: numbers, text, lists and dicts as they are, estimators and
    other objects as their class name or repr."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Number):
        number = value.item() if isinstance(value, np.generic) else value
        return number if not isinstance(number, float) or math.isfinite(number) else repr(number)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if hasattr(value, "get_params"):
        return _qualname(value)
    if callable(value):
        return getattr(value, "__qualname__", repr(value))
    return repr(value)


def _qualname(obj) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def input_schema(features: pd.DataFrame, model: Model) -> list[dict]:
    """The engine's schema of each input field, with the training data's statistics."""
    return [_field_entry(f, features.get(f.name)) for f in model.inputs]


def _field_entry(spec, column: pd.Series | None) -> dict:
    entry = spec.to_dict()
    if column is None:
        return entry
    entry["missing_rate"] = float(column.isna().mean()) if len(column) else 0.0
    present = column.dropna()
    if spec.is_numeric and pd.api.types.is_numeric_dtype(column):
        entry["range"] = (
            [float(present.min()), float(present.max())] if len(present) else [None, None]
        )
        entry["quantiles"] = _quantiles(present)
    else:
        shares = present.astype(str).value_counts(normalize=True).head(MAX_CATEGORIES)
        entry["categories"] = sorted(shares.index.tolist())
        entry["category_shares"] = {k: float(v) for k, v in shares.items()}
    return entry


def _quantiles(values) -> dict[str, float]:
    if len(values) == 0:
        return {}
    points = np.quantile(np.asarray(values, dtype=float), QUANTILES)
    return {f"{q:g}": float(p) for q, p in zip(QUANTILES, points, strict=True)}


def target_entry(y: pd.Series, model: Model, pipeline) -> dict:
    kind = {
        "classification": "classification",
        "regression": "regression",
        "clustering": "clustering",
    }
    entry = {"name": str(y.name), "kind": kind.get(model.mining_function, "outlier_detection")}
    classes = getattr(pipeline, "classes_", None)
    if entry["kind"] == "classification" and classes is not None:
        entry["classes"] = [json_safe(c) for c in classes]
    return entry


def fingerprint(frame: pd.DataFrame) -> dict:
    """Rows, columns and the sha256 of a canonical CSV (columns in order, floats round-trip exact)."""
    canonical = frame.to_csv(index=False, float_format="%.17g", lineterminator="\n", na_rep="")
    return {
        "rows": len(frame),
        "columns": [str(c) for c in frame.columns],
        "sha256": hashlib.sha256(canonical.encode()).hexdigest(),
    }


def evaluation(pipeline, X: pd.DataFrame, y: pd.Series, kind: str, on: str) -> dict:
    """Classification: accuracy, ROC AUC, log loss, F1 per class; regression: RMSE, MAE, R2;
    over the rows scikit-learn scores (rows it refuses, such as unseen categories, are counted)."""
    predicted, refused = predictions(pipeline, X)
    if refused:
        kept = [i for i in range(len(X)) if i not in refused]
        X, y = X.iloc[kept], y.iloc[kept]  # predicted already covers just these rows
    result = {"evaluated_on": on, "rows": len(X), "rows_refused_by_scikit_learn": len(refused)}
    if kind == "regression":
        result.update(
            rmse=float(math.sqrt(metrics.mean_squared_error(y, predicted))),
            mae=float(metrics.mean_absolute_error(y, predicted)),
            r2=float(metrics.r2_score(y, predicted)) if len(y) > 1 else None,
        )
    elif kind == "classification":
        result.update(_classification(pipeline, X, y, predicted))
    return result


def _classification(pipeline, X, y, predicted) -> dict:
    classes = list(pipeline.classes_)
    scores = metrics.f1_score(y, predicted, labels=classes, average=None, zero_division=0)
    result = {
        "accuracy": float(metrics.accuracy_score(y, predicted)),
        "f1_per_class": {str(c): float(s) for c, s in zip(classes, scores, strict=True)},
    }
    if hasattr(pipeline, "predict_proba") and len(set(y)) == len(classes) > 1:
        proba = pipeline.predict_proba(X)
        result["log_loss"] = float(metrics.log_loss(y, proba, labels=classes))
        auc_input = proba[:, 1] if len(classes) == 2 else proba
        result["roc_auc"] = float(
            metrics.roc_auc_score(y, auc_input, multi_class="ovr", labels=classes)
        )
    return result


def baseline(pipeline, X: pd.DataFrame, kind: str) -> dict:
    """What drift monitoring compares against: predicted class shares, or quantiles and a histogram."""
    predicted = pipeline.predict(X)
    if kind == "regression":
        values = np.asarray(predicted, dtype=float)
        counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
        return {
            "rows": len(values),
            "quantiles": _quantiles(values),
            "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        }
    shares = pd.Series(predicted).astype(str).value_counts(normalize=True)
    return {"rows": len(predicted), "class_shares": {k: float(v) for k, v in shares.items()}}


def library_versions(model: Model) -> dict[str, str]:
    versions = {}
    for package in LIBRARIES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    versions["jpmml-evaluator"] = model.engine_version
    versions["java"] = model.java_version
    return versions
