"""Monitoring against a live service over the demo store (real converter cards with baselines):
traffic like the training data raises no drift, traffic whose class mix shifts does, in the
report, in /metrics, in the log and in ``pmmlkit monitor``."""

from __future__ import annotations

import logging
import multiprocessing
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from pmmlkit import cli
from pmmlkit.converter.demo_pipelines import mixed_frame, numeric_frame
from pmmlkit.scoring.server import Service
from pmmlkit.scoring.settings import Settings

DEMO = Path(__file__).parent.parent / "pmml_models"


def serve(tmp_path, **options) -> Service:
    store = tmp_path / "store"
    if not store.exists():
        shutil.copytree(DEMO, store, ignore=shutil.ignore_patterns(".lock", ".staging"))
    options = {
        "reload_interval": 0,
        "monitor_interval": 0,
        "prediction_log": str(tmp_path / "log.sqlite3"),
        "log_inputs_rate": 1.0,
        **options,
    }
    settings = Settings(store=store, port=0, **options)
    return Service(settings).start()


def records(frame) -> list[dict]:
    """Rows as JSON records, a missing value as an absent field."""
    return [{k: v for k, v in row.items() if v == v} for row in frame.to_dict(orient="records")]


def replay(service: Service, name: str, rows: list[dict], batch: int = 250) -> None:
    for start in range(0, len(rows), batch):
        answer = requests.post(
            f"{service.url}/v1/models/{name}/predict", json={"records": rows[start : start + batch]}
        )
        assert answer.status_code == 200, answer.text
    assert service.log.flush(timeout=30)


def report(service: Service, name: str, window: str = "hour") -> dict:
    answer = requests.get(f"{service.url}/v1/models/{name}/monitoring", params={"window": window})
    assert answer.status_code == 200, answer.text
    (version,) = answer.json()["versions"]
    return version


def like_training(n: int, seed: int = 7):
    return mixed_frame(np.random.default_rng(seed), n)[0]


def shifted(n: int, seed: int = 8):
    """Older, richer applicants, mostly red: the model says "yes" far more than in training."""
    frame = like_training(n, seed)
    frame["age"] = frame["age"] + 15
    frame["income"] = frame["income"] * 1.8
    frame.loc[np.random.default_rng(seed).random(n) < 0.7, "color"] = "red"
    return frame


def test_traffic_like_the_training_data_raises_no_drift(tmp_path, capsys):
    with serve(tmp_path) as service:
        replay(service, "logistic_mixed", records(like_training(2000)))
        version = report(service, "logistic_mixed")
        alerts = service.watcher.check()
    drift = version["predictions"]
    print("like training:", drift["observed"], "PSI", drift["psi"])
    print({e["field"]: e["psi"] for e in version["inputs"]})
    assert version["volume"]["rows"] == 2000 and version["volume"]["failed_rows"] == 0
    assert drift["psi"] < 0.05
    assert abs(drift["observed"]["yes"] - drift["baseline"]["yes"]) < 0.05
    assert all(e["psi"] < 0.05 for e in version["inputs"]), version["inputs"]
    assert version["alerts"] == [] and alerts == []
    assert sum(point["rows"] for point in version["series"]) == 2000
    assert main(tmp_path, "monitor", "logistic_mixed", "--window", "hour") == 0
    assert "no alerts" in capsys.readouterr().out


