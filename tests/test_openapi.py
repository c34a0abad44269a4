"""/openapi.json against the live service: a valid OpenAPI 3.1 document, one operation per route,
and every real answer (status, media type, JSON body) as the document declares it."""

from __future__ import annotations

import re

import jsonschema
import openapi_spec_validator
import pytest
import referencing
import referencing.jsonschema

from pmmlkit.scoring.app import create_app
from pmmlkit.scoring.server import Service
from pmmlkit.scoring.settings import Settings
from pmmlkit.scoring.store import ModelStore

from .golden_cases import GOLDEN
from .test_service import CARD, SETOSA, call

IRIS = (GOLDEN / "multiclass" / "model.pmml").read_bytes()
FOREST = (GOLDEN / "forest" / "model.pmml").read_bytes()  # over the 64 KiB body limit
XML = "application/xml"
JSON = "application/json"
BAD = {**SETOSA, "petal_width": "wide"}
SETTINGS = {"port": 0, "max_body_bytes": 64 * 1024, "max_records": 500}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    store = ModelStore(root)
    for name in ("multiclass", "multiclass", "archivable", "archivable", "os_replace", "os_gone"):
        store.publish(name, IRIS, CARD)
    store.set_alias("multiclass", "production", 1)
    with Service(Settings(store=root, **SETTINGS)).start() as running:
        yield running.port, store


@pytest.fixture(scope="module")
def document(service):
    status, body, _ = call(service, "GET", "/openapi.json")
    assert status == 200
    return body


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    openapi_spec_validator.validate(document)


def test_the_document_names_every_route_and_nothing_else(document, tmp_path):
    app = create_app(Settings(store=tmp_path, **SETTINGS)).app.app  # Observed, _Scoring, Bottle
    routed = {(r.method, re.sub(r"<(\w+)(:[^>]*)?>", r"{\1}", r.rule)) for r in app.routes}
    documented = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert routed == documented


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def check(service, document, method, template, path, body=None, content_type=JSON):
    """Calls ``path``; the status must be declared for (template, method), the media type among
    those declared for it, and a JSON body valid against its schema. Returns status, body."""
    status, answer, response = call(service, method, path, body, content_type)
    responses = document["paths"][template][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path}: {status} not declared: {answer}"
    media = response.getheader("Content-Type", "").split(";")[0].strip()
    assert media in responses[str(status)].get("content", {}), f"{media} not declared"
    if media == JSON:
        where = _pointer("paths", template, method.lower(), "responses", str(status))
        schema = {"$ref": f"urn:doc#/{where}/content/{_pointer(JSON)}/schema"}
        resource = referencing.jsonschema.DRAFT202012.create_resource(document)
        registry = referencing.Registry().with_resource("urn:doc", resource)
        jsonschema.Draft202012Validator(schema, registry=registry).validate(answer)
    return status, answer


