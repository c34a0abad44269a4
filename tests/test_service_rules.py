"""Input rules and what the service tells about itself, against a live server with the default
limits: unknown fields, all_or_nothing, media types, numbers JSON cannot carry, 100 MB bodies, a
million records, /metrics and the JSON access log."""

from __future__ import annotations

import http.client
import io
import json
import logging
import re
import socket
import time
import uuid
import wsgiref.util
from concurrent.futures import ThreadPoolExecutor

import pytest

from pmmlkit.scoring.app import create_app
from pmmlkit.scoring.server import Service
from pmmlkit.scoring.settings import Settings
from pmmlkit.scoring.store import ModelStore

from .golden_cases import GOLDEN
from .test_service import CARD, SETOSA, call

PREDICT = "/v1/models/iris/predict"
BAD = {**SETOSA, "petal_width": 9.0}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    store = ModelStore(root)
    store.publish("iris", (GOLDEN / "multiclass" / "model.pmml").read_bytes(), CARD)
    with Service(Settings(store=root, port=0, unknown_fields="reject")).start() as running:
        yield running.port, store


@pytest.fixture(scope="module", params=["warn", "ignore"])
def lenient(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("store")
    ModelStore(root).publish("iris", (GOLDEN / "multiclass" / "model.pmml").read_bytes(), CARD)
    settings = Settings(store=root, port=0, unknown_fields=request.param)
    with Service(settings).start() as running:
        yield running.port, request.param


def test_unknown_fields_are_reported_with_the_other_problems(service):
    record = {**SETOSA, "petal_width": None, "colour": "blue", "size": 3}
    status, body, _ = call(service, "POST", PREDICT, {"record": record})
    assert status == 422
    assert [(e["field"], e["code"]) for e in body["error"]["errors"]] == [
        ("petal_width", "missing_field"),
        ("colour", "unknown_field"),
        ("size", "unknown_field"),
    ]
    status, body, _ = call(service, "POST", PREDICT, {"records": [SETOSA, {**SETOSA, "x": 1}]})
    assert status == 200 and body["results"][1] is None
    assert body["errors"] == [
        {
            "index": 1,
            "field": "x",
            "code": "unknown_field",
            "message": "Field 'x' is not a field of this model.",
        }
    ]
    status, body, _ = call(service, "POST", PREDICT, {"columns": {"x": [1]}})
    assert (status, body["error"]["field"]) == (422, "x")
    status, _, _response = call(service, "POST", PREDICT, "sepal_length,x\n5.1,1\n", "text/csv")
    assert status == 422


def test_the_target_and_outputs_are_not_unknown(service):
    record = {**SETOSA, "species": "setosa", "probability(setosa)": 1.0}
    assert call(service, "POST", PREDICT, {"record": record})[0] == 200


def test_warn_and_ignore_policies_score_records_with_extra_fields(lenient):
    _, policy = lenient
    extra = {**SETOSA, "colour": "blue"}
    status, body, _ = call(lenient, "POST", PREDICT, {"records": [extra, extra, SETOSA]})
    assert (status, [r["species"] for r in body["results"]]) == (200, ["setosa"] * 3)
    warnings = [
        {
            "field": "colour",
            "code": "unknown_field",
            "message": "Field 'colour' is not a field of this model; ignored (in 2 of 3 records).",
        }
    ]
    assert body.get("warnings") == (warnings if policy == "warn" else None)
    status, _text, response = call(
        lenient, "POST", PREDICT, "sepal_length,colour\n5.1,x\n", "text/csv"
    )
    assert status == 200
    assert response.getheader("X-Unknown-Fields") == ("colour" if policy == "warn" else None)
    assert response.getheader("X-Failed-Rows") == "1"  # the missing fields, not the colour


def test_all_or_nothing_refuses_the_whole_batch(service):
    records = [SETOSA, BAD, SETOSA, {**SETOSA, "sepal_length": "long"}]
    status, body, _ = call(service, "POST", PREDICT + "?all_or_nothing=true", {"records": records})
    assert status == 422 and body["error"]["code"] == "invalid_input"
    assert [(e["index"], e["code"]) for e in body["error"]["errors"]] == [
        (1, "out_of_range"),
        (3, "invalid_type"),
    ]
    assert body["error"]["message"].startswith("2 of 4 records cannot be scored")
    status, body, _ = call(service, "POST", PREDICT + "?all_or_nothing=true", {"records": [SETOSA]})
    assert status == 200 and body["errors"] == []
    status, body, _ = call(service, "POST", PREDICT + "?all_or_nothing=maybe", {"records": []})
    assert (status, body["error"]["field"]) == (400, "all_or_nothing")


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"record": {}}', "text/plain", 415, "unsupported_media_type"),
        (b'{"record": {"sepal_length": 1e400}}', "application/json", 400, "invalid_body"),
        (b'{"record": {"sepal_length": -Infinity}}', "application/json", 400, "invalid_body"),
        (
            b'{"record": {"sepal_length": 1' + b"0" * 400 + b"}}",
            "application/json",
            400,
            "invalid_body",
        ),
        (b'{"record": {"sepal_length": "1e400"}}', "application/json", 422, "invalid_type"),
        (b"\xff\xfe", "text/csv", 400, "invalid_body"),
    ],
    ids=["content-type", "huge-float", "infinity", "huge-int", "huge-string", "csv-not-utf8"],
)
def test_numbers_and_media_types_json_cannot_carry(service, body, content_type, status, code):
    got, error, _ = call(service, "POST", PREDICT, body, content_type)
    assert (got, error["error"]["code"]) == (status, code)


