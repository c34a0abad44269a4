"""Cases: logged predictions with their inputs and feedback, for review and the next training run.

:func:`cases` serves the review list of ``/v1/models/{name}/cases`` and /ui; :func:`export` writes
the same rows as CSV or Parquet for ``pmmlkit cases export``: one column per input field, then the
prediction, its version and confidence, and the feedback (outcome, verdict, flag, reason), ready to
append to a training set.
"""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import sqlalchemy as sa

from .errors import PredictionLogError
from .monitoring import iso
from .predlog import feedback, predictions

FILTERS = ("all", "flagged", "disagreed", "low_confidence", "unreviewed")
LOW_CONFIDENCE = 0.6  # the largest class probability below which a case counts as unsure
_FEEDBACK = ("outcome", "correct", "flag", "reason")


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
    each with its inputs (None when not sampled) and its latest feedback (or None)."""
    p, f = predictions.c, feedback.c
    latest = (
        sa.select(f.prediction_id, sa.func.max(f.id).label("id"))
        .group_by(f.prediction_id)
        .subquery()
    )
    query = (
        sa.select(
            p.request_id, p.row, p.time, p.version, p.prediction, p.value, p.confidence,
            p.error, p.key, p.inputs, f.time.label("feedback_time"),
            *(f[c] for c in _FEEDBACK),
        )
        .select_from(predictions)
        .outerjoin(latest, latest.c.prediction_id == p.id)
        .outerjoin(feedback, f.id == latest.c.id)
        .where(p.model == name, p.time >= since, p.time < until)
        .where(*_filter(kind, p, f))
        .order_by(p.time.desc(), p.row)
        .limit(limit)
    )  # fmt: skip
    if version is not None:
        query = query.where(p.version == version)
    if with_inputs:
        query = query.where(p.inputs.is_not(None))
    try:
        with engine.connect() as connection:
            return [_case(row) for row in connection.execute(query).mappings()]
    except sa.exc.SQLAlchemyError as error:
        raise PredictionLogError(f"The prediction log cannot be read: {error}.") from None


def _filter(kind: str, p, f) -> list:
    return {
        "all": [],
        "flagged": [f.flag.is_not(None)],
        "disagreed": [
            sa.or_(f.correct.is_(False), sa.and_(f.outcome.is_not(None), f.outcome != p.prediction))
        ],
        "low_confidence": [p.confidence < LOW_CONFIDENCE],
        "unreviewed": [f.id.is_(None), p.error.is_(None)],
    }[kind]


def _case(row) -> dict:
    reviewed = any(row[c] is not None for c in _FEEDBACK)
    return {
        "request_id": row["request_id"],
        "row": row["row"],
        "time": iso(row["time"]),
        "version": row["version"],
        "key": row["key"],
        "prediction": row["value"] if row["prediction"] is None else _prediction(row),
        "confidence": row["confidence"],
        "error": row["error"],
        "inputs": None if row["inputs"] is None else orjson.loads(row["inputs"]),
        "feedback": {
            **{c: row[c] for c in _FEEDBACK},
            "time": iso(row["feedback_time"]),
        }
        if reviewed
        else None,
    }


def _prediction(row):
    """A regression's value as a number, a label as text."""
    return (
        row["value"]
        if row["value"] is not None and row["confidence"] is None
        else row["prediction"]
    )


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
