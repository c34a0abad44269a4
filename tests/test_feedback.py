"""Feedback and cases against a live service: by request id or client key, a reviewer's verdict, a
"not interested" flag; accuracy from the joined feedback; bad feedback refused with the JSON error
body and nothing stored; ``pmmlkit cases export`` as CSV and Parquet."""

from __future__ import annotations

import csv

import pyarrow.parquet as pq
import pytest
import requests

from .test_monitoring import like_training, main, records, serve

FOREST = [{f"f{i}": (i * 37 + row * 11) % 256 / 256 for i in range(1, 7)} for row in range(40)]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("feedback")
    with serve(tmp_path) as running:
        running.tmp_path = tmp_path
        yield running


def post(service, path, body):
    return requests.post(f"{service.url}/v1/models/{path}", json=body)


def get_cases(service, name, **params):
    answer = requests.get(f"{service.url}/v1/models/{name}/cases", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["cases"]


def test_feedback_by_request_id_key_verdict_and_flag_joins_its_prediction(service):
    keys = [f"order-{i}" for i in range(len(FOREST))]
    scored = post(service, "forest/predict", {"records": FOREST, "keys": keys}).json()
    rid, labels = scored["request_id"], [r["label"] for r in scored["results"]]
    items = [
        {"request_id": rid, "row": 0, "outcome": labels[0]},  # right
        {"request_id": rid, "row": 1, "outcome": 1 - labels[1]},  # wrong
        {"key": "order-2", "correct": True},
        {"key": "order-3", "correct": False},
        {"request_id": rid, "row": 4, "flag": "not_interested", "reason": "already bought"},
    ]
    answer = post(service, "forest/feedback", {"feedback": items})
    assert answer.status_code == 201 and answer.json() == {"accepted": 5}
    feedback = requests.get(f"{service.url}/v1/models/forest/monitoring").json()
    (version,) = feedback["versions"]
    assert version["feedback"]["count"] == 5
    assert version["feedback"]["accuracy"] == pytest.approx(0.5)  # 2 right of 4 judged
    assert version["feedback"]["flags"] == {"not_interested": 1}
    disagreed = get_cases(service, "forest", filter="disagreed")
    assert {(c["request_id"], c["row"]) for c in disagreed} == {(rid, 1), (rid, 3)}
    flagged = get_cases(service, "forest", filter="flagged")
    assert [c["feedback"]["reason"] for c in flagged] == ["already bought"]
    assert flagged[0]["inputs"] == FOREST[4] and flagged[0]["key"] == "order-4"


def test_a_single_record_keeps_its_key_and_late_feedback_is_taken(service):
    first = post(service, "forest/predict", {"record": FOREST[5], "key": "late-1"}).json()
    post(service, "forest/predict", {"records": FOREST[:30]})  # more traffic in between
    answer = post(
        service, "forest/feedback", {"key": "late-1", "outcome": first["result"]["label"]}
    )
    assert answer.status_code == 201
    (case,) = [c for c in get_cases(service, "forest", limit=200) if c["key"] == "late-1"]
    assert case["feedback"]["outcome"] == str(first["result"]["label"])


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {"request_id": "no-such-request", "outcome": 1},
            404,
            {
                "code": "unknown_request",
                "field": "request_id",
                "message": "No logged prediction of this model has request id "
                "'no-such-request' and row 0.",
            },
        ),
        (
            {"key": "no-such-key", "outcome": 1},
            404,
            {
                "code": "unknown_key",
                "field": "key",
                "message": "No logged prediction of this model has key 'no-such-key'.",
            },
        ),
        (
            {"key": "order-0", "outcome": "maybe"},
            422,
            {
                "code": "invalid_label",
                "field": "outcome",
                "message": "'outcome' must be one of the model's classes ['0', '1']; got 'maybe'.",
            },
        ),
        (
            {"key": "order-0"},
            400,
            {
                "code": "invalid_feedback",
                "field": None,
                "message": 'A feedback item needs "outcome", "correct" or "flag".',
            },
        ),
        (
            {"key": "order-0", "correct": "yes", "stars": 5},
            400,
            {
                "code": "invalid_feedback",
                "field": "stars",
                "message": "'stars' is not a feedback field.",
            },
        ),
    ],
)
def test_bad_feedback_gets_its_status_and_json_body_and_stores_nothing(
    service, body, status, error
):
    post(service, "forest/predict", {"records": FOREST[:1], "keys": ["order-0"]})
    before = requests.get(f"{service.url}/v1/models/forest/monitoring").json()
    answer = post(
        service, "forest/feedback", {"feedback": [{"key": "order-0", "correct": True}, body]}
    )
    after = requests.get(f"{service.url}/v1/models/forest/monitoring").json()
    assert answer.status_code == status
    body_error = answer.json()["error"]
    assert body_error["code"] == error["code"] and body_error["message"] == error["message"]
    assert body_error.get("field") == error["field"]
    assert {"index": 1, **error} in body_error["errors"]
    count = [v["feedback"]["count"] for v in (before["versions"][0], after["versions"][0])]
    assert count[0] == count[1]  # the good item of the batch was not stored either


def test_a_regression_outcome_must_be_a_number(service):
    scored = post(service, "regressor/predict", {"record": {f"x{i}": 0.5 for i in range(1, 6)}})
    rid = scored.json()["request_id"]
    bad = post(service, "regressor/feedback", {"request_id": rid, "outcome": "high"})
    good = post(service, "regressor/feedback", {"request_id": rid, "outcome": 12.5})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_outcome"
    assert good.status_code == 201
    (version,) = requests.get(f"{service.url}/v1/models/regressor/monitoring").json()["versions"]
    predicted = scored.json()["result"]["response"]
    assert version["feedback"]["mae"] == pytest.approx(abs(predicted - 12.5))


def test_feedback_for_an_unknown_model_or_without_a_body(service):
    missing = post(service, "nope/feedback", {"key": "k", "outcome": 1})
    empty = requests.post(f"{service.url}/v1/models/forest/feedback")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "invalid_body"


def test_keys_must_match_the_records(service):
    answer = post(service, "forest/predict", {"records": FOREST[:3], "keys": ["a"]})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == '"keys" must be a list of 3 keys, one per record.'


def test_cases_export_writes_inputs_prediction_and_feedback(service, tmp_path):
    rows = records(like_training(60))
    scored = post(service, "logistic_mixed/predict", {"records": rows}).json()
    post(service, "logistic_mixed/feedback", {"request_id": scored["request_id"], "outcome": "no"})
    service.log.flush()
    csv_file, parquet_file = tmp_path / "cases.csv", tmp_path / "cases.parquet"
    assert (
        main(service.tmp_path, "cases", "export", "logistic_mixed", "--output", str(csv_file)) == 0
    )
    assert (
        main(
            service.tmp_path,
            "cases",
            "export",
            "logistic_mixed",
            "--output",
            str(parquet_file),
            "--filter",
            "disagreed",
        )
        == 0
    )
    with open(csv_file, newline="") as stream:
        exported = list(csv.DictReader(stream))
    assert len(exported) == 60
    assert {"age", "income", "score", "color", "region", "prediction", "version"} <= set(
        exported[0]
    )
    first = next(r for r in exported if r["request_id"] == scored["request_id"] and r["row"] == "0")
    assert first["feedback_outcome"] == "no"
    assert first["prediction"] == scored["results"][0]["approved"]
    table = pq.read_table(parquet_file).to_pylist()
    expected = 0 if scored["results"][0]["approved"] == "no" else 1
    assert len(table) == expected