def test_an_unknown_category_is_an_error_of_its_field(service):
    _port, store = service
    store.publish("loans", (GOLDEN / "logistic_mixed" / "model.pmml").read_bytes(), CARD)
    call(service, "POST", "/v1/admin/reload")
    record = {"color": "mauve", "region": "west", "age": 40, "income": 50.0, "score": 0.5}
    status, body, _ = call(service, "POST", "/v1/models/loans/predict", {"record": record})
    assert (status, body["error"]["field"], body["error"]["code"]) == (
        422,
        "color",
        "invalid_value",
    )


def test_a_100_mb_body_is_refused_before_it_is_read(service):
    port, _ = service
    with socket.create_connection(("127.0.0.1", int(port)), timeout=30) as sock:
        head = (
            f"POST {PREDICT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {100 << 20}\r\n\r\n"
        )
        sock.sendall(head.encode() + b"[" * 65536)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = json.loads(response.read())
    assert (response.status, body["error"]["code"]) == (413, "payload_too_large")
    assert call(service, "GET", "/healthz")[0] == 200


def test_a_million_records_are_refused_with_a_clear_message(service):
    status, body, _ = call(service, "POST", PREDICT, {"records": [{}] * 1_000_000})
    assert status == 413
    assert body["error"]["message"] == (
        "The request has 1000000 records; at most 10000 are allowed per request."
    )


def test_metrics_count_requests_errors_rows_and_latency(service):
    call(service, "POST", PREDICT, {"records": [SETOSA, SETOSA, BAD]})
    call(service, "POST", "/v1/models/nope/predict", {"record": {}})
    status, text, response = call(service, "GET", "/metrics")
    assert status == 200 and response.getheader("Content-Type").startswith("text/plain")
    samples = _samples(text)
    assert samples['pmmlkit_rows_scored_total{model="iris",version="1"}'] >= 3
    assert samples['pmmlkit_row_errors_total{code="out_of_range",model="iris",version="1"}'] >= 1
    assert samples['pmmlkit_errors_total{code="model_not_found"}'] >= 1
    assert samples['pmmlkit_predict_duration_seconds_count{model="iris",version="1"}'] >= 1
    route = 'pmmlkit_requests_total{route="/v1/models/<name>/predict",status="200"}'
    assert samples[route] >= 1


