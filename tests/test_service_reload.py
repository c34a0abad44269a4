"""Hot reload: what another writer puts in the store is served without a restart; a version that
fails to load leaves the previous one serving."""

from __future__ import annotations

import logging
import time

import pytest

from pmmlkit.scoring.registry import Registry
from pmmlkit.scoring.server import Service
from pmmlkit.scoring.settings import Settings
from pmmlkit.scoring.store import ModelStore

from .golden_cases import GOLDEN
from .test_service import CARD, SETOSA, call

IRIS = (GOLDEN / "multiclass" / "model.pmml").read_bytes()


@pytest.fixture
def polled(tmp_path):
    store = ModelStore(tmp_path)
    store.publish("iris", IRIS, CARD)
    with Service(Settings(store=tmp_path, port=0, reload_interval=0.1)).start() as service:
        yield (service.port, store), store


def _eventually(check, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def _served_version(service) -> int:
    return call(service, "POST", "/v1/models/iris/predict", {"record": SETOSA})[1]["version"]


def test_a_version_written_by_another_process_is_picked_up(polled):
    service, store = polled
    assert _served_version(service) == 1
    store.publish("iris", IRIS, CARD)
    assert _eventually(lambda: _served_version(service) == 2)
    store.set_alias("iris", "production", 1)
    assert _eventually(lambda: _served_version(service) == 1)
    store.publish("tulip", IRIS, CARD)
    assert _eventually(lambda: call(service, "GET", "/v1/models/tulip")[0] == 200)


def test_a_broken_version_leaves_the_previous_one_serving(polled, caplog):
    service, store = polled
    caplog.set_level(logging.ERROR, logger="pmmlkit.scoring.registry")
    store.publish("iris", IRIS, CARD)
    store.pmml_path("iris", 2).write_bytes(IRIS.replace(b"setosa", b"setosb"))
    ready = _eventually(lambda: call(service, "GET", "/readyz")[0] == 503)
    assert ready
    body = call(service, "GET", "/readyz")[1]
    assert body["models"]["iris"]["serving"] == {"default": 1}
    assert "version 2: checksum_mismatch" in body["failures"]["iris"]
    assert _served_version(service) == 1
    assert any("version 1 keeps serving" in r.getMessage() for r in caplog.records)
    status, error, _ = call(service, "POST", "/v1/models/iris/versions/2/predict", {"record": {}})
    assert (status, error["error"]["code"]) == (500, "checksum_mismatch")


def test_reload_on_demand_reports_the_changes(tmp_path):
    store = ModelStore(tmp_path)
    store.publish("iris", IRIS, CARD)
    with Service(Settings(store=tmp_path, port=0, reload_interval=0)).start() as running:
        service = (running.port, store)
        store.publish("iris", IRIS, CARD)
        time.sleep(0.3)
        assert _served_version(service) == 1  # no polling: nothing changes by itself
        status, body, _ = call(service, "POST", "/v1/admin/reload")
        assert status == 200 and body["changes"] == ["model iris: versions [1, 2], default -> v2"]
        assert _served_version(service) == 2


def test_a_request_in_flight_keeps_the_model_it_started_with(tmp_path):
    store = ModelStore(tmp_path)
    store.publish("iris", IRIS, CARD)
    store.publish("iris", IRIS, CARD)
    registry = Registry(store, Settings(store=tmp_path))
    registry.reload()
    _, model = registry.get("iris", 1)
    store.archive("iris", 1)
    assert registry.reload() == ["model iris: versions [2], default -> v2"]
    assert model.score(SETOSA)["species"] == "setosa"  # still answers after the swap
    with pytest.raises(LookupError, match="no live version 1"):
        registry.get("iris", 1)
