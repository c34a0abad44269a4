"""What the prediction log's writer costs per logged single-record request as the log grows: as
the service logs an answered single record (in a block with the others of its batch) against a
row per request (what a single record sent with a client key takes, and what every single record
took before blocks); by kind of request id: the service's own (UUIDv7, time first) against
random ones (uuid4, what a client may send as X-Request-Id; a block indexes a client's ids, and
not the service's own, which hold their time).

    .venv/bin/python bench/bench_predlog.py [--requests 500000] [--batch 500]

Every run goes through the writer process's own code (``predlog._Writer.write``: one
transaction per batch, with the minute counts, into a fresh SQLite log with the service's
pragmas) for single-record requests to the demo forest, from the messages the serving process
queues: ``record_answer``'s (the answer's bytes; the writer makes blocks of them) or
``record``'s (the row the request thread encoded). Printed per slice of the run: the median
wall time of a batch's writing per request, and the writer's CPU per request (user + system),
which is what it takes from scoring on a busy machine. A measurement, not a test: the exit code
is 0 whatever the numbers.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import orjson

from pmmlkit.scoring import predlog
from pmmlkit.scoring.observe import new_request_id

SLICES = 5


def answer_message(when: float, request_id: str, generated: bool) -> tuple:
    """What the serving process queues for a single-record forest request answered 200
    (``PredictionLog.record_answer``): the answer's JSON bytes, which the writer keeps."""
    answer = orjson.dumps(
        {
            "model": "forest",
            "version": 1,
            "request_id": request_id,
            "result": {"label": 0, "probability(0)": 0.893, "probability(1)": 0.107},
        }
    )
    names = ("label", ("probability(0)", "probability(1)"), ("f1", "f2", "f3"))
    return (None, when, request_id, "forest", 1, 0.3, answer, names, None, generated)


def row_message(when: float, request_id: str, generated: bool) -> tuple:
    """What ``PredictionLog.record`` queues for the same request: its row, encoded."""
    scored = predlog.Scored(
        when, request_id, "forest", 1, 200, 0.3, 1, "label", ("probability(0)", "probability(1)"),
        {"label": [0], "probability(0)": [0.893], "probability(1)": [0.107]}, [],
    )  # fmt: skip
    return (_ROWS._row(scored), None, 1)


_ROWS = predlog.PredictionLog(None)  # not opened: only its encoding is used
PATHS = {"block (answered)": answer_message, "row per request": row_message}


def run(directory: Path, label: str, message, make_id, requests: int, batch: int) -> list[tuple]:
    engine = predlog.open_engine(predlog.database_url(str(directory / f"{label}.sqlite3")))
    predlog.metadata.create_all(engine)
    shared = predlog._Shared(multiprocessing.get_context("spawn"))
    writer = predlog._Writer(engine, 30.0, None, shared)
    per_slice = requests // batch // SLICES
    slices = []
    for _ in range(SLICES):
        walls, now = [], time.time()
        batches = [  # made before the clock starts: only the writer's work is timed
            [message(now, make_id(), make_id is new_request_id) for _ in range(batch)]
            for _ in range(per_slice)
        ]
        before = resource.getrusage(resource.RUSAGE_SELF)
        for messages in batches:
            began = time.perf_counter()
            if not writer.write(messages):  # as write_until_done does
                raise SystemExit(f"{label}: a write failed: {writer.shared.last_error.value}")
            walls.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        slices.append(
            (
                shared.written_requests.value,
                statistics.median(walls) / batch * 1e6,
                cpu / (per_slice * batch) * 1e6,
            )
        )
    engine.dispose()
    return slices


def main() -> None:
    parser = argparse.ArgumentParser(description="The prediction log writer's cost per request.")
    parser.add_argument("--requests", type=int, default=500_000, help="Logged per kind of id.")
    parser.add_argument("--batch", type=int, default=500, help="Requests per transaction.")
    args = parser.parse_args()
    kinds = {
        "UUIDv7 (the service's)": new_request_id,
        "random (uuid4)": lambda: uuid.UUID(int=random.getrandbits(128), version=4).hex,
    }
    print(
        f"Writer cost per logged single-record request, {args.batch} requests per transaction, "
        f"SQLite; us per request\n"
    )
    header = f"{'logged as':<18}{'request ids':<24}{'logged':>10}{'write (median)':>17}{'CPU':>8}"
    print(header + "\n" + "-" * len(header))
    with tempfile.TemporaryDirectory(prefix="pmmlkit-bench-predlog-") as directory:
        for path, message in PATHS.items():
            for label, make_id in kinds.items():
                name = f"{path.split()[0]}-{label.split()[0]}"
                for written, wall, cpu in run(
                    Path(directory), name, message, make_id, args.requests, args.batch
                ):
                    print(
                        f"{path:<18}{label:<24}{written:>10,}{wall:>17.1f}{cpu:>8.1f}", flush=True
                    )


if __name__ == "__main__":
    main()