def _samples(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_requests_that_wait_for_a_thread_are_counted_not_logged_one_by_one(tmp_path, caplog):
    ModelStore(tmp_path).publish("iris", (GOLDEN / "multiclass" / "model.pmml").read_bytes(), CARD)
    caplog.set_level(logging.INFO)
    body = {"records": [SETOSA] * 1000}
    with Service(Settings(store=tmp_path, port=0, threads=1)).start() as running:
        service = (running.port, None)
        with ThreadPoolExecutor(8) as pool:  # 8 connections at once for one request thread
            statuses = list(pool.map(lambda _: call(service, "POST", PREDICT, body)[0], range(48)))
        assert statuses == [200] * 48
        samples = _samples(call(service, "GET", "/metrics")[1])
    assert samples["pmmlkit_requests_waited_total"] >= 1
    assert not [r for r in caplog.records if r.name.startswith("waitress")]


def test_every_request_gets_one_json_access_log_line(tmp_path):
    (tmp_path / "store").mkdir()
    ModelStore(tmp_path / "store").publish(
        "iris", (GOLDEN / "multiclass" / "model.pmml").read_bytes(), CARD
    )
    access = tmp_path / "access.log"
    settings = Settings(store=tmp_path / "store", port=0, access_log=str(access))
    started = time.time()
    with Service(settings).start() as running:
        service = (running.port, None)
        _status, _, response = call(
            service, "POST", PREDICT, {"records": [SETOSA] * 3}, headers={"X-Request-Id": "abc-123"}
        )
        assert response.getheader("X-Request-Id") == "abc-123"
        call(service, "GET", "/no/such/page")
        for _ in range(20):
            call(service, "GET", "/healthz")
    lines = [json.loads(line) for line in access.read_text().splitlines()]  # closed: all written
    assert len(lines) == 22
    scored = next(line for line in lines if line["request_id"] == "abc-123")
    assert {k: scored[k] for k in ("method", "path", "status", "model", "version", "rows")} == {
        "method": "POST",
        "path": PREDICT,
        "status": 200,
        "model": "iris",
        "version": 1,
        "rows": 3,
    }
    assert scored["duration_ms"] > 0
    assert any(line["status"] == 404 and line["error"] == "not_found" for line in lines)
    made = [line["request_id"] for line in lines if line["request_id"] != "abc-123"]
    assert all(re.fullmatch("[0-9a-f]{32}", rid) for rid in made)
    assert len(set(made)) == len(made) == 21
    # UUIDv7: the time of the request first (the prediction log's index appends), then random
    ids = [uuid.UUID(rid) for rid in made]
    assert {(i.version, i.variant) for i in ids} == {(7, uuid.RFC_4122)}
    made_ms = [i.int >> 80 for i in ids]
    assert int(started * 1000) <= min(made_ms) and max(made_ms) <= time.time() * 1000
    assert made_ms == sorted(made_ms)


_SCORING_REQUESTS = [
    ("/v1/models/iris/predict", "", "application/json", {"record": SETOSA, "key": "k1"}),
    ("/v1/models/iris/predict", "", "application/json", {"records": [SETOSA, BAD, {"x": 1}]}),
    ("/v1/models/iris/predict", "", "application/json", {"columns": {"sepal_length": [5.1]}}),
    ("/v1/models/iris/predict", "", "text/csv; charset=utf-8", "sepal_length,petal_width\n5,9\n"),
    ("/v1/models/iris/predict", "", "application/json", {"record": BAD}),
    ("/v1/models/iris/predict", "", "application/json", {"record": {**SETOSA, "colour": "red"}}),
    ("/v1/models/iris/predict", "", "application/json", {"records": [SETOSA], "key": 1}),
    ("/v1/models/iris/predict", "all_or_nothing=true", "application/json", {"records": [BAD]}),
    ("/v1/models/iris/predict", "all_or_nothing=maybe", "application/json", {"record": SETOSA}),
    ("/v1/models/iris/predict", "", "application/xml", "<record/>"),
    ("/v1/models/iris/predict", "", "application/json", "{not json"),
    ("/v1/models/iris/predict", "", "application/json", ""),
    ("/v1/models/iris/versions/1/predict", "", "application/json", {"record": SETOSA}),
    ("/v1/models/iris/versions/-3/predict", "", "application/json", {"record": SETOSA}),
    ("/v1/models/iris/aliases/production/predict", "", "application/json", {"record": SETOSA}),
    ("/v1/models/iris/aliases/nope/predict", "", "application/json", {"record": SETOSA}),
    ("/v1/models/rose/predict", "", "application/json", {"record": SETOSA}),
]


@pytest.mark.parametrize(("path", "query", "content_type", "body"), _SCORING_REQUESTS)
def test_scoring_requests_answer_as_the_bottle_routes_do(tmp_path, path, query, content_type, body):
    """Scoring requests skip Bottle (app._Scoring); the Bottle routes, which still take what
    that does not, must give the same answers, errors included."""
    store = ModelStore(tmp_path)
    store.publish("iris", (GOLDEN / "multiclass" / "model.pmml").read_bytes(), CARD)
    store.set_alias("iris", "production", 1)
    scoring = create_app(Settings(store=tmp_path, unknown_fields="reject")).app
    data = (body if isinstance(body, str) else json.dumps(body)).encode()
    answers = []
    for app in (scoring, scoring.app):  # app._Scoring, then the Bottle app behind it
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "pmmlkit.request_id": "r-1",
        }
        wsgiref.util.setup_testing_defaults(environ)
        started = []
        out = b"".join(app(environ, lambda *answer, started=started: started.append(answer)))
        ((status, headers, *_),) = started
        facts = environ["pmmlkit.note"]  # what the metrics and the prediction log get
        facts = {k: v for k, v in facts.items() if k != "scored"} | {"scored": "scored" in facts}
        answers.append((status, dict(headers), out, facts, environ["bottle.route"].rule))
    assert answers[0] == answers[1]
    assert answers[0][0].startswith(("200 ", "4"))


