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
import orjson
import sqlalchemy as sa

from .errors import PmmlkitError
from .predlog import as_label, decode, feedback, minutes, requests
from .settings import Settings

WINDOWS = {"hour": (3600, 300), "day": (86400, 3600), "week": (7 * 86400, 6 * 3600)}
SAMPLE = 200_000  # most recent requests and answered rows a report reads (by default)
_INPUT_SAMPLE = 20_000  # most recent logged inputs a report reads (at most)
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
) -> dict:
    """The monitoring report of model ``name``; ``cards(version)`` gives a version's card
    (or {} when the store no longer has it). Volume and error rate count the whole window;
    latency, predictions and inputs come from the newest ``sample`` requests and answered rows
    (and at most _INPUT_SAMPLE logged inputs)."""
    span, step = WINDOWS[window]
    until = time.time() if now is None else now
    since = until - span
    with engine.connect() as connection:
        data = _read(connection, name, since, until, version, sample)
    seen = set(data["requests"]["version"].tolist()) | set(data["totals"])
    versions = sorted(seen | ({version} - {None}))
    return {
        "model": name,
        "window": window,
        "from": iso(since),
        "to": iso(until),
        "thresholds": thresholds.to_dict(),
        "versions": [
            _version_report(v, cards(v), data, since, step, span, thresholds) for v in versions
        ],
    }


def _read(
    connection, name: str, since: float, until: float, version: int | None, sample: int
) -> dict:
    def where(*more):
        clauses = [r.model == name, r.time >= since, r.time < until, *more]
        return sa.and_(*clauses, *([r.version == version] if version is not None else []))

    r, f = requests.c, feedback.c
    req_cols = ("time", "version", "rows", "failed_rows", "status", "latency_ms")
    rows = connection.execute(
        sa.select(*(r[c] for c in req_cols)).where(where()).order_by(r.time.desc()).limit(sample)
    ).all()
    newest = r.time.desc()
    return {
        "totals": _totals(connection, name, since, until, version),
        "requests": {
            c: np.array([row[i] for row in rows], dtype=object) for i, c in enumerate(req_cols)
        },
        "predictions": _answered(
            connection.execute(
                sa.select(r.time, r.version, r.rows, r.predictions, r.errors)
                .where(where(r.predictions.is_not(None)))
                .order_by(newest)
            ),
            sample,
        ),
        "inputs": _logged_inputs(
            connection.execute(
                sa.select(r.version, r.inputs).where(where(r.inputs.is_not(None))).order_by(newest)
            ),
            min(sample, _INPUT_SAMPLE),
        ),
        "feedback": _joined_feedback(
            connection.execute(
                sa.select(f.row, f.outcome, f.correct, f.flag, *_FEEDBACK_REQUEST)
                .join(requests, f.request == r.id)
                .where(where())
                .order_by(f.time)
            ).mappings()
        ),
    }


def _totals(connection, name: str, since: float, until: float, version: int | None) -> dict:
    """Version -> [requests, rows, failed rows, failed requests] in the window: the minute counts
    of its whole minutes, and the log's requests of the partial minutes at its two ends."""
    r, m = requests.c, minutes.c
    first, last = math.ceil(since / 60), math.floor(until / 60)
    edges = [(since, first * 60.0), (last * 60.0, until)] if first < last else [(since, until)]
    counted = sa.select(
        r.version,
        sa.func.count(),
        sa.func.sum(r.rows),
        sa.func.sum(r.failed_rows),
        sa.func.sum(sa.case((r.status >= 400, 1), else_=0)),
    ).where(r.model == name, sa.or_(*(sa.and_(r.time >= a, r.time < b) for a, b in edges)))
    summed = sa.select(
        m.version,
        sa.func.sum(m.requests),
        sa.func.sum(m.rows),
        sa.func.sum(m.failed_rows),
        sa.func.sum(m.failed_requests),
    ).where(m.model == name, m.minute >= first, m.minute < last)
    if version is not None:
        counted, summed = counted.where(r.version == version), summed.where(m.version == version)
    totals: dict[int, list[int]] = {}
    for query in (counted.group_by(r.version), summed.group_by(m.version)):
        for row_version, *counts in connection.execute(query):
            into = totals.setdefault(row_version, [0, 0, 0, 0])
            for i, count in enumerate(counts):
                into[i] += int(count or 0)
    return totals


_FEEDBACK_REQUEST = (
    requests.c.id, requests.c.time, requests.c.version, requests.c.rows,
    requests.c.predictions, requests.c.errors,
)  # fmt: skip


