"""The HTTP service against a live waitress on 127.0.0.1, port 0, with a real HTTP client."""

from __future__ import annotations

import http.client
import json

import pytest

from pmmlkit.scoring.server import Service
from pmmlkit.scoring.settings import Settings
from pmmlkit.scoring.store import ModelStore

from .golden_cases import GOLDEN, conflicts, read_expected, read_input

CARD = {
    "created_by": "tests",
    "description": "iris for service tests",
    "algorithm": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {}},
    "input_schema": [],
    "target": {"name": "species", "kind": "classification"},
    "library_versions": {},
}
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    store = ModelStore(root)
    for case in ("multiclass", "logistic_mixed"):
        store.publish(case, (GOLDEN / case / "model.pmml").read_bytes(), CARD)
    store.publish("multiclass", (GOLDEN / "multiclass" / "model.pmml").read_bytes(), CARD)
    store.set_alias("multiclass", "production", 1)
    settings = Settings(store=root, port=0, max_body_bytes=64 * 1024, max_records=500)
    with Service(settings).start() as running:
        yield running.port, store


def call(service, method, path, body=None, content_type="application/json", headers=None):
    port, _ = service
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    connection.request(
        method, path, body=data, headers={"Content-Type": content_type, **(headers or {})}
    )
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    is_json = response.getheader("Content-Type", "").startswith("application/json")
    return response.status, json.loads(text) if is_json else text, response


def test_health_and_readiness(service):
    assert call(service, "GET", "/healthz")[:2] == (200, {"status": "ok"})
    status, body, _ = call(service, "GET", "/readyz")
    assert (status, body["status"], body["failures"]) == (200, "ready", {})
    assert body["models"]["multiclass"] == {
        "serving": {"default": 1, "production": 1},
        "failures": {},
    }
    assert body["prediction_log"]["state"] == "ok" and body["prediction_log"]["last_error"] is None


def test_list_models_with_versions_and_aliases(service):
    status, body, _ = call(service, "GET", "/v1/models")
    assert status == 200
    iris = next(m for m in body["models"] if m["name"] == "multiclass")
    assert (
        iris["versions"] == [1, 2]
        and iris["aliases"] == {"production": 1}
        and iris["default_version"] == 1
    )


def test_describe_gives_the_card_and_the_schema(service):
    status, body, _ = call(service, "GET", "/v1/models/multiclass/versions/2")
    assert (
        status == 200
        and body["version"] == 2
        and body["card"]["description"] == "iris for service tests"
    )
    inputs = {f["name"]: f for f in body["schema"]["inputs"]}
    assert inputs["petal_width"] == {
        "name": "petal_width",
        "type": "double",
        "op_type": "continuous",
        "missing_allowed": False,
        "intervals": [[0.1, 2.5, True, True]],
    }
    assert body["schema"]["outputs"][0]["name"] == "species"


def test_one_record_is_scored_by_the_default_version(service):
    status, body, response = call(
        service,
        "POST",
        "/v1/models/multiclass/predict",
        {"record": SETOSA},
        headers={"X-Request-Id": "abc-1"},
    )
    assert status == 200 and body["version"] == 1 and body["request_id"] == "abc-1"
    assert body["result"]["species"] == "setosa"
    assert response.getheader("X-Model-Version") == "1"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/models/multiclass/versions/2/predict",
        "/v1/models/multiclass/aliases/production/predict",
    ],
)
def test_versions_and_aliases_can_be_named(service, path):
    status, body, _ = call(service, "POST", path, {"record": SETOSA})
    assert status == 200 and body["version"] == (2 if "versions" in path else 1)


def test_records_and_columns_match_scikit_learn(service):
    frame = read_input("logistic_mixed", _model(service, "logistic_mixed"))
    records = json.loads(frame.to_json(orient="records"))
    status, body, _ = call(
        service, "POST", "/v1/models/logistic_mixed/predict", {"records": records}
    )
    assert status == 200 and body["errors"] == []
    columns = {name: [r[name] for r in body["results"]] for name in body["results"][0]}
    assert conflicts("logistic_mixed", read_expected("logistic_mixed"), columns) == []
    status, body, _ = call(
        service,
        "POST",
        "/v1/models/logistic_mixed/predict",
        {"columns": {name: [r[name] for r in records] for name in frame.columns}},
    )
    assert (
        status == 200
        and conflicts("logistic_mixed", read_expected("logistic_mixed"), body["columns"]) == []
    )


def _model(service, name):
    from pmmlkit.scoring.engine import Model

    return Model.load_file(GOLDEN / name / "model.pmml", Settings())


def test_csv_in_gives_csv_out(service):
    text = (GOLDEN / "multiclass" / "input.csv").read_text()
    status, body, response = call(
        service, "POST", "/v1/models/multiclass/predict", text, "text/csv"
    )
    assert status == 200 and response.getheader("Content-Type").startswith("text/csv")
    lines = body.splitlines()
    assert lines[0] == "species,probability(setosa),probability(versicolor),probability(virginica)"
    assert len(lines) == 151