def test_small_scoring_requests_are_answered_while_the_request_thread_is_busy(tmp_path):
    """Single records are served on the I/O thread (Settings.inline_max_bytes): with the one
    request thread scoring a long batch, they are still answered, and never wait for it."""
    ModelStore(tmp_path).publish("iris", (GOLDEN / "multiclass" / "model.pmml").read_bytes(), CARD)
    settings = Settings(store=tmp_path, port=0, threads=1, max_records=200_000)
    with Service(settings).start() as running:
        service = (running.port, None)
        assert call(service, "POST", PREDICT, {"record": SETOSA})[0] == 200  # loads the model
        with ThreadPoolExecutor(1) as pool:
            columns = {name: [value] * 200_000 for name, value in SETOSA.items()}
            batch = pool.submit(call, service, "POST", PREDICT, {"columns": columns})
            time.sleep(0.2)  # the batch is on the request thread by now
            answered = 0
            while not batch.done():
                assert call(service, "POST", PREDICT, {"record": SETOSA})[0] == 200
                answered += 1
            assert batch.result()[0] == 200
        samples = _samples(call(service, "GET", "/metrics")[1])
    print(f"{answered} single records answered during the batch")
    assert answered >= 10
    assert samples["pmmlkit_requests_waited_total"] == 0


def test_pipelined_requests_are_answered_in_order(service):
    """Requests sent back to back on one connection, before any answer: small scoring requests
    (served on the I/O thread), a large one and a GET (on a request thread), answered in order."""
    port, _ = service
    small = json.dumps({"record": SETOSA}).encode()
    large = json.dumps({"records": [SETOSA] * 2000}).encode()
    requests = [("POST", PREDICT, small), ("POST", PREDICT, large), ("GET", "/healthz", b"")]
    requests += [("POST", PREDICT, json.dumps({"record": BAD}).encode()), requests[0]]
    with socket.create_connection(("127.0.0.1", int(port)), timeout=30) as sock:
        sock.sendall(
            b"".join(
                f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
                for method, path, body in requests
            )
        )
        answers = list(_answers(sock, len(requests)))
    assert [status for status, _ in answers] == [200, 200, 200, 422, 200]
    assert answers[0][1]["result"]["species"] == "setosa"
    assert len(answers[1][1]["results"]) == 2000
    assert answers[2][1] == {"status": "ok"}
    assert answers[3][1]["error"]["errors"][0]["field"] == "petal_width"


def _answers(sock: socket.socket, count: int):
    """The status and JSON body of ``count`` answers read from one stream (an HTTPResponse per
    answer would each buffer the socket on its own, losing the next answer's first bytes)."""
    stream = sock.makefile("rb")
    for _ in range(count):
        status = int(stream.readline().split()[1])
        headers = {}
        while (line := stream.readline()) not in (b"\r\n", b""):
            name, value = line.decode("latin-1").split(":", 1)
            headers[name.lower()] = value.strip()
        yield status, json.loads(stream.read(int(headers["content-length"])))