def test_traffic_whose_class_mix_shifts_raises_drift_everywhere(tmp_path, capsys, caplog):
    with serve(tmp_path) as service:
        replay(service, "logistic_mixed", records(shifted(2000)))
        version = report(service, "logistic_mixed")
        with caplog.at_level(logging.WARNING, logger="pmmlkit.scoring.alerts"):
            found = service.watcher.check()
        metrics = requests.get(f"{service.url}/metrics").text
    drift = version["predictions"]
    print("shifted:", drift["observed"], "PSI", drift["psi"])
    print({e["field"]: e["psi"] for e in version["inputs"]})
    assert drift["observed"]["yes"] > drift["baseline"]["yes"] + 0.25
    assert drift["psi"] >= 0.2
    flagged = {(a["metric"], a["field"]) for a in version["alerts"]}
    assert ("prediction_psi", None) in flagged
    assert {("input_psi", "age"), ("input_psi", "income"), ("input_psi", "color")} <= flagged
    assert ("input_psi", "region") not in flagged  # untouched field stays quiet
    assert {(a["metric"], a["field"]) for a in found} == flagged
    assert "predictions drifted from the training baseline" in caplog.text.lower()
    assert (
        'pmmlkit_monitor_alert{field="",metric="prediction_psi",model="logistic_mixed",' in metrics
    )
    assert 'pmmlkit_drift_psi{field="age",model="logistic_mixed",version="1"}' in metrics
    assert main(tmp_path, "monitor", "logistic_mixed", "--window", "hour") == 5
    assert "ALERT Predictions drifted" in capsys.readouterr().out


def test_regression_predictions_are_compared_with_the_card_histogram(tmp_path):
    with serve(tmp_path) as service:
        rng = np.random.default_rng(3)
        replay(service, "regressor", records(numeric_frame(rng, 1000, 5, "x")))
        normal = report(service, "regressor")["predictions"]
        high = numeric_frame(rng, 1000, 5, "x") * 0.3 + 0.7
        replay(service, "regressor", records(high))
        mixed = report(service, "regressor")["predictions"]
    assert len(normal["histogram"]["observed"]) == len(normal["histogram"]["edges"]) - 1
    assert abs(sum(normal["histogram"]["observed"]) - 1) < 1e-9
    assert normal["psi"] < 0.1
    assert mixed["psi"] >= 0.2
    assert mixed["observed_quantiles"]["0.5"] > normal["observed_quantiles"]["0.5"]


def test_failed_rows_and_request_errors_count_in_the_error_rate(tmp_path):
    rows = records(like_training(200))
    for row in rows[:20]:
        row["age"] = "old"
    with serve(tmp_path) as service:
        replay(service, "logistic_mixed", rows)
        requests.post(f"{service.url}/v1/models/logistic_mixed/predict", data=b"{")
        assert service.log.flush(timeout=10)
        volume = report(service, "logistic_mixed")["volume"]
        alerts = report(service, "logistic_mixed")["alerts"]
    assert volume["rows"] == 200 and volume["failed_rows"] == 20
    assert volume["error_rate"] == pytest.approx(0.1)
    assert volume["requests"] == 2 and volume["failed_requests"] == 1
    assert [a["metric"] for a in alerts if a["metric"] == "error_rate"] == ["error_rate"]


def test_monitoring_of_a_model_the_store_lacks_is_404(tmp_path):
    with serve(tmp_path) as service:
        answer = requests.get(f"{service.url}/v1/models/nope/monitoring")
        bad = requests.get(f"{service.url}/v1/models/forest/monitoring?window=month")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "model_not_found"
    assert bad.status_code == 400
    assert bad.json()["error"] == {
        "code": "invalid_body",
        "message": "Query parameter 'window' must be one of hour, day, week; got 'month'.",
        "field": "window",
        "request_id": bad.headers["X-Request-Id"],
    }


def test_with_the_log_off_scoring_works_and_monitoring_says_why_not(tmp_path):
    with serve(tmp_path) as service:
        pass
    settings = Settings(store=tmp_path / "store", port=0, prediction_log="off")
    with Service(settings).start() as service:
        scored = requests.post(
            f"{service.url}/v1/models/forest/predict", json={"record": {"f1": 0.5}}
        )
        answer = requests.get(f"{service.url}/v1/models/forest/monitoring")
        ready = requests.get(f"{service.url}/readyz")
    assert scored.status_code == 200
    assert (ready.status_code, ready.json()["prediction_log"]) == (200, {"state": "off"})
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "prediction_log_unavailable"
    assert "prediction_log=off" in answer.json()["error"]["message"]


