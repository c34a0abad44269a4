"""Cases: logged predictions with their inputs and feedback, for review and the next training run.

:func:`cases` serves the review list of ``/v1/models/{name}/cases`` and /ui; :func:`export` writes
the same rows as CSV or Parquet for ``pmmlkit cases export``: one column per input field, then the
prediction, its version and confidence, and the feedback (outcome, verdict, flag, reason), ready to
append to a training set.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from .errors import PredictionLogError
from .monitoring import iso
from .predlog import Logged, as_label, decode, feedback, keys, requests

FILTERS = ("all", "flagged", "disagreed", "low_confidence", "unreviewed")
LOW_CONFIDENCE = 0.6  # the largest class probability below which a case counts as unsure
_FEEDBACK = ("outcome", "correct", "flag", "reason")
_CHUNK = 100  # logged requests read at a time
_RESULTS = (
    requests.c.predictions, requests.c.confidence, requests.c.errors, requests.c.inputs,
    requests.c.members,
)  # fmt: skip
# A block's rows are less than this much newer than the block (its oldest request; see predlog)
_BLOCK_SPAN = 1.0


def cases(
    engine: sa.Engine,
    name: str,
    since: float,
    until: float,
    *,
    version: int | None = None,
    kind: str = "all",
    limit: int = 50,
    with_inputs: bool = False,
) -> list[dict]:
    """The newest logged predictions of ``name`` in [since, until) that pass filter ``kind``,
    each with its inputs (None when not sampled) and its latest feedback (or None); with
    ``with_inputs``, only rows whose inputs were sampled."""
    r, f = requests.c, feedback.c
    query = (
        sa.select(r.id, r.time, r.request_id, r.version, r.rows, *_RESULTS)
        .where(r.model == name, r.time >= since - _BLOCK_SPAN, r.time < until)
        .where(r.predictions.is_not(None))
        .order_by(r.time.desc(), r.id.desc())
    )
    if version is not None:
        query = query.where(r.version == version)
    if with_inputs:
        query = query.where(r.inputs.is_not(None))
    reviewed_only = kind in ("flagged", "disagreed")
    if reviewed_only:  # only requests with feedback can pass: don't read the others
        query = query.where(r.id.in_(sa.select(f.request).where(f.model == name)))
    found: list[dict] = []
    try:
        with engine.connect() as connection:
            result = connection.execute(query).mappings()
            while len(found) < limit and (chunk := result.fetchmany(_CHUNK)):
                ids = [row["id"] for row in chunk]
                reviews, named = _latest_feedback(connection, ids), _keys(connection, ids)
                for row in chunk:
                    logged = decode(row)
                    for i in _candidates(logged, kind, with_inputs, reviews):
                        request = logged.request_of(i, row["request_id"])
                        if not since <= request[2] < until:  # a block's row out of the window
                            continue
                        at = (logged.id, i)
                        case = _case(request, logged, i, reviews.get(at), named.get(at))
                        if _passes(kind, case):
                            found.append(case)
            result.close()
    except sa.exc.SQLAlchemyError as error:
        raise PredictionLogError(f"The prediction log cannot be read: {error}.") from None
    return found[:limit]


def _latest_feedback(connection, ids: list[int]) -> dict[tuple[int, int], dict]:
    f = feedback.c
    rows = connection.execute(
        sa.select(f.request, f.row, f.time, *(f[c] for c in _FEEDBACK))
        .where(f.request.in_(ids))
        .order_by(f.id)
    ).mappings()
    return {(row["request"], row["row"]): dict(row) for row in rows}  # the latest wins


def _keys(connection, ids: list[int]) -> dict[tuple[int, int], str]:
    k = keys.c
    rows = connection.execute(sa.select(k.request, k.row, k.key).where(k.request.in_(ids)))
    return {(request, row): key for request, row, key in rows}


def _candidates(logged: Logged, kind: str, with_inputs: bool, reviews: dict) -> list[int]:
    """The rows of a request that can pass the filter, in order (the cheap part of the test)."""
    if with_inputs:
        rows = sorted(logged.inputs)
    elif kind == "low_confidence":
        rows = np.flatnonzero(logged.confidence < LOW_CONFIDENCE).tolist()
    else:
        rows = range(logged.rows)
    if logged.members is not None:  # a block's rows are requests, oldest first: newest first
        rows = list(rows)[::-1]
    if kind in ("flagged", "disagreed"):
        return [i for i in rows if (logged.id, i) in reviews]
    return list(rows)


def _passes(kind: str, case: dict) -> bool:
    review = case["feedback"]
    if kind == "flagged":
        return review is not None and review["flag"] is not None
    if kind == "disagreed":
        return review is not None and (
            review["correct"] is False
            or (review["outcome"] is not None and review["outcome"] != _text(case["prediction"]))
        )
    if kind == "low_confidence":
        return case["confidence"] is not None and case["confidence"] < LOW_CONFIDENCE
    if kind == "unreviewed":
        return review is None and case["error"] is None
    return True


def _text(value) -> str | None:
    return None if value is None else as_label(value)


def _case(
    request: tuple[str, int, float], logged: Logged, i: int, review: dict | None, key: str | None
) -> dict:
    """Row ``i`` of a logged request (or block) as a case of ``request`` (its request id, row
    and time: see Logged.request_of)."""
    request_id, row, when = request
    error = logged.errors.get(i)
    value = None if error is not None or i >= len(logged.predictions) else logged.predictions[i]
    confidence = float(logged.confidence[i]) if i < logged.confidence.size else math.nan
    confidence = None if math.isnan(confidence) else confidence
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return {
        "request_id": request_id,
        "row": row,
        "time": iso(when),
        "version": logged.version,
        "key": key,
        # a regression's value as a number, a label as text
        "prediction": value if numeric and confidence is None else _text(value),
        "confidence": confidence,
        "error": error,
        "inputs": logged.inputs.get(i),
        "feedback": {
            **{c: review[c] for c in _FEEDBACK},
            "time": iso(review["time"]),
        }
        if review is not None and any(review[c] is not None for c in _FEEDBACK)
        else None,
    }


def export(rows: list[dict], path: Path, fmt: str) -> int:
    """Writes ``rows`` (from :func:`cases`) as CSV or Parquet; returns how many."""
    fields = sorted({k for r in rows for k in (r["inputs"] or {})})
    table = [
        {
            **{k: (r["inputs"] or {}).get(k) for k in fields},
            "prediction": r["prediction"],
            "confidence": r["confidence"],
            "version": r["version"],
            "time": r["time"],
            "request_id": r["request_id"],
            "row": r["row"],
            "key": r["key"],
            **{f"feedback_{c}": (r["feedback"] or {}).get(c) for c in _FEEDBACK},
        }
        for r in rows
    ]
    if fmt == "parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise PredictionLogError(
                "Parquet needs pyarrow: pip install 'pmmlkit[convert]' (or pyarrow)."
            ) from None
        pq.write_table(pa.Table.from_pylist(table), path)
    else:
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=list(table[0]) if table else ["prediction"])
            writer.writeheader()
            writer.writerows(table)
    return len(table)