def _answered(logged_requests, sample: int) -> dict:
    """The answered rows of the newest logged requests (time, version, rows, predictions,
    errors; up to ``sample`` rows): time, version, label and numeric value of each, in lists
    a request at a time (a request's rows in C-speed list work). The drift check reads 20,000
    single records so every minute: per request, this is a JSON parse and four list appends
    (a full decode() of each took 11 us, a third of the check)."""
    parts: dict[str, list] = {"time": [], "version": [], "prediction": [], "value": []}
    for when, version, n, blob, errors in logged_requests:
        answered = _values(orjson.loads(blob)[:n], errors)
        kinds = set(map(type, answered))
        count = len(answered)
        parts["time"] += [when] * count
        parts["version"] += [version] * count
        parts["prediction"] += answered if kinds <= {str} else map(as_label, answered)
        if kinds <= {int, float}:
            parts["value"] += answered
        else:  # labels: no numbers (but for numbers among other kinds)
            parts["value"] += [None] * count if kinds <= {str} else map(_number, answered)
        if len(parts["time"]) >= sample:
            break
    return {k: np.array(v, dtype=float if k == "time" else object) for k, v in parts.items()}


def _values(predictions: list, errors: str | None) -> list:
    """A request's predictions but those of its failed rows and the nulls."""
    if errors:
        failed = {row for row, _ in orjson.loads(errors)}
        return [v for i, v in enumerate(predictions) if v is not None and i not in failed]
    return [v for v in predictions if v is not None]


def _logged_inputs(logged_requests, sample: int) -> dict[int, list[tuple[int, dict]]]:
    """Version -> the input samples of the newest logged requests (version, inputs; up to
    ``sample`` records in all), a request's as its number of records and its columns (see
    :func:`_field`)."""
    by_version: dict[int, list[tuple[int, dict]]] = {}
    total = 0
    for version, blob in logged_requests:
        logged = orjson.loads(blob)
        count = len(logged["rows"])
        by_version.setdefault(version, []).append((count, logged["columns"]))
        total += count
        if total >= sample:
            break
    return by_version


def _field(samples: list[tuple[int, dict]], name: str) -> list:
    """The values of field ``name`` in input samples, null where a request did not send it."""
    values: list = []
    for count, columns in samples:
        column = columns.get(name)
        values += [None] * count if column is None else column
    return values


def _joined_feedback(items) -> dict:
    """Each feedback item with the time, version and prediction of the row it is about."""
    columns = ("time", "version", "prediction", "value", "outcome", "correct", "flag")
    table: dict[str, list] = {c: [] for c in columns}
    decoded: dict[int, object] = {}
    for item in items:
        logged = decoded.get(item["id"]) or decoded.setdefault(item["id"], decode(item))
        row = item["row"]
        value = logged.predictions[row] if row < len(logged.predictions) else None
        if row in logged.errors:
            value = None
        for column, cell in zip(
            columns,
            (
                logged.time, logged.version, None if value is None else as_label(value),
                _number(value), item["outcome"], item["correct"], item["flag"],
            ),
            strict=True,
        ):  # fmt: skip
            table[column].append(cell)
    return {k: np.array(v, dtype=object) for k, v in table.items()}


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _version_report(version, card, data, since, step, span, thresholds) -> dict:
    def mine(table: dict) -> dict:
        keep = np.asarray(table["version"] == version, dtype=bool)
        return {k: v[keep] for k, v in table.items()}

    reqs, preds, fb = mine(data["requests"]), mine(data["predictions"]), mine(data["feedback"])
    kind = (card.get("target") or {}).get("kind") or "classification"
    count, rows, failed, failed_requests = data["totals"].get(version, (0, 0, 0, 0))
    result = {
        "version": version,
        "kind": kind,
        "volume": {
            "requests": count,
            "failed_requests": failed_requests,
            "rows": rows,
            "failed_rows": failed,
            "error_rate": failed / rows if rows else None,
        },
        "latency_ms": _latency(reqs["latency_ms"]),
        "predictions": _predictions(kind, card, preds, thresholds),
        "inputs": [
            _input_drift(spec, data["inputs"].get(version, []), thresholds)
            for spec in card.get("input_schema", [])
        ],
        "feedback": _feedback(kind, fb),
        "series": _series(kind, card, reqs, preds, fb, since, step, span, thresholds),
    }
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
    values = _field(samples, name)
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


def _series(kind, card, reqs, preds, fb, since, step, span, thresholds) -> list[dict]:
    count = int(span // step)
    slot = {
        table: np.floor((part["time"].astype(float) - since) / step).astype(int)
        for table, part in (("requests", reqs), ("predictions", preds), ("feedback", fb))
    }
    quiet = Thresholds(min_rows=max(20, thresholds.min_rows // 10))  # a bucket's drift
    series = []
    for i in range(count):
        r = {k: v[slot["requests"] == i] for k, v in reqs.items()}
        p = {k: v[slot["predictions"] == i] for k, v in preds.items()}
        f = {k: v[slot["feedback"] == i] for k, v in fb.items()}
        rows = int(r["rows"].astype(int).sum()) if r["rows"].size else 0
        point = {
            "start": iso(since + i * step),
            "end": iso(since + (i + 1) * step),
            "requests": int(r["time"].size),
            "rows": rows,
            "failed_rows": int(r["failed_rows"].astype(int).sum()) if r["rows"].size else 0,
            "latency_p95_ms": _latency(r["latency_ms"])["p95"],
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