def main(tmp_path, *argv) -> int:
    return cli.main(
        [
            *argv,
            "--store",
            str(tmp_path / "store"),
            "--prediction-log",
            str(tmp_path / "log.sqlite3"),
        ]
    )


def test_only_scoring_requests_reach_the_prediction_log(tmp_path):
    pmml = (DEMO / "forest" / "1" / "model.pmml").read_bytes()
    with serve(tmp_path) as service:
        requests.post(f"{service.url}/v1/models/forest/predict", json={"record": {"f1": 0.5}})
        requests.post(f"{service.url}/model/forest", json={"id": "a", "arguments": {"f1": 0.5}})
        uploaded = requests.put(
            f"{service.url}/v1/models/forest", data=pmml, headers={"Content-Type": "text/xml"}
        )
        requests.get(f"{service.url}/v1/models/forest")
        assert service.log.flush(timeout=10)
        versions = requests.get(f"{service.url}/v1/models/forest/monitoring").json()["versions"]
    assert uploaded.status_code == 201
    assert [(v["version"], v["volume"]["requests"]) for v in versions] == [(1, 2)]


def test_reports_come_from_a_worker_process_that_is_replaced_when_it_dies(tmp_path):
    """The report is prepared outside the serving process (it would hold the interpreter lock
    from the request threads for up to a second on a busy log): a worker that is killed is
    replaced at the next report, which answers as before."""
    with serve(tmp_path) as service:
        replay(service, "logistic_mixed", records(like_training(300)))
        before = report(service, "logistic_mixed")
        (worker,) = report_workers()
        worker.kill()
        worker.join(timeout=10)
        after = report(service, "logistic_mixed")
        (replacement,) = report_workers()
    assert replacement.pid != worker.pid
    assert after["volume"] == before["volume"] and after["volume"]["rows"] == 300
    assert after["predictions"] == before["predictions"]


def test_with_the_drift_check_on_the_report_worker_starts_with_the_service(tmp_path):
    """Starting the worker forks the serving process, which stalled scoring for some 60 ms when
    the first drift check did it under traffic: with the check on, it starts with the service."""
    with serve(tmp_path, monitor_interval=3600):
        deadline = time.monotonic() + 10  # the service starts its log and watcher as it serves
        while not report_workers() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(report_workers()) == 1
    with serve(tmp_path / "unchecked") as service:  # the check off: started by the first report
        assert report_workers() == []
        assert service.app.reports.report("logistic_mixed")["versions"] == []  # no traffic yet
        assert len(report_workers()) == 1


def report_workers() -> list:
    """The live processes this test process spawned, but for the prediction log's writer."""
    return [p for p in multiprocessing.active_children() if p.name != "pmmlkit-predlog"]


def test_a_report_on_a_sample_reads_the_newest_requests_and_counts_the_whole_window(tmp_path):
    """The alert watcher's reports read a smaller sample (the newest rows): traffic like the
    training data followed by shifted traffic drifts in a sample of the newest 500 rows, less in
    the whole hour; volume counts every request either way."""
    with serve(tmp_path) as service:
        replay(service, "logistic_mixed", records(like_training(1500)))
        replay(service, "logistic_mixed", records(shifted(500, seed=9)))
        (whole,) = service.app.reports.report("logistic_mixed", window="hour")["versions"]
        (newest,) = service.app.reports.report("logistic_mixed", window="hour", sample=500)[
            "versions"
        ]
    assert whole["volume"]["rows"] == newest["volume"]["rows"] == 2000
    assert newest["predictions"]["psi"] >= 0.2 > whole["predictions"]["psi"]
    assert newest["predictions"]["observed"]["yes"] > whole["predictions"]["observed"]["yes"]
    assert {e["rows"] for e in whole["inputs"]} == {2000}  # every row's inputs are logged here
    assert {e["rows"] for e in newest["inputs"]} == {500}