def test_a_bad_record_in_a_batch_gets_its_own_error(service):
    records = [SETOSA, {**SETOSA, "petal_width": 9.0}, "nope", SETOSA]
    status, body, _ = call(service, "POST", "/v1/models/multiclass/predict", {"records": records})
    assert status == 200
    assert [r is None for r in body["results"]] == [False, True, True, False]
    assert body["errors"] == [
        {
            "index": 1,
            "field": "petal_width",
            "code": "out_of_range",
            "message": "Field 'petal_width' must be within [0.1, 2.5]; got 9.0.",
        },
        {
            "index": 2,
            "field": None,
            "code": "invalid_record",
            "message": "A record must be an object of field values; got str.",
        },
    ]


def test_records_columns_and_csv_answers_carry_the_same_values(service):
    # Each answer is built column-wise; all three must say what result.records() says.
    rows = [SETOSA, {**SETOSA, "petal_width": 9.0}, {**SETOSA, "sepal_length": None}] * 20
    path = "/v1/models/multiclass/predict"
    _, by_records, _ = call(service, "POST", path, {"records": rows})
    columns = {name: [r[name] for r in rows] for name in SETOSA}
    _, by_columns, _ = call(service, "POST", path, {"columns": columns})
    assert by_records["errors"] == by_columns["errors"] and len(by_records["errors"]) == 40
    names = list(by_columns["columns"])
    expected = [
        None
        if any(e["index"] == row for e in by_records["errors"])
        else dict(zip(names, values, strict=True))
        for row, values in enumerate(zip(*by_columns["columns"].values(), strict=True))
    ]
    assert by_records["results"] == expected
    text = "\n".join(
        [",".join(SETOSA)]
        + [",".join(str(r[n] if r[n] is not None else "") for n in SETOSA) for r in rows]
    )
    _, by_csv, _ = call(service, "POST", path, text, "text/csv")
    lines = by_csv.splitlines()
    assert lines[0].split(",") == names
    for line, result in zip(lines[1:], expected, strict=True):
        cells = line.split(",")
        if result is None:
            assert cells == [""] * len(names)
        else:
            assert cells[0] == result[names[0]]
            assert [float(c) for c in cells[1:]] == [result[n] for n in names[1:]]


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status", "expected"),
    [
        ("/v1/models/multiclass/predict", b"{not json", "application/json", 400, "invalid_body"),
        ("/v1/models/multiclass/predict", b"", "application/json", 400, "invalid_body"),
        ("/v1/models/multiclass/predict", b"[1, 2]", "application/json", 400, "invalid_body"),
        (
            "/v1/models/multiclass/predict",
            b'{"record": {"sepal_length": NaN}}',
            "application/json",
            400,
            "invalid_body",
        ),
        (
            "/v1/models/multiclass/predict",
            b'{"record": [1]}',
            "application/json",
            422,
            "invalid_record",
        ),
        (
            "/v1/models/multiclass/predict",
            b'{"record": {"sepal_length": "x"}}',
            "application/json",
            422,
            "invalid_type",
        ),
        ("/v1/models/nope/predict", b'{"record": {}}', "application/json", 404, "model_not_found"),
        (
            "/v1/models/multiclass/versions/9/predict",
            b'{"record": {}}',
            "application/json",
            404,
            "version_not_found",
        ),
        (
            "/v1/models/multiclass/aliases/canary/predict",
            b'{"record": {}}',
            "application/json",
            404,
            "alias_not_found",
        ),
        ("/v1/models/..%2Fx/predict", b'{"record": {}}', "application/json", 404, "not_found"),
        ("/v1/models/a..b/predict", b'{"record": {}}', "application/json", 400, "invalid_name"),
        (
            "/v1/models/multiclass/predict",
            b"x" * (64 * 1024 + 1),
            "application/json",
            413,
            "payload_too_large",
        ),
        (
            "/v1/models/multiclass/predict",
            json.dumps({"records": [{}] * 501}).encode(),
            "application/json",
            413,
            "payload_too_large",
        ),
    ],
    ids=[
        "malformed",
        "empty",
        "list",
        "nan",
        "record-list",
        "string-number",
        "unknown-model",
        "unknown-version",
        "unknown-alias",
        "slash",
        "dots",
        "huge-body",
        "too-many-records",
    ],
)
def test_bad_requests_get_a_4xx_and_the_json_error_body(
    service, path, body, content_type, status, expected
):
    got_status, got, _ = call(service, "POST", path, body, content_type)
    assert (got_status, got["error"]["code"]) == (status, expected)
    assert got["error"]["message"]
    assert call(service, "GET", "/healthz")[0] == 200


def test_bottle_errors_use_the_same_body(service):
    status, body, response = call(service, "GET", "/nope")
    assert (status, body) == (
        404,
        {
            "error": {
                "code": "not_found",
                "message": "No endpoint GET /nope.",
                "request_id": response.getheader("X-Request-Id"),
            }
        },
    )
    status, body, _ = call(service, "DELETE", "/healthz")
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")


def test_a_damaged_version_fails_readiness_but_others_serve(service):
    _, store = service
    store.publish("broken", (GOLDEN / "forest" / "model.pmml").read_bytes(), CARD)
    store.pmml_path("broken", 1).write_bytes(b"<PMML/>")
    assert call(service, "POST", "/v1/admin/reload")[0] == 200
    status, body, _ = call(service, "GET", "/readyz")
    assert status == 503 and "checksum_mismatch" in body["failures"]["broken"]
    assert call(service, "POST", "/v1/models/multiclass/predict", {"record": SETOSA})[0] == 200
