"""The prediction log itself: a full queue drops and counts instead of blocking, retention, and a
PostgreSQL log shared by two instances that survives its database going down."""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import orjson
import pytest
import requests
import sqlalchemy as sa

from pmmlkit.scoring.predlog import PredictionLog, Scored
from pmmlkit.scoring.predlog import requests as logged_requests
from pmmlkit.scoring.server import Service
from pmmlkit.scoring.settings import Settings

from .postgres import Postgres
from .test_monitoring import like_training, records, serve

LABELS = ["no", "yes", "yes"]
MODELS = ("forest", "logistic_mixed", "regressor")


def scored(at: float, request_id: str) -> Scored:
    return Scored(
        time=at,
        request_id=request_id,
        model="m",
        version=1,
        status=200,
        latency_ms=1.0,
        n_rows=3,
        target="y",
        columns={"y": LABELS},
    )


def count(log: PredictionLog) -> int:
    """The rows of the logged requests."""
    with log.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.sum(logged_requests.c.rows))).scalar() or 0


def test_a_full_queue_drops_and_counts_rows_without_blocking(tmp_path):
    log = PredictionLog.open(str(tmp_path / "log.sqlite3"), queue_size=2)
    taken = [log.record(scored(time.time(), f"r{i}")) for i in range(3)]
    assert taken == [True, True, False]
    assert log.dropped_rows == 3
    log.start()
    assert log.flush(timeout=10)
    assert count(log) == 6 and log.written_rows == 6
    log.close()


def test_a_writer_that_dies_is_replaced_and_what_it_had_not_written_is_counted(tmp_path, caplog):
    """A writer process killed (out of memory, say) while it holds requests it has not written:
    those rows count as dropped, an error says so, a new writer writes what comes next, and the
    queue drains (flush and the queued gauge do not wait for the lost ones)."""
    log = PredictionLog.open(str(tmp_path / "log.sqlite3")).start()
    assert log.record(scored(time.time(), "before"))
    assert log.flush(timeout=30)
    writer = log._process.pid
    os.kill(writer, signal.SIGSTOP)  # it reads nothing more: the next batch waits in the pipe
    for i in range(4):
        assert log.record(scored(time.time(), f"held{i}"))
    deadline = time.monotonic() + 30
    while log._sent < 5 and time.monotonic() < deadline:  # handed over, not written
        time.sleep(0.01)
    assert log._sent == 5 and log.written_rows == 3
    os.kill(writer, signal.SIGKILL)
    log._process.join(30)  # gone (a request sent to a dying writer would be lost with it)
    assert log.record(scored(time.time(), "after"))
    assert log.flush(timeout=30)
    assert log._process.pid != writer and log._process.is_alive()
    assert log.writer_restarts == 1
    assert log.dropped_rows == 4 * 3 and log.queued == 0
    with log.engine.connect() as connection:
        logged = connection.execute(sa.select(logged_requests.c.request_id)).scalars().all()
    assert sorted(logged) == ["after", "before"]
    assert count(log) == 6 and log.written_rows == 6
    stopped = [r.getMessage() for r in caplog.records if "writer process stopped" in r.message]
    assert stopped == [
        "prediction log: the writer process stopped (exit code -9); 4 requests (12 rows) it "
        "had not written are counted as dropped; starting a new one"
    ]
    log.close()


def test_the_service_replaces_a_killed_writer_and_says_so_in_metrics(tmp_path):
    """The service scores on while its writer is gone; the next requests are logged by the new
    writer, and /metrics counts the restart."""
    with serve(tmp_path) as service:
        assert service.log._process.is_alive()  # started before Service.start() returned
        url = f"{service.url}/v1/models/logistic_mixed/predict"
        rows = records(like_training(5))
        assert requests.post(url, json={"records": rows}).status_code == 200
        assert service.log.flush(timeout=30)
        os.kill(service.log._process.pid, signal.SIGKILL)
        service.log._process.join(30)
        answer = requests.post(url, json={"records": rows}, headers={"X-Request-Id": "later"})
        assert answer.status_code == 200, answer.text
        assert service.log.flush(timeout=30)
        with service.log.engine.connect() as connection:
            ids = connection.execute(sa.select(logged_requests.c.request_id)).scalars().all()
        assert len(ids) == 2 and ids[1] == "later"
        metrics = requests.get(f"{service.url}/metrics").text
        assert "pmmlkit_prediction_log_writer_restarts_total 1.0" in metrics
        assert "pmmlkit_prediction_log_rows_dropped_total 0.0" in metrics
        assert "pmmlkit_prediction_log_rows_written_total 10.0" in metrics


