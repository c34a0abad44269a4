"""Feedback on logged predictions: the true outcome, a reviewer's verdict, or a user's flag.

A feedback item names its prediction by the request id (and row) the service answered with, or by
the client key sent with the record; it carries an ``outcome`` (the true label or value), a
``correct`` verdict (the review list of /ui sends these), or a ``flag`` with a ``reason`` (say, a
user's "not interested"). Late feedback is welcome: any prediction still in the log can get it.
A batch is taken whole or refused whole, with every problem listed.

    accept(log, "churn", {"request_id": "4f0c...", "row": 0, "outcome": "yes"}, classes_of)
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping

import sqlalchemy as sa

from .errors import FeedbackError, FieldError, PredictionLogError
from .predlog import PredictionLog, as_label, feedback, keys, requests

MAX_ITEMS = 10_000
_FLAG = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_KNOWN = {"request_id", "row", "key", "outcome", "correct", "flag", "reason"}


def items_of(body) -> list:
    """The feedback items of a body: one object, or ``{"feedback": [objects]}``."""
    if isinstance(body, Mapping) and "feedback" in body:
        items = body["feedback"]
        if not isinstance(items, list) or not items or len(items) > MAX_ITEMS:
            raise FeedbackError(
                [
                    (
                        0,
                        _problem(
                            "feedback", f'"feedback" must be a list of 1 to {MAX_ITEMS} objects.'
                        ),
                    )
                ],
                400,
            )
        return items
    return [body]


def accept(log: PredictionLog, name: str, body, classes_of: Callable[[int], list | None]) -> int:
    """Stores the feedback of ``body`` for model ``name``; returns how many items were taken.
    ``classes_of(version)`` gives a version's classes (None for a regression)."""
    items = items_of(body)
    shape = [(i, p) for i, item in enumerate(items) for p in _shape_problems(item)]
    if shape:
        raise FeedbackError(shape, 400)
    found = _predictions(log, name, items)
    if len(found) < len(items):
        log.flush(timeout=2.0)  # a prediction answered a moment ago may still be queued
        found = _predictions(log, name, items)
    unknown = [(i, _unknown(item)) for i, item in enumerate(items) if i not in found]
    if unknown:
        raise FeedbackError(unknown, 404)
    wrong = [
        (i, p)
        for i, item in enumerate(items)
        if (p := _outcome_problem(item, classes_of(found[i][2]))) is not None
    ]
    if wrong:
        raise FeedbackError(wrong, 422)
    now = time.time()
    rows = [_row(name, item, *found[i][:2], now) for i, item in enumerate(items)]
    try:
        with log.engine.begin() as connection:
            connection.execute(feedback.insert(), rows)
    except sa.exc.SQLAlchemyError as error:
        raise PredictionLogError(
            f"The feedback could not be stored: {error.orig or error}."
        ) from None
    return len(rows)


def _problem(field: str | None, message: str, code: str = "invalid_feedback") -> FieldError:
    return FieldError(field, code, message)


def _shape_problems(item) -> list[FieldError]:
    if not isinstance(item, Mapping):
        return [_problem(None, "A feedback item must be a JSON object.")]
    problems = [_problem(k, f"'{k}' is not a feedback field.") for k in item if k not in _KNOWN]
    if ("request_id" in item) == ("key" in item):
        problems.append(
            _problem(None, 'A feedback item needs exactly one of "request_id" or "key".')
        )
    for field in ("request_id", "key", "reason", "flag"):
        if field in item and not (isinstance(item[field], str) and 0 < len(item[field]) <= 2000):
            problems.append(
                _problem(field, f"'{field}' must be a non-empty string; got {item[field]!r}.")
            )
    row = item.get("row", 0)
    if isinstance(row, bool) or not isinstance(row, int) or row < 0:
        problems.append(_problem("row", f"'row' must be a whole number >= 0; got {row!r}."))
    if "correct" in item and not isinstance(item["correct"], bool):
        problems.append(
            _problem("correct", f"'correct' must be true or false; got {item['correct']!r}.")
        )
    if isinstance(item.get("flag"), str) and not _FLAG.match(item["flag"]):
        problems.append(
            _problem(
                "flag",
                f"'flag' must be a snake_case word such as not_interested; got {item['flag']!r}.",
            )
        )
    if not any(k in item for k in ("outcome", "correct", "flag")):
        problems.append(_problem(None, 'A feedback item needs "outcome", "correct" or "flag".'))
    return problems


def _predictions(log: PredictionLog, name: str, items: list) -> dict[int, tuple[int, int, int]]:
    """Index of each item -> (logged request's id, row, version) of the prediction it names."""
    r, k = requests.c, keys.c
    found = {}
    try:
        with log.engine.connect() as connection:
            for i, item in enumerate(items):
                if "request_id" in item:
                    where, row = [r.request_id == item["request_id"]], item.get("row", 0)
                else:
                    named = connection.execute(
                        sa.select(k.request, k.row)
                        .where(k.model == name, k.key == item["key"])
                        .order_by(k.id.desc())
                        .limit(1)
                    ).first()
                    if named is None:
                        continue
                    where, row = [r.id == named.request], named.row
                logged = connection.execute(
                    sa.select(r.id, r.version)
                    .where(r.model == name, r.rows > row, r.predictions.is_not(None), *where)
                    .order_by(r.time.desc(), r.id.desc())
                    .limit(1)
                ).first()
                if logged is not None:
                    found[i] = (logged.id, row, logged.version)
    except sa.exc.SQLAlchemyError as error:
        raise PredictionLogError(
            f"The prediction log cannot be read: {error.orig or error}."
        ) from None
    return found


def _unknown(item: Mapping) -> FieldError:
    if "key" in item:
        return _problem(
            "key", f"No logged prediction of this model has key {item['key']!r}.", "unknown_key"
        )
    return _problem(
        "request_id",
        f"No logged prediction of this model has request id {item['request_id']!r} and row "
        f"{item.get('row', 0)}.",
        "unknown_request",
    )


def _outcome_problem(item: Mapping, classes: list | None) -> FieldError | None:
    if item.get("outcome") is None:
        return None
    outcome = item["outcome"]
    if classes is None:
        if (
            isinstance(outcome, bool)
            or not isinstance(outcome, (int, float))
            or not math.isfinite(outcome)
        ):
            return _problem(
                "outcome",
                f"'outcome' must be a number for this regression model; got {outcome!r}.",
                "invalid_outcome",
            )
        return None
    if as_label(outcome) not in classes:
        return _problem(
            "outcome",
            f"'outcome' must be one of the model's classes {classes}; got {outcome!r}.",
            "invalid_label",
        )
    return None


def _row(name: str, item: Mapping, request: int, row: int, now: float) -> dict:
    outcome = item.get("outcome")
    return {
        "time": now,
        "model": name,
        "request": request,
        "row": row,
        "outcome": None if outcome is None else as_label(outcome),
        "correct": item.get("correct"),
        "flag": item.get("flag"),
        "reason": item.get("reason"),
    }
