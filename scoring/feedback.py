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

import orjson
import sqlalchemy as sa

from .errors import FeedbackError, FieldError, PredictionLogError
from .observe import request_id_time
from .predlog import PredictionLog, as_label, feedback, ids, keys, requests

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
    found = {}
    try:
        with log.engine.connect() as connection:
            for i, item in enumerate(items):
                if "request_id" in item:
                    named = _by_request_id(connection, name, item["request_id"], item.get("row", 0))
                else:
                    named = _by_key(connection, name, item["key"])
                if named is not None:
                    found[i] = named
    except sa.exc.SQLAlchemyError as error:
        raise PredictionLogError(
            f"The prediction log cannot be read: {error.orig or error}."
        ) from None
    return found


def _by_request_id(connection, name: str, request_id: str, row: int) -> tuple | None:
    """The newest answered prediction of model ``name`` with this request id and row: a
    request's own row, or a single record's (row 0) in a block, found through its id."""
    r, d = requests.c, ids.c
    candidates = [
        connection.execute(
            sa.select(r.time, r.id, sa.literal(row), r.version)
            .where(r.model == name, r.request_id == request_id, r.members.is_(None))
            .where(r.rows > row, r.predictions.is_not(None))
            .order_by(r.time.desc(), r.id.desc())
            .limit(1)
        ).first()
    ]
    if row == 0:
        candidates.append(
            connection.execute(
                sa.select(r.time, r.id, d.row, r.version)
                .join(requests, d.request == r.id)
                .where(d.request_id == request_id, r.model == name)
                .order_by(r.time.desc(), r.id.desc())
                .limit(1)
            ).first()
        )
        at = request_id_time(request_id)
        if at is not None:
            candidates.append(_in_blocks_of(connection, name, request_id, at))
    found = [tuple(c) for c in candidates if c is not None]
    return max(found)[1:] if found else None


def _in_blocks_of(connection, name: str, request_id: str, at: float) -> tuple | None:
    """The single record with the service's own ``request_id`` (made at ``at``) among the
    blocks of model ``name`` of its second (a block holds one second's requests; a second more
    on each side for the time the request took and clocks that moved), as (time, block, row,
    version); None if none has it."""
    r = requests.c
    blocks = connection.execute(
        sa.select(r.time, r.id, r.version, r.members).where(
            r.model == name,
            r.time >= math.floor(at) - 1.0,
            r.time < at + 1.0,
            r.members.is_not(None),
        )
    )
    found = None
    for when, block, version, members in blocks:
        request_ids = orjson.loads(members)["request_ids"]
        if request_id in request_ids:
            candidate = (when, block, request_ids.index(request_id), version)
            found = candidate if found is None or candidate > found else found
    return found


def _by_key(connection, name: str, key: str) -> tuple | None:
    """The prediction of model ``name``'s newest request that sent this client key."""
    r, k = requests.c, keys.c
    named = connection.execute(
        sa.select(k.request, k.row)
        .where(k.model == name, k.key == key)
        .order_by(k.id.desc())
        .limit(1)
    ).first()
    if named is None:
        return None
    logged = connection.execute(
        sa.select(r.id, r.version).where(
            r.id == named.request, r.rows > named.row, r.predictions.is_not(None)
        )
    ).first()
    return None if logged is None else (logged.id, named.row, logged.version)


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