def test_rows_older_than_the_retention_are_purged(tmp_path):
    log = PredictionLog.open(str(tmp_path / "log.sqlite3"), retention_days=1).start()
    log.record(scored(time.time() - 2 * 86400, "old"))
    log.record(scored(time.time(), "new"))
    assert log.flush(timeout=10)
    log.purge()
    with log.engine.connect() as connection:
        kept = connection.execute(sa.select(logged_requests.c.request_id)).scalars().all()
    assert kept == ["new"]
    log.close()


def test_volume_counts_every_request_of_the_window_and_every_bucket_of_its_series(tmp_path):
    """Volume comes from the minute counts the writer keeps (a window ends with the minute of
    `now`): exact per version and per bucket of the series, single records in blocks counted
    one by one; each bucket with traffic draws its latency and predictions even when the
    window's sample holds only the newest requests; a log written before the counts existed
    gets them (and its missing indexes) when first opened; the purge takes them with their
    requests, and the blocks' request ids with their blocks."""
    from pmmlkit.scoring import monitoring
    from pmmlkit.scoring.errors import FieldError
    from pmmlkit.scoring.logwindow import Window
    from pmmlkit.scoring.predlog import ids, minutes

    rng = np.random.default_rng(5)
    now = (time.time() // 60) * 60 - 5 * 3600 + 37.25  # mid-minute, within the retention
    end = now - 37.25 + 60  # the end of now's minute: the windows end there
    times = [*(now - rng.uniform(0, 3 * 3600, 800)), end - 3600, end - 3600.001, now]
    times += [*(now - rng.uniform(0, 120, 300)), end - 3600.002, end - 3599.999]  # blocks
    path = str(tmp_path / "log.sqlite3")
    log = PredictionLog.open(path, retention_days=1, queue_size=len(times)).start()
    logged = []
    for i, at in enumerate(times):
        version, n = int(rng.integers(1, 3)), int(rng.integers(1, 5))
        if i > 802:  # a single record answered: logged in a block
            answer = {
                "model": "m",
                "version": version,
                "request_id": f"r{i}",
                "result": {"y": "no"},
            }
            names = ("y", (), ("a",))
            log.record_answer(at, f"r{i}", "m", version, 1.0, orjson.dumps(answer), names, {})
            logged.append((at, version, 1, 0, False))
            continue
        failed = sorted(set(rng.integers(0, n, int(rng.integers(0, 3))).tolist()))
        status = 400 if len(failed) == n else 200
        errors = [(row, FieldError("a", "invalid_value", "x")) for row in failed]
        log.record(
            Scored(at, f"r{i}", "m", version, status, 1.0, n, "y", (), {"y": ["no"] * n}, errors)
        )
        logged.append((at, version, n, len(failed), status >= 400))
    assert log.flush(timeout=30) and log.dropped_rows == 0
    log.close()

    def reported(engine, window: str, **options) -> dict:
        answer = monitoring.report(engine, "m", lambda v: {}, window=window, now=now, **options)
        assert (answer["from"], answer["to"]) == tuple(
            map(monitoring.iso, (end - span(window), end))
        )
        return {v["version"]: v for v in answer["versions"]}

    def span(window: str) -> float:
        return Window.ending(window, now).until - Window.ending(window, now).since

    def volume(since: float, until: float, version: int) -> dict:
        mine = [row for row in logged if since <= row[0] < until and row[1] == version]
        return {
            "requests": len(mine),
            "failed_requests": sum(failed for *_, failed in mine),
            "rows": sum(n for _, _, n, _, _ in mine),
            "failed_rows": sum(f for _, _, _, f, _ in mine),
        }

    def check(engine, window: str, **options) -> None:
        versions = reported(engine, window, **options)
        assert sorted(versions) == [1, 2]
        for version, found in versions.items():
            counts = {k: c for k, c in found["volume"].items() if k != "error_rate"}
            assert counts == volume(end - span(window), end, version)
            for point in found["series"]:
                since, until = (
                    datetime.fromisoformat(point[k]).timestamp() for k in ("start", "end")
                )
                expected = volume(since, until, version)
                assert [point[k] for k in ("requests", "rows", "failed_rows")] == [
                    expected[k] for k in ("requests", "rows", "failed_rows")
                ]
                if expected["requests"] > expected["failed_requests"]:  # something was answered
                    assert point["latency_p95_ms"] == 1.0 and point["class_shares"] == {"no": 1.0}

    log = PredictionLog.open(path, retention_days=1)
    check(log.engine, "hour")
    check(log.engine, "day")
    check(log.engine, "day", sample=40)  # the newest 40 cover the last bucket only
    assert 0 < volume(end - 3600, end, 1)["requests"] < volume(end - 86400, end, 1)["requests"]
    with log.engine.begin() as connection:  # as a log written before the minute counts
        connection.execute(minutes.delete())
        connection.exec_driver_sql("DROP INDEX pmmlkit_log_requests_sampled")
    log.close()
    log = PredictionLog.open(path, retention_days=1)
    check(log.engine, "hour")
    indexes = {i["name"] for i in sa.inspect(log.engine).get_indexes("pmmlkit_log_requests")}
    assert "pmmlkit_log_requests_sampled" in indexes
    with log.engine.connect() as connection:
        blocks = connection.execute(
            sa.select(logged_requests.c.time, logged_requests.c.rows).where(
                logged_requests.c.members.is_not(None)
            )
        ).all()
    assert max(n for _, n in blocks) > 1  # some blocks hold several requests
    log.retention_days = (time.time() - now + 1800) / 86400  # keeps the last half hour of `now`
    log.purge()
    cutoff = (now - 1800) // 60 * 60
    kept = [row for row in logged if row[0] >= cutoff]
    with log.engine.connect() as connection:
        counted = connection.execute(sa.select(sa.func.sum(minutes.c.requests))).scalar()
        indexed = connection.execute(sa.select(sa.func.count()).select_from(ids)).scalar()
    log.close()
    assert counted == len(kept) and 0 < len(kept) < len(times)
    assert indexed == sum(n for at, n in blocks if at >= cutoff) < len(times) - 803


def test_two_instances_share_one_postgres_log_that_survives_the_database_going_down(tmp_path):
    """Two instances write one PostgreSQL log (a log from before blocks: the column is added on
    open): each sees the other's requests, and takes feedback on the other's single records
    (in blocks, under the service's own ids and a client's); while the database is down,
    nothing is lost."""
    rows = records(like_training(300))
    with Postgres() as database:
        old = PredictionLog.open(database.url)
        with old.engine.begin() as connection:  # as before blocks
            connection.exec_driver_sql("ALTER TABLE pmmlkit_log_requests DROP COLUMN members")
            connection.exec_driver_sql("DROP TABLE pmmlkit_log_ids")
        old.close()
        with (
            serve(tmp_path, prediction_log=database.url) as first,
            Service(second_instance(tmp_path, database.url)).start() as second,
        ):
            shared, after, errors, down, refused, feedback = _share(database, first, second, rows)
    assert shared == 206  # each instance sent 103 rows; either one sees both
    assert down.status_code == 200 and len(down.json()["results"]) == 200
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "prediction_log_unavailable"
    assert feedback.status_code == 503
    assert errors >= 1
    assert after == 406  # nothing lost while the database was down


def _share(database, first: Service, second: Service, rows: list) -> tuple:
    """The traffic of the PostgreSQL test: what each instance sees, the database going down."""
    singles = []
    for service in (first, second):
        url = f"{service.url}/v1/models/logistic_mixed/predict"
        answer = requests.post(url, json={"records": rows[:100]})
        assert answer.status_code == 200
        for i, row in enumerate(rows[:3]):
            headers = {"X-Request-Id": f"{service.url}-{i}"} if i == 2 else {}
            single = requests.post(url, json={"record": row}, headers=headers)
            assert single.status_code == 200, single.text
            singles.append((service, single.json()["request_id"]))
        assert service.log.flush(timeout=30)
    for service, request_id in singles:  # each through the other instance
        other = second if service is first else first
        sent = requests.post(
            f"{other.url}/v1/models/logistic_mixed/feedback",
            json={"request_id": request_id, "outcome": "no"},
        )
        assert sent.status_code == 201, sent.text
    shared = monitoring_rows(second)
    database.stop()
    down = requests.post(
        f"{first.url}/v1/models/logistic_mixed/predict", json={"records": rows[100:]}
    )
    refused = requests.get(f"{first.url}/v1/models/logistic_mixed/monitoring")
    feedback = requests.post(
        f"{first.url}/v1/models/logistic_mixed/feedback",
        json={"request_id": down.json()["request_id"], "outcome": "no"},
    )
    assert not first.log.flush(timeout=2)  # the rows wait, in memory, for the database
    database.start()
    assert first.log.flush(timeout=90)
    after = monitoring_rows(second)
    errors = first.log.write_errors
    return shared, after, errors, down, refused, feedback


def second_instance(tmp_path, url: str) -> Settings:
    """Another instance over the same store and the same PostgreSQL log."""
    return Settings(
        store=tmp_path / "store", port=0, reload_interval=0, monitor_interval=0, prediction_log=url
    )


def monitoring_rows(service: Service) -> int:
    answer = requests.get(f"{service.url}/v1/models/logistic_mixed/monitoring")
    assert answer.status_code == 200, answer.text
    return answer.json()["versions"][0]["volume"]["rows"]


def test_a_request_is_one_row_whose_columns_decode_to_what_was_answered(tmp_path):
    from pmmlkit.scoring.errors import FieldError
    from pmmlkit.scoring.predlog import decode, keys

    log = PredictionLog.open(str(tmp_path / "log.sqlite3"), inputs_rate=1.0).start()
    log.record(
        Scored(
            time=time.time(), request_id="r1", model="m", version=2, status=200, latency_ms=3.5,
            n_rows=3, target="y", probabilities=["probability(no)", "probability(yes)"],
            columns={
                "y": ["no", None, "yes"],
                "probability(no)": [0.8, float("nan"), 0.45],
                "probability(yes)": [0.2, float("nan"), 0.55],
            },
            errors=[(1, FieldError("age", "invalid_value", "x")), (1, FieldError("b", "missing_value", "y"))],
            data=[{"age": 30, "color": "red", "extra": 1}, {"age": "old"}, {"color": "blue"}],
            input_names=["age", "color"],
            keys=["k0", None, 7],
        )
    )  # fmt: skip
    assert log.flush(timeout=10)
    with log.engine.connect() as connection:
        rows = connection.execute(sa.select(logged_requests)).mappings().all()
        named = connection.execute(sa.select(keys.c.key, keys.c.row)).all()
    log.close()
    assert len(rows) == 1
    row = rows[0]
    assert (row["rows"], row["failed_rows"], row["status"], row["latency_ms"]) == (3, 1, 200, 3.5)
    logged = decode(row)
    assert logged.predictions == ["no", None, "yes"]
    assert logged.confidence[0] == 0.8 and logged.confidence[2] == 0.55
    assert np.isnan(logged.confidence[1])
    assert logged.errors == {1: "invalid_value"}  # the first error of the failed row
    assert logged.answered() == [0, 2]
    assert logged.inputs == {
        0: {"age": 30, "color": "red"},  # fields the model does not take are not kept
        1: {"age": "old", "color": None},
        2: {"age": None, "color": "blue"},
    }
    assert sorted(named) == [("7", 2), ("k0", 0)]


def test_a_single_record_is_logged_as_its_row_of_a_batch_would_be(tmp_path):
    """Single records take their own short path through the log's encoding (plain floats, one
    draw): each row, logged alone, decodes to what that row decodes to in a batch."""
    from pmmlkit.scoring.errors import FieldError
    from pmmlkit.scoring.predlog import decode

    columns = {
        "y": ["no", None, "yes", "yes", None],
        "probability(no)": np.array([0.8, np.nan, 0.45, np.nan, np.nan]),
        "probability(yes)": np.array([0.2, np.nan, 0.55, 0.7, np.nan]),
    }
    data = [{"age": 30, "color": "red"}, {"age": "old"}, {"color": "blue"}, {"age": 1}, {}]
    failed = [(1, FieldError("age", "invalid_value", "x")), (4, FieldError("b", "missing", "y"))]

    def request(rid: str, rows: list[int]) -> Scored:
        return Scored(
            time=time.time(), request_id=rid, model="m", version=1, status=200, latency_ms=1.0,
            n_rows=len(rows), target="y", probabilities=["probability(no)", "probability(yes)"],
            columns={
                name: values[rows] if isinstance(values, np.ndarray) else [values[r] for r in rows]
                for name, values in columns.items()
            },
            errors=[(rows.index(r), e) for r, e in failed if r in rows],
            data=[data[r] for r in rows], input_names=["age", "color"],
        )  # fmt: skip

    log = PredictionLog.open(str(tmp_path / "log.sqlite3"), inputs_rate=1.0).start()
    log.record(request("batch", [0, 1, 2, 3, 4]))
    for row in range(5):
        log.record(request(f"single{row}", [row]))
    assert log.flush(timeout=10)
    with log.engine.connect() as connection:
        found = connection.execute(sa.select(logged_requests)).mappings().all()
    log.close()
    logged = {row["request_id"]: (row, decode(row)) for row in found}
    _, batch = logged["batch"]
    assert batch.answered() == [0, 2, 3]
    for row in range(5):
        single_row, single = logged[f"single{row}"]
        assert single_row["failed_rows"] == (row in (1, 4))
        assert single.predictions == batch.predictions[row : row + 1]
        assert single.errors == ({0: batch.errors[row]} if row in batch.errors else {})
        assert single.confidence.tobytes() == batch.confidence[row : row + 1].tobytes()
        assert single.inputs == ({0: batch.inputs[row]} if row in batch.inputs else {})


def test_single_records_logged_from_their_answers_are_the_rows_a_batch_logs(tmp_path):
    """Single records answered are queued as their answers' bytes (record_answer) and the
    writer logs those of a model version as a block (one row, a request per row, each id in
    the ids table); a batch of the same records goes through record(). Row for row, they log
    the same predictions, confidences and inputs (all sampled here), for classifiers (with and
    without missing values, an unknown field) and a regressor (no confidence); a single record
    with a client key takes record() and its key is found."""
    import pandas as pd

    from pmmlkit.scoring.predlog import decode, ids, keys

    golden = Path(__file__).parent / "golden"
    cases = {name: records(pd.read_csv(golden / name / "input.csv").head(12)) for name in MODELS}
    cases["logistic_mixed"][3]["not_a_field"] = "kept out of the inputs"
    with serve(tmp_path) as service:
        for name, rows in cases.items():
            url = f"{service.url}/v1/models/{name}/predict"
            batch = requests.post(url, json={"records": rows}, headers={"X-Request-Id": name})
            assert batch.status_code == 200, batch.text
            for i, row in enumerate(rows):
                single = requests.post(
                    url, json={"record": row}, headers={"X-Request-Id": f"{name}{i}"}
                )
                assert single.status_code == 200, single.text
                assert single.json()["result"] == batch.json()["results"][i]
        keyed = requests.post(
            f"{service.url}/v1/models/forest/predict",
            json={"record": cases["forest"][0], "key": "k1"},
            headers={"X-Request-Id": "keyed"},
        )
        assert keyed.status_code == 200, keyed.text
        own = requests.post(f"{service.url}/v1/models/forest/predict", json={"record": rows[0]})
        own_id = own.json()["request_id"]  # the service's own: found by its time, not indexed
        assert own.headers["X-Request-Id"] == own_id
        assert service.log.flush(timeout=30)
        sent = requests.post(
            f"{service.url}/v1/models/forest/feedback",
            json={"request_id": own_id, "flag": "not_interested"},
        )
        assert sent.status_code == 201, sent.text
        with service.log.engine.connect() as connection:
            found = connection.execute(sa.select(logged_requests)).mappings().all()
            named = connection.execute(sa.select(keys.c.key, keys.c.row)).all()
            indexed = {rid: (block, row) for rid, block, row in connection.execute(sa.select(ids))}
    logged = {row["request_id"]: row for row in found if row["members"] is None}
    assert set(logged) == {*cases, "keyed"}
    blocks = {row["id"]: decode(row) for row in found if row["members"] is not None}
    single = {}  # request id -> (block, its row)
    for block in blocks.values():
        assert block.rows == len(block.members["request_ids"]) and not block.errors
        assert block.time == min(block.members["times"])
        single.update({rid: (block, i) for i, rid in enumerate(block.members["request_ids"])})
    assert set(single) == {own_id} | {f"{n}{i}" for n, rows in cases.items() for i in range(12)}
    assert indexed == {rid: (block.id, i) for rid, (block, i) in single.items() if rid != own_id}
    for name, rows in cases.items():
        batch = decode(logged[name])
        assert len(batch.inputs) == len(rows) and not batch.errors
        for i in range(len(rows)):
            block, j = single[f"{name}{i}"]
            assert block.predictions[j] == batch.predictions[i]
            assert type(block.predictions[j]) is type(batch.predictions[i])
            assert block.confidence[j : j + 1].tobytes() == batch.confidence[i : i + 1].tobytes()
            assert block.inputs[j] == batch.inputs[i]
            assert block.members["latencies"][j] > 0
            assert block.request_of(j, "") == (f"{name}{i}", 0, block.members["times"][j])
    regressor, j = single["regressor0"]
    assert np.isnan(regressor.confidence).all()  # no class probabilities
    mixed, j = single["logistic_mixed3"]
    assert "not_a_field" not in mixed.inputs[j]
    forest, j = single["forest0"]
    assert 0.5 <= forest.confidence[j] <= 1
    assert named == [("k1", 0)] and decode(logged["keyed"]).rows == 1


def test_a_batchs_inputs_sample_keeps_each_row_at_the_rate(tmp_path):
    """A batch's inputs are sampled systematically (every step-th row from a random start):
    over many requests each row position is kept at --log-inputs-rate, for a rate whose inverse
    is a whole number (0.25: exactly one row in four of every request) and one whose inverse is
    not (0.3: steps of 3 and 4 mixed); the values logged are the sent row's."""
    from pmmlkit.scoring.predlog import decode

    n, requests_per_rate = 7, 1500
    for rate in (0.3, 0.25):
        path = str(tmp_path / f"log{rate}.sqlite3")
        log = PredictionLog.open(path, inputs_rate=rate, seed=7, queue_size=2 * requests_per_rate)
        log.start()
        for i in range(requests_per_rate):
            log.record(
                Scored(
                    time=time.time(), request_id=f"r{i}", model="m", version=1, status=200,
                    latency_ms=1.0, n_rows=n, target="y", columns={"y": [1.0] * n},
                    data=[{"a": i, "b": str(row)} for row in range(n)], input_names=["a", "b"],
                    inputs={"a": [i] * n, "b": [str(row) for row in range(n)]},
                )
            )  # fmt: skip
        assert log.flush(timeout=30)
        with log.engine.connect() as connection:
            found = connection.execute(sa.select(logged_requests)).mappings().all()
        log.close()
        assert len(found) == requests_per_rate
        kept = np.zeros(n)
        for row in found:
            logged = decode(row)
            i = int(row["request_id"][1:])
            assert all(logged.inputs[r] == {"a": i, "b": str(r)} for r in logged.inputs)
            rows = sorted(logged.inputs)
            gaps = set(np.diff(rows).tolist())
            assert gaps <= ({4} if rate == 0.25 else {3, 4}) and len(gaps) <= 1
            kept[rows] += 1
        # binomial: 1500 draws of p = rate per position, sd about 17; 6 sd either side
        assert np.all(np.abs(kept - rate * requests_per_rate) < 6 * 17.8), kept
        if rate == 0.25:  # whole-number step: 1 or 2 of 7 rows each time, exactly 7/4 on average
            assert kept.sum() == pytest.approx(rate * n * requests_per_rate, rel=0.05)


def test_a_batchs_sampled_inputs_are_the_values_sent_in_every_body_shape(tmp_path):
    """The log samples a batch's inputs from the columns scoring made of its body (records,
    columns or CSV): each logged row decodes to the values sent (an int stays an int, a field
    a record lacks or an empty cell is null, a field the model does not take is left out, a
    record that is not an object has nulls); a regressor's predictions, stored as float64
    bytes, decode to the numbers answered, a failed row's as null."""
    from pmmlkit.scoring.predlog import decode

    fields = ("color", "region", "age", "income", "score")
    sent = [
        {"color": "red", "region": "west", "age": 41, "income": 57.5, "score": 0.9},
        {"color": "blue", "income": 30.25, "score": 0.1, "not_a_field": [1, 2]},  # lacks two
        "not a record",
        {"color": "green", "region": "east", "age": 23.5, "income": 12, "score": 0},
    ]
    expected = [
        {"color": "red", "region": "west", "age": 41, "income": 57.5, "score": 0.9},
        {"color": "blue", "region": None, "age": None, "income": 30.25, "score": 0.1},
        dict.fromkeys(fields),
        {"color": "green", "region": "east", "age": 23.5, "income": 12, "score": 0},
    ]
    columns = {"color": ["red", "blue"], "age": [7, None], "score": [0.5, 0.25], "other": [1, 2]}
    csv_body = "color,region,age,income,score,other\nred,,33,1.5,0.5,x\nblue,north,,2,0.75,y\n"
    with serve(tmp_path) as service:
        url = f"{service.url}/v1/models/logistic_mixed/predict"
        answers = [
            requests.post(url, json={"records": sent}, headers={"X-Request-Id": "records"}),
            requests.post(url, json={"columns": columns}, headers={"X-Request-Id": "columns"}),
            requests.post(
                url,
                data=csv_body,
                headers={"Content-Type": "text/csv", "X-Request-Id": "csv"},
            ),
        ]
        regressor = [
            {"x1": 0.5, "x2": 0.25, "x3": 1, "x4": 0.75, "x5": 0.125},
            {"x1": "high", "x2": 0.25, "x3": 1, "x4": 0.75, "x5": 0.125},
            {"x1": 0.1, "x2": 0.2, "x3": 0.3, "x4": 0.4, "x5": 0.5},
        ]
        answers.append(
            requests.post(
                f"{service.url}/v1/models/regressor/predict",
                json={"records": regressor},
                headers={"X-Request-Id": "regressor"},
            )
        )
        assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
        assert service.log.flush(timeout=30)
        with service.log.engine.connect() as connection:
            found = connection.execute(sa.select(logged_requests)).mappings().all()
    logged = {row["request_id"]: decode(row) for row in found}
    records_logged = logged["records"]
    assert records_logged.inputs == dict(enumerate(expected))
    assert type(records_logged.inputs[0]["age"]) is int
    assert type(records_logged.inputs[3]["income"]) is int
    assert set(records_logged.errors) == {2} and records_logged.answered() == [0, 1, 3]
    assert logged["columns"].inputs == {
        0: {"color": "red", "age": 7, "score": 0.5},  # columns not sent are not logged
        1: {"color": "blue", "age": None, "score": 0.25},
    }
    assert logged["csv"].inputs == {
        0: {"color": "red", "region": None, "age": 33.0, "income": 1.5, "score": 0.5},
        1: {"color": "blue", "region": "north", "age": None, "income": 2.0, "score": 0.75},
    }
    answered = answers[3].json()["results"]
    numbers = logged["regressor"]
    assert set(numbers.errors) == {1}
    assert numbers.predictions[1] is None and answered[1] is None
    target = next(iter(answered[0]))
    assert numbers.predictions[0] == answered[0][target]
    assert numbers.predictions[2] == answered[2][target]
    assert all(type(numbers.predictions[i]) is float for i in (0, 2))
    assert numbers.inputs[1]["x1"] == "high" and numbers.inputs[0]["x3"] == 1


def test_single_records_in_blocks_take_feedback_and_are_cases_under_their_own_ids(tmp_path):
    """A log written before blocks gets their column and id table when opened. A report reads
    each request of a block (its latency, its prediction). Feedback names a single record the
    service gave its own id (a UUIDv7: not indexed, found by its time, across a second's edge
    too) or a client's id (indexed). Feedback names
    a single record of a block by its own request id (row 0; any other row is unknown), the
    newest prediction under an id wins whether a block's or a request's own row, and the cases
    of a window are the block's requests in it, each under its own id, row 0 and time."""
    from pmmlkit.scoring import cases, feedback, logwindow
    from pmmlkit.scoring.errors import FeedbackError
    from pmmlkit.scoring.monitoring import iso
    from pmmlkit.scoring.predlog import ids

    path = str(tmp_path / "log.sqlite3")
    PredictionLog.open(path).close()
    with sa.create_engine(f"sqlite:///{path}").begin() as connection:  # as before blocks
        connection.exec_driver_sql("ALTER TABLE pmmlkit_log_requests DROP COLUMN members")
        connection.exec_driver_sql("DROP TABLE pmmlkit_log_ids")
    log = PredictionLog.open(path, inputs_rate=1.0).start()
    names = ("y", ("probability(no)", "probability(yes)"), ("a",))
    minute = time.time() // 60 * 60 - 120

    def answered(at: float, rid: str, label: str, generated: bool = False) -> None:
        p = 0.9 if label == "yes" else 0.3
        result = {"y": label, "probability(no)": 1 - p, "probability(yes)": p}
        answer = orjson.dumps({"model": "m", "version": 1, "request_id": rid, "result": result})
        log.record_answer(at, rid, "m", 1, at - minute, answer, names, {"a": rid}, generated)

    def own_id(ms: int) -> str:  # the form of new_request_id()'s, made at `ms`
        return f"{ms << 80 | 0x7 << 76 | 0b10 << 62 | ms:032x}"

    # made at 30.999 s and answered 1.3 ms later: in the block of second 31
    own = {
        own_id(int(minute * 1000) + ms): ms / 1000 + took
        for ms, took in ((30_999, 0.0013), (31_000, 0.0004), (31_500, 0.0004))
    }
    for rid, at in own.items():
        answered(minute + at, rid, "yes", generated=True)

    log.record(
        Scored(minute + 1, "dup", "m", 1, 200, 1.0, 2, "y", (), {"y": ["no", "no"]}, [])
    )  # fmt: skip
    for i in range(5):
        answered(minute + 10 * i + 5, f"s{i}", "yes" if i % 2 else "no")
    answered(minute + 50, "dup", "yes")  # the same id again, newer, in a block
    assert log.flush(timeout=10)
    with log.engine.connect() as connection:
        window = logwindow.Window(minute, minute + 60, 60)
        data = logwindow.read(connection, "m", window, None, sample=100, series=False)
    latencies = [1.0, 5.0, 15.0, 25.0, 35.0, 45.0, 50.0, *own.values()]
    assert np.allclose(sorted(data["requests"]["latency_ms"]), sorted(latencies), atol=1e-6)
    assert sorted(data["predictions"]["prediction"]) == ["no"] * 5 + ["yes"] * 6
    with log.engine.connect() as connection:
        indexed = connection.execute(sa.select(ids.c.request_id)).scalars().all()
    assert sorted(indexed) == ["dup", "s0", "s1", "s2", "s3", "s4"]  # not the service's own

    def classes(version: int) -> list:
        return ["no", "yes"]

    for rid in own:
        assert feedback.accept(log, "m", {"request_id": rid, "flag": "not_right"}, classes) == 1
    assert feedback.accept(log, "m", {"request_id": "s3", "outcome": "no"}, classes) == 1
    assert feedback.accept(log, "m", {"request_id": "dup", "correct": False}, classes) == 1
    try:
        feedback.accept(log, "m", {"request_id": "s3", "row": 1, "outcome": "no"}, classes)
        raise AssertionError("row 1 of a single record was taken")
    except FeedbackError as error:
        assert error.status == 404 and error.code == "unknown_request"
    found = cases.cases(log.engine, "m", minute + 14, minute + 60, with_inputs=True)
    assert [(c["request_id"], c["row"]) for c in found] == [
        ("dup", 0), ("s4", 0), ("s3", 0), *((rid, 0) for rid in reversed(own)), ("s2", 0), ("s1", 0)
    ]  # fmt: skip
    assert all(c["feedback"]["flag"] == "not_right" for c in found if c["request_id"] in own)
    by_id = {c["request_id"]: c for c in found}
    assert by_id["s3"]["feedback"]["outcome"] == "no" and by_id["s3"]["prediction"] == "yes"
    assert by_id["s3"]["confidence"] == 0.9 and by_id["s3"]["inputs"] == {"a": "s3"}
    assert by_id["s2"]["feedback"] is None and by_id["s2"]["confidence"] == 0.7
    assert by_id["dup"]["feedback"]["correct"] is False  # the block's, newer than the request's
    assert by_id["s1"]["time"] == iso(minute + 15)
    disagreed = cases.cases(log.engine, "m", minute, minute + 60, kind="disagreed")
    log.close()
    assert [c["request_id"] for c in disagreed] == ["dup", "s3"]


def test_the_writer_and_the_reports_worker_yield_to_the_serving_process(tmp_path):
    """The writer and the monitoring reports' worker run at niceness 10 and, on Linux, under
    the batch policy (their wake-ups do not preempt a request thread); the service does not."""
    with serve(tmp_path) as service:
        rows = records(like_training(5))
        url = f"{service.url}/v1/models/logistic_mixed/predict"
        answer = requests.post(url, json={"records": rows})
        assert answer.status_code == 200, answer.text
        assert service.log.flush(timeout=30)  # written: the writer set its priority before
        answer = requests.get(f"{service.url}/v1/models/forest/monitoring")  # the worker's too
        assert answer.status_code == 200, answer.text
        workers = [service.log._process.pid, *service.app.reports._pool._processes]
        assert len(workers) == 2
        for pid in workers:
            assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + 10
            assert os.sched_getscheduler(pid) == os.SCHED_BATCH
        assert os.sched_getscheduler(0) == os.SCHED_OTHER


def test_a_full_batch_or_a_flush_sends_without_waiting_out_the_linger(tmp_path, monkeypatch):
    """The relay hands the writer what is waiting every _LINGER seconds, and sooner when _BATCH
    requests wait or a flush asks (feedback for a prediction just answered flushes): with a
    linger of ten minutes, a full batch is written, then one more request on flush."""
    from pmmlkit.scoring import predlog

    monkeypatch.setattr(predlog, "_LINGER", 600.0)
    log = PredictionLog.open(str(tmp_path / "log.sqlite3"), queue_size=2 * predlog._BATCH).start()
    for i in range(predlog._BATCH):
        assert log.record(scored(time.time(), f"r{i}"))
    deadline = time.monotonic() + 30
    while log.written_rows < 3 * predlog._BATCH and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.written_rows == 3 * predlog._BATCH  # three rows per request (see scored)
    assert log.record(scored(time.time(), "one more"))
    assert log.flush(timeout=30)
    assert count(log) == 3 * predlog._BATCH + 3
    log.close()
