"""Admin calls over HTTP: upload, alias, archive; token rules; hostile uploads change nothing."""

from __future__ import annotations

import gzip
from contextlib import contextmanager
from dataclasses import replace

import pytest

from pmmlkit.scoring.server import Service
from pmmlkit.scoring.settings import Settings
from pmmlkit.scoring.store import ModelStore

from .golden_cases import GOLDEN
from .test_service import SETOSA, call

PMML = (GOLDEN / "multiclass" / "model.pmml").read_bytes()
TOKEN = "s3cret-token-for-tests"
XML = "application/xml"


@contextmanager
def running(settings: Settings):
    with Service(settings).start() as service:
        yield service.port


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path)


@pytest.fixture
def open_service(store):
    with running(Settings(store=store.root, port=0)) as port:
        yield port, store


def files(store) -> dict:
    return {p: p.read_bytes() for p in store.root.rglob("*") if p.is_file() and p.name != ".lock"}


def test_upload_verifies_publishes_and_serves(open_service):
    status, body, _ = call(
        open_service, "PUT", "/v1/models/iris?description=uploaded", PMML, "application/xml"
    )
    assert status == 201 and body["version"] == 1
    assert body["card"]["description"] == "uploaded" and body["card"]["target"]["classes"] == [
        "setosa",
        "versicolor",
        "virginica",
    ]
    status, body, _ = call(
        open_service, "PUT", "/v1/models/iris", gzip.compress(PMML), "application/gzip"
    )
    assert status == 201 and body["card"]["pmml"]["file"] == "model.pmml.gz"
    status, body, _ = call(open_service, "POST", "/v1/models/iris/predict", {"record": SETOSA})
    assert (status, body["version"], body["result"]["species"]) == (200, 2, "setosa")


def test_aliases_move_and_archive_keeps_files(open_service):
    for _ in range(2):
        call(open_service, "PUT", "/v1/models/iris", PMML, "application/xml")
    status, body, _ = call(
        open_service, "PUT", "/v1/models/iris/aliases/production", {"version": 1}
    )
    assert (status, body["aliases"]) == (200, {"production": 1})
    assert (
        call(open_service, "POST", "/v1/models/iris/predict", {"record": SETOSA})[1]["version"] == 1
    )
    status, body, _ = call(open_service, "POST", "/v1/models/iris/versions/1/archive")
    assert (status, body["error"]["code"]) == (409, "version_in_use")
    status, body, _ = call(open_service, "POST", "/v1/models/iris/versions/2/archive")
    assert (status, body["versions"]) == (200, [1])
    status, body, _ = call(
        open_service, "PUT", "/v1/models/iris/aliases/production", {"version": "2"}
    )
    assert (status, body["error"]["code"]) == (400, "invalid_body")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not xml at all", "invalid_pmml"),
        (PMML[: len(PMML) // 2], "invalid_pmml"),
        (
            PMML.replace(b"?>", b'?><!DOCTYPE PMML [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 1),
            "invalid_pmml",
        ),
        (
            PMML.replace(
                b"?>", b'?><!DOCTYPE PMML [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>', 1
            ),
            "invalid_pmml",
        ),
        (b"", "invalid_pmml"),
        (
            PMML.replace(b"<data:probability_setosa>", b"<data:probability_setosa>0.5", 1),
            "verification_failed",
        ),
    ],
    ids=["not-xml", "truncated", "xxe", "nested-entities", "empty", "failed-verification"],
)
def test_hostile_or_broken_uploads_are_refused_and_change_nothing(open_service, body, code):
    _, store = open_service
    before = files(store)
    status, answer, _ = call(open_service, "PUT", "/v1/models/iris", body, "application/xml")
    assert (status, answer["error"]["code"]) == (422, code)
    assert (
        "passwd" not in answer["error"]["message"]
        or code != "invalid_pmml"
        or "DOCTYPE" in answer["error"]["message"]
    )
    assert files(store) == before


def test_a_configured_token_is_required(store):
    with running(Settings(store=store.root, port=0, admin_token=TOKEN)) as port:
        service = (port, store)
        refusals = [
            ({}, (401, "unauthorized")),
            ({"Authorization": "Bearer wrong-token-wrong-token"}, (403, "forbidden")),
        ]
        for headers, expected in refusals:
            status, body, _ = call(service, "PUT", "/v1/models/iris", PMML, XML, headers=headers)
            assert (status, body["error"]["code"]) == expected
        status, _, _ = call(
            service,
            "PUT",
            "/v1/models/iris",
            PMML,
            XML,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert status == 201
    assert store.versions("iris") == [1]


def test_without_a_token_admin_calls_are_refused_off_loopback(store):
    settings = replace(Settings(store=store.root, port=0), host="0.0.0.0")
    with running(settings) as port:  # the test server itself still listens on 127.0.0.1 only
        status, body, _ = call((port, store), "PUT", "/v1/models/iris", PMML, "application/xml")
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert "no admin token is set" in body["error"]["message"]
    assert store.names() == []
