"""``pmmlkit serve`` as an operator runs it: a real process stopped the way systemd and Kubernetes
stop one (SIGTERM), or killed outright, with its writer and report processes."""

from __future__ import annotations

import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from pmmlkit.converter.demo_pipelines import numeric_frame
from pmmlkit.scoring.cases import cases
from pmmlkit.scoring.predlog import open_engine
from pmmlkit.scoring.server import _Stop

DEMO = Path(__file__).parent.parent / "pmml_models"
SERVING = re.compile(r"serving .* on (http://127\.0\.0\.1:\d+)")


def start(
    tmp_path: Path, *options: str, file_size_limit: int | None = None
) -> tuple[subprocess.Popen, str, Path]:
    """The service on any free port, its messages in ``serve.err`` (a file, not a pipe that
    nobody reads and that would stop the service once full). ``file_size_limit``: no file the
    service and its processes write grows beyond it (a full disk, for the files that grow)."""
    store = tmp_path / "store"
    shutil.copytree(DEMO, store, ignore=shutil.ignore_patterns(".lock", ".staging"))
    log = tmp_path / "log.sqlite3"
    command = [sys.executable, "-m", "pmmlkit.cli", "serve", "--store", str(store), "--port", "0"]
    command += ["--prediction-log", str(log), "--monitor-interval", "60", "--reload-interval", "0"]
    command += ["--access-log", str(tmp_path / "access.jsonl"), *options]
    with (tmp_path / "serve.err").open("w") as err:
        process = subprocess.Popen(
            command,
            stderr=err,
            stdout=subprocess.DEVNULL,
            cwd=tmp_path,
            preexec_fn=None if file_size_limit is None else lambda: _limit_files(file_size_limit),
        )
    deadline = time.monotonic() + 120
    while not (found := SERVING.search(messages(tmp_path))):  # where it listens
        if process.poll() is not None:
            pytest.fail(f"the service ended before serving (exit {process.returncode})")
        assert time.monotonic() < deadline, "the service did not start in 120 s"
        time.sleep(0.05)
    return process, found.group(1), log


def _limit_files(size: int) -> None:
    """In the child before exec: a write beyond ``size`` fails with EFBIG (as on a full disk)
    instead of killing the process with SIGXFSZ; both are inherited by its own children."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))


def messages(tmp_path: Path) -> str:
    return (tmp_path / "serve.err").read_text()


def children(pid: int) -> set[int]:
    """Live processes whose parent is ``pid`` (from /proc: zombies do not count)."""
    found = set()
    for entry in Path("/proc").iterdir():
        fields = stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and fields[0] != "Z" and int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command's name (state, parent, ...), None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def helper_processes(pid: int) -> set[int]:
    """The prediction log's writer and the report worker (multiprocessing's spawned processes),
    once both have started, with multiprocessing's resource tracker."""
    deadline = time.monotonic() + 60
    while len(spawned := {p for p in children(pid) if b"spawn_main" in cmdline(p)}) < 2:
        assert time.monotonic() < deadline, f"spawned processes after 60 s: {spawned}"
        time.sleep(0.05)
    assert len(spawned) == 2, [cmdline(p) for p in spawned]
    return children(pid)


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def alive(pid: int) -> bool:
    fields = stat(pid)
    return fields is not None and fields[0] != "Z"


