"""What a monitoring report reads of the prediction log: one model's traffic over a window.

A window starts and ends on whole minutes, so its volume, in all and per bucket of its series,
is a sum of the minute counts the writer keeps (:data:`.predlog.minutes`): exact at any log
size, and cheap (a week is at most 10,080 rows per version). The rest is sampled: the window's
figures (latency, predictions, inputs) come from its newest ``sample`` requests and answered
rows (and at most INPUT_SAMPLE input records); the series takes each bucket that sample covers
from it, and reads each older bucket's own newest rows, so a busy week still draws every bucket.

    window = Window.ending("day", time.time())
    with engine.connect() as connection:
        data = read(connection, "forest", window, version=None, sample=200_000, series=True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import orjson
import sqlalchemy as sa

from .predlog import MINUTE_COUNTS, as_label, decode, feedback, minutes, requests, results

WINDOWS = {"hour": (3600, 300), "day": (86400, 3600), "week": (7 * 86400, 6 * 3600)}
INPUT_SAMPLE = 20_000  # most recent logged inputs a report reads (at most)
# Feedback comes after its prediction: a report reads the feedback of the window from the
# feedback table's (model, time) index and joins each item's request, instead of stepping over
# every request of the window to look for feedback (0.6 s a report at a million logged
# requests, growing with the log).
# Instances sharing a log may disagree on the time by this much (seconds).
_CLOCK_SKEW = 300.0
_REQUEST_COLUMNS = ("time", "version", "rows", "failed_rows", "status", "latency_ms")


@dataclass(frozen=True)
class Window:
    """[since, until) in epoch seconds, on whole minutes, cut in ``count`` buckets of ``step``."""

    since: float
    until: float
    step: float

    @classmethod
    def ending(cls, name: str, now: float) -> Window:
        """The window ``name`` (hour, day, week) that ends with the minute of ``now``."""
        span, step = WINDOWS[name]
        until = math.ceil(now / 60) * 60.0
        return cls(until - span, until, step)

    @property
    def count(self) -> int:
        return int((self.until - self.since) // self.step)

    def bucket(self, i: int) -> tuple[float, float]:
        return self.since + i * self.step, self.since + (i + 1) * self.step


def read(
    connection, name: str, window: Window, version: int | None, sample: int, series: bool
) -> dict:
    """Model ``name``'s traffic in ``window`` (one version, or all): the minute counts, the
    newest requests, answered rows and inputs, the feedback, and with ``series`` the requests
    and answered rows the series' buckets are drawn from."""
    r, f = requests.c, feedback.c

    def where(*more, since=window.since, until=window.until):
        clauses = [r.model == name, r.time >= since, r.time < until, *more]
        return sa.and_(*clauses, *([r.version == version] if version is not None else []))

    def newest_requests(limit: int, **bounds) -> dict:
        query = sa.select(*(r[c] for c in _REQUEST_COLUMNS), r.members).where(where(**bounds))
        # each row is a request or a block of them: ``limit`` rows hold ``limit`` requests
        return _requests(connection.execute(query.order_by(r.time.desc()).limit(limit)), limit)

    def newest_answered(limit: int, **bounds) -> dict:
        query = sa.select(r.time, r.version, r.rows, r.predictions, r.errors)
        query = query.where(where(r.predictions.is_not(None), **bounds))
        return _answered(connection.execute(query.order_by(r.time.desc())), limit)

    inputs = sa.select(r.version, r.inputs).where(where(r.inputs.is_not(None)))
    data = {
        "minutes": _minutes(connection, name, window, version),
        "requests": newest_requests(sample),
        "predictions": newest_answered(sample),
        "inputs": _logged_inputs(
            connection.execute(inputs.order_by(r.time.desc())), min(sample, INPUT_SAMPLE)
        ),
        "feedback": _joined_feedback(
            connection.execute(
                sa.select(f.row, f.outcome, f.correct, f.flag, *_FEEDBACK_REQUEST)
                .join(requests, f.request == r.id)
                .where(f.model == name, f.time >= window.since - _CLOCK_SKEW, where())
                .order_by(f.time)
            ).mappings()
        ),
    }
    if series:
        # at least 1,000 rows (or the whole sample) a bucket, so that its shares mean something
        per_bucket = max(sample // window.count, min(sample, 1000))
        for table, newest in (("requests", newest_requests), ("predictions", newest_answered)):
            data[f"series_{table}"] = _bucketed(data[table], sample, window, per_bucket, newest)
    return data


def _minutes(connection, name: str, window: Window, version: int | None) -> dict:
    """The writer's minute counts of the window: version, minute start (epoch seconds) and
    the counts of MINUTE_COUNTS, as arrays."""
    m = minutes.c
    query = sa.select(m.version, m.minute, *(m[c] for c in MINUTE_COUNTS)).where(
        m.model == name, m.minute >= window.since // 60, m.minute < window.until // 60
    )
    if version is not None:
        query = query.where(m.version == version)
    rows = connection.execute(query).all()
    columns = enumerate(("version", "minute", *MINUTE_COUNTS))
    table = {c: np.array([row[i] for row in rows], dtype=np.int64) for i, c in columns}
    table["time"] = table.pop("minute") * 60.0
    return table


def _bucketed(
    newest: dict, sample: int, window: Window, per_bucket: int, read_bucket: Callable[..., dict]
) -> dict:
    """The rows the series draws from: ``newest`` (the window's newest ``sample`` rows) for the
    buckets it covers whole, and when it stopped short of the window's start, each older
    bucket's own newest ``per_bucket`` rows, read by ``read_bucket(limit, since=, until=)``."""
    times = newest["time"].astype(float)
    if times.size < sample:  # the whole window
        return newest
    oldest = times.min()  # rows at this time may have been cut; every later row is in
    # the first bucket it covers (count: none; that bucket would start at the window's end)
    covered = next((i for i in range(window.count) if window.bucket(i)[0] > oldest), window.count)
    keep = times >= window.bucket(covered)[0]
    parts = [{k: v[keep] for k, v in newest.items()}]
    for i in range(covered):
        since, until = window.bucket(i)
        parts.append(read_bucket(per_bucket, since=since, until=until))
    return {k: np.concatenate([p[k] for p in parts]) for k in newest}


def _requests(logged, limit: int) -> dict:
    """The columns of _REQUEST_COLUMNS of the newest logged requests (and members; at least
    ``limit`` requests unless fewer were logged): a block's as its single records (each one row,
    answered), at the block's time (the oldest one's: a block is within one second, so it falls
    in the same bucket of any window)."""
    rows: list[tuple] = []
    for *columns, members in logged:
        if members is None:
            rows.append(tuple(columns))
        else:
            when, version = columns[0], columns[1]
            rows += [(when, version, 1, 0, 200, ms) for ms in orjson.loads(members)["latencies"]]
        if len(rows) >= limit:
            break
    return {
        c: np.array([row[i] for row in rows], dtype=object) for i, c in enumerate(_REQUEST_COLUMNS)
    }


def _answered(logged_requests, sample: int) -> dict:
    """The answered rows of the newest logged requests (time, version, rows, predictions,
    errors; up to ``sample`` rows): time, version, label and numeric value of each, in lists
    a request at a time (a request's rows in C-speed list work). The drift check reads 20,000
    single records so every minute: per request, this is a JSON parse and four list appends
    (a full decode() of each took 11 us, a third of the check)."""
    parts: dict[str, list] = {"time": [], "version": [], "prediction": [], "value": []}
    for when, version, n, blob, errors in logged_requests:
        answered = _values(results(blob)[0][:n], errors)
        kinds = set(map(type, answered))
        count = len(answered)
        parts["time"] += [when] * count
        parts["version"] += [version] * count
        parts["prediction"] += answered if kinds <= {str} else map(as_label, answered)
        if kinds <= {int, float}:
            parts["value"] += answered
        else:  # labels: no numbers (but for numbers among other kinds)
            parts["value"] += [None] * count if kinds <= {str} else map(number, answered)
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
    :func:`field`)."""
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


def field(samples: list[tuple[int, dict]], name: str) -> list:
    """The values of field ``name`` in input samples, null where a request did not send it."""
    values: list = []
    for count, columns in samples:
        column = columns.get(name)
        values += [None] * count if column is None else column
    return values


_FEEDBACK_REQUEST = (
    requests.c.id, requests.c.time, requests.c.version, requests.c.rows,
    requests.c.predictions, requests.c.errors,
)  # fmt: skip


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
                number(value), item["outcome"], item["correct"], item["flag"],
            ),
            strict=True,
        ):  # fmt: skip
            table[column].append(cell)
    return {k: np.array(v, dtype=object) for k, v in table.items()}


def number(value) -> float | None:
    """A prediction as a number, or None for a label."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