V1 = "/v1/models/{name}"
PREDICT = V1 + "/predict"
OS = "/model/{id}"
CASES = [
    ("GET", "/healthz", "/healthz", None, JSON, 200),
    ("GET", "/readyz", "/readyz", None, JSON, 200),
    ("GET", "/metrics", "/metrics", None, JSON, 200),
    ("GET", "/v1/models", "/v1/models", None, JSON, 200),
    ("GET", V1, "/v1/models/multiclass", None, JSON, 200),
    ("GET", V1, "/v1/models/nope", None, JSON, 404),
    ("GET", V1 + "/versions/{version}", "/v1/models/multiclass/versions/2", None, JSON, 200),
    ("GET", V1 + "/versions/{version}", "/v1/models/multiclass/versions/9", None, JSON, 404),
    ("POST", PREDICT, "/v1/models/multiclass/predict", {"record": SETOSA}, JSON, 200),
    ("POST", PREDICT, "/v1/models/multiclass/predict", {"records": [SETOSA, BAD]}, JSON, 200),
    ("POST", PREDICT, "/v1/models/multiclass/predict", {"columns": {"petal_width": [0.2]}}, JSON, 200),
    ("POST", PREDICT, "/v1/models/multiclass/predict", {"record": {**SETOSA, "x": 1}}, JSON, 200),
    ("POST", PREDICT, "/v1/models/multiclass/predict", "sepal_length\n5.1\n", "text/csv", 200),
    ("POST", PREDICT, "/v1/models/nope/predict", {"record": SETOSA}, JSON, 404),
    ("POST", PREDICT, "/v1/models/multiclass/predict", {"record": BAD}, JSON, 422),
    ("POST", PREDICT, "/v1/models/multiclass/predict?all_or_nothing=1", {"records": [BAD]}, JSON, 422),
    ("POST", PREDICT, "/v1/models/multiclass/predict?all_or_nothing=maybe", {"record": SETOSA}, JSON, 400),
    ("POST", PREDICT, "/v1/models/multiclass/predict", "{not json", JSON, 400),
    ("POST", PREDICT, "/v1/models/multiclass/predict", {"records": [{}] * 501}, JSON, 413),
    ("POST", PREDICT, "/v1/models/multiclass/predict", {"record": {"x": "y" * 70_000}}, JSON, 413),
    ("POST", PREDICT, "/v1/models/multiclass/predict", "5.1", "text/plain", 415),
    ("POST", V1 + "/versions/{version}/predict", "/v1/models/multiclass/versions/2/predict", {"record": SETOSA}, JSON, 200),
    ("POST", V1 + "/versions/{version}/predict", "/v1/models/multiclass/versions/9/predict", {"record": SETOSA}, JSON, 404),
    ("POST", V1 + "/aliases/{alias}/predict", "/v1/models/multiclass/aliases/production/predict", {"record": SETOSA}, JSON, 200),
    ("POST", V1 + "/aliases/{alias}/predict", "/v1/models/multiclass/aliases/nope/predict", {"record": SETOSA}, JSON, 404),
    ("PUT", V1, "/v1/models/uploaded?description=up", IRIS, XML, 201),
    ("PUT", V1, "/v1/models/Bad%20Name", IRIS, XML, 400),
    ("PUT", V1, "/v1/models/broken", b"<PMML/>", XML, 422),
    ("PUT", V1, "/v1/models/big", FOREST, XML, 413),
    ("PUT", V1 + "/aliases/{alias}", "/v1/models/multiclass/aliases/production", {"version": 1}, JSON, 200),
    ("PUT", V1 + "/aliases/{alias}", "/v1/models/multiclass/aliases/production", {"version": "1"}, JSON, 400),
    ("PUT", V1 + "/aliases/{alias}", "/v1/models/multiclass/aliases/production", {"version": 9}, JSON, 404),
    ("POST", V1 + "/versions/{version}/archive", "/v1/models/archivable/versions/1/archive", None, JSON, 200),
    ("POST", V1 + "/versions/{version}/archive", "/v1/models/multiclass/versions/1/archive", None, JSON, 409),
    ("POST", V1 + "/versions/{version}/archive", "/v1/models/multiclass/versions/9/archive", None, JSON, 404),
    ("POST", "/v1/admin/reload", "/v1/admin/reload", None, JSON, 200),
    ("GET", "/openapi.json", "/openapi.json", None, JSON, 200),
    ("GET", "/model", "/model", None, JSON, 200),
    ("GET", OS, "/model/multiclass", None, JSON, 200),
    ("GET", OS, "/model/nope", None, JSON, 404),
    ("PUT", OS, "/model/os_new", IRIS, XML, 201),
    ("PUT", OS, "/model/os_replace", IRIS, XML, 200),
    ("PUT", OS, "/model/os_broken", b"<PMML/>", XML, 400),
    ("PUT", OS, "/model/os_big", FOREST, XML, 413),
    ("POST", OS, "/model/multiclass", {"id": "r1", "arguments": SETOSA}, JSON, 200),
    ("POST", OS, "/model/multiclass", {"id": "r1", "arguments": BAD}, JSON, 400),
    ("POST", OS, "/model/multiclass", {"id": "r1", "arguments": {"x": "y" * 70_000}}, JSON, 413),
    ("POST", OS, "/model/nope", {"id": "r1", "arguments": SETOSA}, JSON, 404),
    ("POST", OS + "/batch", "/model/multiclass/batch", {"id": "b", "requests": [{"id": "r1", "arguments": SETOSA}, {"id": "r2", "arguments": BAD}]}, JSON, 200),
    ("POST", OS + "/batch", "/model/multiclass/batch", {"requests": "r1"}, JSON, 400),
    ("POST", OS + "/batch", "/model/multiclass/batch", {"requests": [{}] * 501}, JSON, 413),
    ("POST", OS + "/batch", "/model/nope/batch", {"requests": []}, JSON, 404),
    ("POST", OS + "/csv", "/model/multiclass/csv", "id,sepal_length,sepal_width,petal_length,petal_width\n1,5.1,3.5,1.4,0.2\n", "text/csv", 200),
    ("POST", OS + "/csv", "/model/nope/csv", "a,b\n1,2\n", "text/csv", 404),
    ("GET", OS + "/pmml", "/model/multiclass/pmml", None, JSON, 200),
    ("GET", OS + "/pmml", "/model/nope/pmml", None, JSON, 404),
    ("DELETE", OS, "/model/os_gone", None, JSON, 200),
    ("DELETE", OS, "/model/nope", None, JSON, 404),
]  # fmt: skip


def _params(cases):
    return [pytest.param(*c, id=f"{c[0]} {c[2].split('?')[0]} {c[5]}") for c in cases]


@pytest.mark.parametrize("method, template, path, body, content_type, expected", _params(CASES))
def test_each_answer_is_what_the_document_declares(
    service, document, method, template, path, body, content_type, expected
):
    status, _ = check(service, document, method, template, path, body, content_type)
    assert status == expected


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """A service whose one model's default version fails to load (its PMML damaged)."""
    root = tmp_path_factory.mktemp("broken")
    ModelStore(root).publish("broken", IRIS, CARD)
    (root / "broken" / "1" / "model.pmml").write_bytes(b"<PMML/>")
    with Service(Settings(store=root, **SETTINGS)).start() as running:
        yield running.port, None


BROKEN = [
    ("GET", "/readyz", "/readyz", None, JSON, 503),
    ("GET", V1, "/v1/models/broken", None, JSON, 503),
    ("POST", PREDICT, "/v1/models/broken/predict", {"record": SETOSA}, JSON, 503),
    ("GET", OS, "/model/broken", None, JSON, 503),
    ("POST", OS, "/model/broken", {"arguments": SETOSA}, JSON, 503),
    ("GET", V1 + "/versions/{version}", "/v1/models/broken/versions/1", None, JSON, 500),
]


@pytest.mark.parametrize("method, template, path, body, content_type, expected", _params(BROKEN))
def test_a_model_that_failed_to_load_answers_as_declared(
    broken, document, method, template, path, body, content_type, expected
):
    status, _ = check(broken, document, method, template, path, body, content_type)
    assert status == expected