def gone_within(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return {p for p in pids if alive(p)}


def logged(log: Path) -> list[str]:
    """The request ids of forest's logged predictions."""
    found = cases(open_engine(f"sqlite:///{log}"), "forest", 0, time.time() + 60, limit=10**6)
    return [case["request_id"] for case in found]


def score_some(url: str, count: int) -> list[str]:
    frame = numeric_frame(np.random.default_rng(3), count, 6, "f")
    ids = []
    with requests.Session() as session:
        for record in frame.to_dict("records"):
            answer = session.post(f"{url}/v1/models/forest/predict", json={"record": record})
            assert answer.status_code == 200, answer.text
            ids.append(answer.headers["X-Request-Id"])
    return ids


def test_sigterm_writes_every_answered_request_to_the_logs_and_ends_its_processes(tmp_path):
    process, url, log = start(tmp_path)
    try:
        helpers = helper_processes(process.pid)
        ids = score_some(url, 300)
        # At once: the last tenth of a second of records is still in the service's queue.
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, messages(tmp_path)
        assert "stopped" in messages(tmp_path)
    finally:
        process.kill()
    assert gone_within(helpers, 10) == set()
    assert sorted(logged(log)) == sorted(ids)
    lines = (tmp_path / "access.jsonl").read_text().splitlines()
    assert [json.loads(line)["request_id"] for line in lines[-300:]] == ids


def test_a_stopping_service_refuses_connections_while_it_writes_its_log(tmp_path):
    """SIGTERM while the log's database is locked (another program's transaction): the service
    stops listening at once, so clients go elsewhere, and still writes every answered request
    once the lock is gone."""
    process, url, log = start(tmp_path)
    try:
        helper_processes(process.pid)
        locker = sqlite3.connect(log, timeout=30)
        locker.execute("BEGIN EXCLUSIVE")  # the writer waits (and retries) until this ends
        ids = score_some(url, 20)
        process.send_signal(signal.SIGTERM)
        host, port = url.removeprefix("http://").split(":")
        deadline = time.monotonic() + 8
        while True:
            assert time.monotonic() < deadline, "still accepting connections after 8 s"
            assert process.poll() is None, messages(tmp_path)  # still writing its log
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
            except ConnectionRefusedError:
                break
            time.sleep(0.05)
        locker.rollback()
        locker.close()
        assert process.wait(timeout=60) == 0, messages(tmp_path)
    finally:
        process.kill()
    assert sorted(logged(log)) == sorted(ids)


def test_the_writer_and_report_processes_end_when_the_service_is_killed(tmp_path):
    process, url, _ = start(tmp_path)
    try:
        helpers = helper_processes(process.pid)
        score_some(url, 5)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
    assert gone_within(helpers, 10) == set()


def test_under_traffic_a_sigterm_answers_every_request_it_logged(tmp_path):
    """Four clients keep sending, two single records (answered inline, on the I/O thread), two
    batches of 60 (on the request threads), while the service is told to stop: each request
    either got its whole answer or never reached the service; none was logged as answered
    without the client getting it."""
    process, url, log = start(tmp_path)
    frame = numeric_frame(np.random.default_rng(5), 60, 6, "f")
    bodies = [{"record": frame.iloc[0].to_dict()}, {"records": frame.to_dict("records")}]
    answered: list[str] = []
    refused, wrong = [], []  # a client's connection error; an answer that was not the whole one

    def client(k: int) -> None:
        body = bodies[k % 2]
        with requests.Session() as session:
            for i in range(100_000):
                rid = f"client{k}-{i}"
                try:
                    answer = session.post(
                        f"{url}/v1/models/forest/predict",
                        json=body,
                        headers={"X-Request-Id": rid},
                        timeout=30,
                    )
                except requests.ConnectionError:
                    refused.append(rid)
                    return
                whole = len(answer.json().get("results", [None])) == len(body.get("records", [0]))
                if answer.status_code != 200 or not whole:
                    wrong.append((rid, answer.status_code, answer.text[:300]))
                    return
                answered.append(rid)

    try:
        clients = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 30
        while len(answered) < 400 and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        for thread in clients:
            thread.join(timeout=60)
    finally:
        process.kill()
    assert wrong == [] and len(refused) == 4 and len(answered) >= 400
    assert set(logged(log)) == set(answered)  # a case per row: a batch's id 60 times


def test_a_batch_being_scored_when_sigterm_comes_is_answered_in_full(tmp_path):
    """10,000 records on a request thread (JPMML-Evaluator: some 0.3 s): the I/O loop has ended
    by the time they are scored; the answer still goes out, whole, and is logged."""
    process, url, log = start(tmp_path, "--interpreted-models", "forest")
    frame = numeric_frame(np.random.default_rng(9), 10_000, 6, "f")
    body = json.dumps({"records": frame.to_dict("records")})
    port = int(url.rsplit(":", 1)[1])
    try:
        requests.post(f"{url}/v1/models/forest/predict", json={"record": frame.iloc[0].to_dict()})
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        started = time.monotonic()
        connection.request(
            "POST",
            "/v1/models/forest/predict",
            body,
            {"Content-Type": "application/json", "X-Request-Id": "the-batch"},
        )
        time.sleep(0.1)  # read by now, and being scored
        process.send_signal(signal.SIGTERM)
        answer = connection.getresponse()
        results = json.loads(answer.read())["results"]
        took = time.monotonic() - started
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    assert answer.status == 200 and len(results) == 10_000 and took > 0.15, took
    assert "the-batch" in logged(log)


def test_a_sigterm_during_an_inline_answer_takes_effect_once_it_is_answered():
    stop = _Stop()
    stop.busy = True  # the I/O thread is answering a request inline
    stop(signal.SIGTERM, None)  # not yet
    with pytest.raises(SystemExit) as raised:
        stop.answered()
    assert raised.value.code == 0 and not stop.busy
    stop(signal.SIGTERM, None)  # a second signal while the logs are written: ignored
    with pytest.raises(SystemExit):
        _Stop()(signal.SIGTERM, None)  # the I/O thread was waiting: at once


def test_serve_on_a_port_in_use_ends_with_one_clear_error_line_and_exit_code_1(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    shutil.copytree(DEMO, tmp_path / "store", ignore=shutil.ignore_patterns(".lock", ".staging"))
    command = [sys.executable, "-m", "pmmlkit.cli", "serve", "--store", str(tmp_path / "store")]
    command += ["--port", str(port), "--prediction-log", str(tmp_path / "log.sqlite3")]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    finally:
        taken.close()
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert (
        f"pmmlkit: cannot_listen: Cannot listen on 127.0.0.1:{port}: Address already in use; "
        "another process listens there: choose another --port (0: any free port)."
    ) in done.stderr.splitlines()


def test_a_service_that_cannot_listen_closes_what_it_opened(tmp_path):
    from pmmlkit.scoring.errors import ListenError
    from pmmlkit.scoring.server import Service
    from pmmlkit.scoring.settings import Settings

    shutil.copytree(DEMO, tmp_path / "store", ignore=shutil.ignore_patterns(".lock", ".staging"))
    with Service(
        Settings(store=tmp_path / "store", port=0, prediction_log=str(tmp_path / "log.sqlite3"))
    ) as serving:
        threads, processes = set(threading.enumerate()), children(os.getpid())
        taken = serving.port
        with pytest.raises(ListenError) as raised:
            Service(
                Settings(
                    store=tmp_path / "store",
                    port=taken,
                    prediction_log=str(tmp_path / "log.sqlite3"),
                    access_log=str(tmp_path / "access.jsonl"),
                )
            )
        assert raised.value.code == "cannot_listen" and raised.value.field == "port"
        assert f"127.0.0.1:{taken}: Address already in use" in raised.value.message
        # the second service's request threads and access-log thread are gone again
        deadline = time.monotonic() + 10
        while set(threading.enumerate()) - threads and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(threading.enumerate()) - threads == set()
        assert children(os.getpid()) == processes  # no writer or report worker was started


def test_a_host_that_is_not_this_machines_is_named_as_the_setting_at_fault(tmp_path):
    from pmmlkit.scoring.errors import ListenError
    from pmmlkit.scoring.server import Service
    from pmmlkit.scoring.settings import Settings

    shutil.copytree(DEMO, tmp_path / "store", ignore=shutil.ignore_patterns(".lock", ".staging"))
    for host, reason in (
        ("no-such-host.invalid", "the host name does not resolve"),
        ("192.0.2.1", "Cannot assign requested address"),  # TEST-NET-1: nobody's address
    ):
        with pytest.raises(ListenError) as raised:
            Service(Settings(store=tmp_path / "store", host=host, port=0, prediction_log="off"))
        assert raised.value.field == "host"
        assert raised.value.message == (
            f"Cannot listen on {host}:0: {reason}; --host must be an address of this machine "
            "(127.0.0.1: loopback only)."
        )


def metric(url: str, name: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


def log_state(url: str) -> dict:
    return requests.get(f"{url}/readyz", timeout=10).json()["prediction_log"]


def test_a_full_log_database_keeps_what_it_holds_scoring_goes_on_and_writing_resumes(tmp_path):
    """The log's files may not grow past 1 MiB (RLIMIT_FSIZE: writes fail as on a full disk):
    the writer's commit fails, it says so and retries, the queue fills and counts drops, and
    every scoring request is answered; what was written before stays readable. Once the files
    may grow again (the disk has room), the writer writes what it held: every answered row is
    then written or counted dropped."""
    process, url, log = start(
        tmp_path, "--log-queue", "100", "--access-log", "off", file_size_limit=1 << 20
    )
    frame = numeric_frame(np.random.default_rng(5), 1000, 6, "f")
    body = json.dumps({"records": frame.to_dict("records")})
    try:
        with requests.Session() as session:

            def score() -> None:
                answer = session.post(
                    f"{url}/v1/models/forest/predict",
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=30,
                )
                assert answer.status_code == 200 and len(answer.json()["results"]) == 1000

            score()  # once the writer process has written it, it is up: no drops while it starts
            answered = 1
            deadline = time.monotonic() + 60
            while metric(url, "pmmlkit_prediction_log_rows_written_total") < 1000:
                assert time.monotonic() < deadline, "nothing written in 60 s"
                time.sleep(0.05)
            deadline = time.monotonic() + 120
            while metric(url, "pmmlkit_prediction_log_write_errors_total") == 0:
                assert time.monotonic() < deadline, "no write error in 120 s: the log never filled"
                score()
                answered += 1
            assert metric(url, "pmmlkit_prediction_log_rows_dropped_total") == 0
            started = time.monotonic()
            while metric(url, "pmmlkit_prediction_log_rows_dropped_total") == 0:
                score()  # answered, not held up by the stuck writer, until the queue is full
                answered += 1
                assert time.monotonic() - started < 60, "the queue never filled"
            written = metric(url, "pmmlkit_prediction_log_rows_written_total")
            report = session.get(f"{url}/v1/models/forest/monitoring?window=hour", timeout=60)
            ready = session.get(f"{url}/readyz", timeout=10)
        # SQLite's word for a write refused with EFBIG (ENOSPC would be "database or disk is full")
        assert re.search(
            r"prediction log: \d+ requests not written yet: disk I/O error", messages(tmp_path)
        )
        assert ready.status_code == 200  # scoring goes on: the service stays ready
        state = ready.json()["prediction_log"]
        assert state["state"] == "failing" and state["last_error"] == "disk I/O error"
        assert state["write_errors"] >= 1 and state["dropped_rows"] >= 1000
        assert state["written_rows"] == written
        assert 0 < written < answered * 1000
        assert report.status_code == 200, report.text
        assert report.json()["versions"][0]["volume"]["rows"] == written

        for pid in {process.pid} | helper_processes(process.pid):  # room on the disk again
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        deadline = time.monotonic() + 90  # the writer's pause between tries is 30 s at most
        while (state := log_state(url))["queued"] or state["state"] != "ok":
            assert time.monotonic() < deadline, f"the log did not recover in 90 s: {state}"
            time.sleep(0.2)
        assert state["written_rows"] + state["dropped_rows"] == answered * 1000
        assert state["written_rows"] > written
    finally:
        process.kill()
        process.wait(timeout=30)
    with sqlite3.connect(f"file:{log}?mode=ro", uri=True) as database:
        rows = database.execute("SELECT sum(rows) FROM pmmlkit_log_requests").fetchone()[0]
    assert rows == state["written_rows"]  # every committed request survives the kill
