"""Result monitoring: a model's traffic over a window against the training baseline of its card.

:func:`report` reads the prediction log and answers, per version: volume and error rate, latency
percentiles, the share of each predicted class (or quantiles and a histogram for regression) next
to the card's baseline with the population stability index (PSI), input drift per field (missing
rate, category shares or quantiles against the card's training statistics, PSI), accuracy from
feedback, the same over time in buckets, and the alerts whose thresholds are crossed. The service's
``/v1/models/{name}/monitoring``, ``pmmlkit monitor`` and the background :class:`~.alerts.Watcher`
all call it, so they always agree.

PSI = sum((observed - expected) * ln(observed / expected)) over bins, shares floored at 1e-4;
below 0.1 is commonly read as stable, above 0.25 as a major shift.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import sqlalchemy as sa

from . import logwindow
from .errors import PmmlkitError
from .logwindow import Window, read
from .predlog import as_label
from .settings import Settings

SAMPLE = 200_000  # most recent requests and answered rows a report reads (by default)
_LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)  # the card quantiles that bound the input drift bins
_FLOOR = 1e-4


@dataclass(frozen=True)
class Thresholds:
    psi: float = 0.2
    error_rate: float = 0.05
    latency_p95_ms: float = 250.0
    min_rows: int = 100

    @classmethod
    def of(cls, settings: Settings) -> Thresholds:
        return cls(
            settings.drift_psi,
            settings.alert_error_rate,
            settings.alert_latency_ms,
            settings.monitor_min_rows,
        )

    def to_dict(self) -> dict:
        return {
            "psi": self.psi,
            "input_psi": self.psi,
            "error_rate": self.error_rate,
            "latency_p95_ms": self.latency_p95_ms,
            "min_rows": self.min_rows,
        }


def psi(expected, observed) -> float:
    expected = np.maximum(np.asarray(expected, dtype=float), _FLOOR)
    observed = np.maximum(np.asarray(observed, dtype=float), _FLOOR)
    return float(np.sum((observed - expected) * np.log(observed / expected)))


def card_or_empty(cards, name: str, version: int) -> dict:
    """A version's card from ``cards`` (the Registry or the ModelStore), or {} when the store no
    longer has it (archived since): the report still shows its traffic."""
    try:
        return cards.card(name, version)
    except PmmlkitError:
        return {}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def report(
    engine: sa.Engine,
    name: str,
    cards,
    *,
    window: str = "day",
    version: int | None = None,
    thresholds: Thresholds = Thresholds(),
    now: float | None = None,
    sample: int = SAMPLE,
    series: bool = True,
) -> dict:
    """The monitoring report of model ``name`` over the ``window`` that ends with the minute of
    ``now``; ``cards(version)`` gives a version's card (or {} when the store no longer has it).
    Volume and error rate count the whole window; latency, predictions and inputs come from the
    newest ``sample`` requests and answered rows (see :mod:`.logwindow`). The drift check asks
    for no ``series``."""
    span = Window.ending(window, time.time() if now is None else now)
    with engine.connect() as connection:
        data = read(connection, name, span, version, sample, series)
    seen = set(data["requests"]["version"].tolist()) | set(data["minutes"]["version"].tolist())
    versions = sorted(seen | ({version} - {None}))
    return {
        "model": name,
        "window": window,
        "from": iso(span.since),
        "to": iso(span.until),
        "thresholds": thresholds.to_dict(),
        "versions": [_version_report(v, cards(v), data, span, thresholds) for v in versions],
    }


def _version_report(version, card, data, span: Window, thresholds) -> dict:
    def mine(table: dict) -> dict:
        keep = np.asarray(table["version"] == version, dtype=bool)
        return {k: v[keep] for k, v in table.items()}

    counted = mine(data["minutes"])
    rows, failed = int(counted["rows"].sum()), int(counted["failed_rows"].sum())
    kind = (card.get("target") or {}).get("kind") or "classification"
    result = {
        "version": version,
        "kind": kind,
        "volume": {
            "requests": int(counted["requests"].sum()),
            "failed_requests": int(counted["failed_requests"].sum()),
            "rows": rows,
            "failed_rows": failed,
            "error_rate": failed / rows if rows else None,
        },
        "latency_ms": _latency(mine(data["requests"])["latency_ms"]),
        "predictions": _predictions(kind, card, mine(data["predictions"]), thresholds),
        "inputs": [
            _input_drift(spec, data["inputs"].get(version, []), thresholds)
            for spec in card.get("input_schema", [])
        ],
        "feedback": _feedback(kind, mine(data["feedback"])),
        "series": [],
    }
    if "series_requests" in data:
        tables = (counted, *map(mine, (data[f"series_{t}"] for t in ("requests", "predictions"))))
        result["series"] = _series(kind, card, *tables, mine(data["feedback"]), span, thresholds)
    result["alerts"] = _alerts(result, thresholds)
    return result


def _latency(values) -> dict:
    if not values.size:
        return {"p50": None, "p95": None, "p99": None}
    p50, p95, p99 = np.percentile(values.astype(float), [50, 95, 99])
    return {"p50": round(p50, 3), "p95": round(p95, 3), "p99": round(p99, 3)}


def class_shares(labels, classes) -> dict:
    """Share of each class among ``labels`` (classes the model never named are added; no
    prediction is not a class)."""
    counts = dict.fromkeys(classes, 0)
    seen = Counter(labels.tolist() if isinstance(labels, np.ndarray) else labels)
    seen.pop(None, None)  # a row the model answered without a prediction (all missing)
    for label, count in seen.items():
        counts[label] = counts.get(label, 0) + count
    total = sum(counts.values())
    return {k: (c / total if total else 0.0) for k, c in counts.items()}


def _predictions(kind, card, preds, thresholds) -> dict:
    enough = len(preds["time"]) >= thresholds.min_rows
    baseline = card.get("baseline") or {}
    if kind == "classification":
        classes = [as_label(c) for c in (card.get("target") or {}).get("classes", [])]
        expected = {str(k): v for k, v in (baseline.get("class_shares") or {}).items()}
        observed = class_shares(preds["prediction"], classes or list(expected))
        keys = list(observed)
        value = psi([expected.get(k, 0) for k in keys], [observed[k] for k in keys])
        return {
            "classes": keys,
            "baseline": expected,
            "observed": observed,
            "psi": round(value, 6) if enough and expected else None,
        }
    values = np.array([v for v in preds["value"].tolist() if v is not None], dtype=float)
    histogram = baseline.get("histogram") or {}
    edges = np.asarray(histogram.get("edges", []), dtype=float)
    answer = {
        "baseline_quantiles": baseline.get("quantiles", {}),
        "observed_quantiles": _quantiles(values, baseline.get("quantiles", {})),
        "histogram": None,
        "psi": None,
    }
    if edges.size >= 2:
        counts = np.asarray(histogram["counts"], dtype=float)
        expected = counts / counts.sum()
        observed = _histogram(values, edges)
        answer["histogram"] = {
            "edges": edges.tolist(),
            "baseline": expected.tolist(),
            "observed": observed.tolist(),
        }
        answer["psi"] = round(psi(expected, observed), 6) if enough else None
    return answer


def _histogram(values, edges) -> np.ndarray:
    """Shares of ``values`` in the bins of ``edges``; values outside go to the end bins."""
    if not values.size:
        return np.zeros(len(edges) - 1)
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    return counts / values.size


def _quantiles(values, levels: dict) -> dict:
    if not values.size:
        return {}
    return {k: float(np.quantile(values, float(k))) for k in levels}


def _input_drift(spec: dict, samples: list[tuple[int, dict]], thresholds) -> dict:
    name = spec["name"]
    values = logwindow.field(samples, name)
    missing = [v is None or (isinstance(v, float) and math.isnan(v)) for v in values]
    n = len(values)
    base_missing = float(spec.get("missing_rate") or 0.0)
    entry = {
        "field": name,
        "op_type": spec.get("op_type"),
        "rows": n,
        "missing_rate": {"baseline": base_missing, "observed": sum(missing) / n if n else None},
        "psi": None,
    }
    present = [v for v, m in zip(values, missing, strict=True) if not m]
    if spec.get("op_type") == "continuous" and spec.get("quantiles"):
        numbers = np.array([v for v in present if isinstance(v, (int, float))], dtype=float)
        expected, observed = _numeric_bins(spec["quantiles"], numbers)
        entry["quantiles"] = {
            "baseline": spec["quantiles"],
            "observed": _quantiles(numbers, spec["quantiles"]),
        }
    elif spec.get("category_shares"):
        base = spec["category_shares"]
        seen = class_shares(np.array([str(v) for v in present], dtype=object), list(base))
        entry["shares"] = {"baseline": base, "observed": seen}
        expected = np.array([base.get(k, 0.0) for k in seen])
        observed = np.array(list(seen.values()))
    else:
        return entry
    # the missing values are one more bin
    share_present = 1 - (sum(missing) / n if n else 0)
    expected = np.append(expected * (1 - base_missing), base_missing)
    observed = np.append(observed * share_present, 1 - share_present)
    if n >= thresholds.min_rows:
        entry["psi"] = round(psi(expected, observed), 6)
    return entry


def _numeric_bins(quantiles: dict, numbers) -> tuple[np.ndarray, np.ndarray]:
    """Bins bounded by the card's 10/25/50/75/90% quantiles (equal quantiles merged): the
    training share and the observed share of each."""
    levels = {float(k): float(v) for k, v in quantiles.items()}
    cuts = sorted({levels[q] for q in _LEVELS if q in levels})
    expected = []
    previous = 0.0
    for cut in cuts:
        level = max(q for q, v in levels.items() if v == cut and q in _LEVELS)
        expected.append(level - previous)
        previous = level
    expected.append(1 - previous)
    if not numbers.size:
        return np.array(expected), np.zeros(len(expected))
    bins = np.searchsorted(np.array(cuts), numbers, side="left")
    observed = np.bincount(bins, minlength=len(expected)) / numbers.size
    return np.array(expected), observed


def _feedback(kind, fb) -> dict:
    flags: dict[str, int] = {}
    for flag in fb["flag"].tolist():
        if flag:
            flags[flag] = flags.get(flag, 0) + 1
    answer = {"count": int(fb["time"].size), "flags": flags}
    answer.update(_quality(kind, fb))
    return answer


def _quality(kind, fb) -> dict:
    """Accuracy (classification) or MAE and RMSE (regression) of the predictions with feedback."""
    if kind == "classification":
        verdicts = [
            bool(c) if c is not None else (o == p)
            for p, o, c in zip(fb["prediction"], fb["outcome"], fb["correct"], strict=True)
            if c is not None or o is not None
        ]
        return {"accuracy": sum(verdicts) / len(verdicts) if verdicts else None}
    pairs = [
        (float(v), float(o))
        for v, o in zip(fb["value"], fb["outcome"], strict=True)
        if v is not None and _is_number(o)
    ]
    if not pairs:
        return {"mae": None, "rmse": None}
    errors = np.array([v - o for v, o in pairs])
    return {"mae": float(np.mean(np.abs(errors))), "rmse": float(np.sqrt(np.mean(errors**2)))}


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _series(kind, card, counted, reqs, preds, fb, span: Window, thresholds) -> list[dict]:
    """The window bucket by bucket: volume from the minute counts, latency and predictions from
    the rows drawn for each bucket, quality from the feedback."""
    slot = {
        table: np.floor((part["time"].astype(float) - span.since) / span.step).astype(int)
        for table, part in (("minutes", counted), ("requests", reqs), ("predictions", preds),
                            ("feedback", fb))
    }  # fmt: skip
    volume = {c: np.bincount(slot["minutes"], counted[c], span.count) for c in counted}
    quiet = Thresholds(min_rows=max(20, thresholds.min_rows // 10))  # a bucket's drift
    series = []
    for i in range(span.count):
        p = {k: v[slot["predictions"] == i] for k, v in preds.items()}
        f = {k: v[slot["feedback"] == i] for k, v in fb.items()}
        start, end = span.bucket(i)
        point = {
            "start": iso(start),
            "end": iso(end),
            "requests": int(volume["requests"][i]),
            "rows": int(volume["rows"][i]),
            "failed_rows": int(volume["failed_rows"][i]),
            "latency_p95_ms": _latency(reqs["latency_ms"][slot["requests"] == i])["p95"],
        }
        drift = _predictions(kind, card, p, quiet)
        point["psi"] = drift["psi"]
        if kind == "classification":
            point["class_shares"] = drift["observed"] if p["time"].size else {}
        else:
            values = np.array([v for v in p["value"].tolist() if v is not None], dtype=float)
            point["mean"] = float(values.mean()) if values.size else None
        point.update(_quality(kind, f))
        series.append(point)
    return series


def _alerts(result: dict, thresholds: Thresholds) -> list[dict]:
    alerts = []

    def check(metric, value, threshold, field, message):
        if value is not None and value >= threshold:
            alerts.append(
                {
                    "metric": metric,
                    "field": field,
                    "value": value,
                    "threshold": threshold,
                    "message": message,
                }
            )

    drift = result["predictions"]["psi"]
    check(
        "prediction_psi",
        drift,
        thresholds.psi,
        None,
        f"Predictions drifted from the training baseline: PSI {drift} >= {thresholds.psi}.",
    )
    for entry in result["inputs"]:
        value = entry["psi"]
        check(
            "input_psi",
            value,
            thresholds.psi,
            entry["field"],
            f"Input '{entry['field']}' drifted from the training data: PSI {value} >= "
            f"{thresholds.psi}.",
        )
    volume = result["volume"]
    rate = volume["error_rate"] if volume["rows"] >= thresholds.min_rows else None
    check(
        "error_rate",
        rate,
        thresholds.error_rate,
        None,
        f"{volume['failed_rows']} of {volume['rows']} rows failed ({rate:.1%}) >= "
        f"{thresholds.error_rate:.1%}."
        if rate is not None
        else "",
    )
    p95 = result["latency_ms"]["p95"] if volume["requests"] >= 20 else None
    check(
        "latency_p95_ms",
        p95,
        thresholds.latency_p95_ms,
        None,
        f"p95 latency {p95} ms >= {thresholds.latency_p95_ms} ms.",
    )
    return alerts
