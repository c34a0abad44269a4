"""The Openscoring-compatible API, driven by the published ``openscoring`` Python client, and its
results against scikit-learn's (the golden cases)."""

from __future__ import annotations

import csv
import io
import json
import urllib.request

import pandas as pd
import pytest
from openscoring import EvaluationRequest, Openscoring

from pmmlkit.scoring.engine import Model
from pmmlkit.scoring.server import Service
from pmmlkit.scoring.settings import Settings
from pmmlkit.scoring.store import ModelStore

from .golden_cases import GOLDEN, conflicts, read_expected, read_input

TOKEN = "openscoring-compat-token"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    settings = Settings(store=root, port=0, admin_token=TOKEN, reload_interval=0)
    with Service(settings).start() as service:
        yield service, Openscoring(base_url=service.url, token=TOKEN), ModelStore(root)


def _columns(rows: list[dict] | pd.DataFrame) -> dict:
    frame = pd.DataFrame(rows)
    return {name: [None if pd.isna(v) else v for v in frame[name]] for name in frame.columns}


@pytest.mark.parametrize("case", ["multiclass", "logistic_mixed", "forest", "regressor"])
def test_deploy_then_evaluate_matches_scikit_learn(served, case):
    _service, client, store = served
    deployed = client.deployFile(case, str(GOLDEN / case / "model.pmml"))
    assert (
        deployed.id == case
        and deployed.properties["file.checksum"]
        == store.card(case, store.versions(case)[-1])["pmml"]["sha256"]
    )
    frame = read_input(case, Model.load_file(GOLDEN / case / "model.pmml", Settings()))
    records = [
        {k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")
    ]
    expected = read_expected(case)
    single = _columns([client.evaluate(case, records[0])])
    assert conflicts(case, expected.iloc[:1], single) == []
    assert conflicts(case, expected, _columns(client.evaluateBatch(case, records))) == []
    assert conflicts(case, expected, _columns(client.evaluateCsv(case, frame))) == []


def test_csv_file_keeps_ids_and_detects_the_delimiter(served, tmp_path):
    _, client, _ = served
    client.deployFile("iris", str(GOLDEN / "multiclass" / "model.pmml"))
    frame = pd.read_csv(GOLDEN / "multiclass" / "input.csv").head(3)
    frame.insert(0, "Id", ["a", "b", "c"])
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(source, sep=";", index=False)
    client.evaluateCsvFile("iris", str(source), str(target))
    rows = list(csv.reader(io.StringIO(target.read_text()), delimiter=";"))
    assert rows[0][:2] == ["Id", "species"] and [r[0] for r in rows[1:]] == ["a", "b", "c"]


def test_a_request_id_comes_back_and_errors_raise(served):
    _, client, _ = served
    client.deployFile("iris2", str(GOLDEN / "multiclass" / "model.pmml"))
    answer = client.evaluate(
        "iris2",
        EvaluationRequest(
            "r-1",
            {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
        ),
    )
    assert (answer.id, answer.results["species"]) == ("r-1", "setosa")
    with pytest.raises(ValueError, match="Field 'sepal_width' is required"):
        client.evaluate("iris2", {"sepal_length": 5.1, "petal_length": 1.4, "petal_width": 0.2})
    with pytest.raises(ValueError, match=r"^Not Found$"):
        client.evaluate("no-such-model", {})
    with pytest.raises(ValueError, match="Row 1: Field 'sepal_width'"):
        client.evaluateCsv("iris2", pd.DataFrame({"sepal_length": [5.1]}))
    mixed = client.evaluateBatch("iris2", [{"sepal_length": 5.1}, _iris_setosa()])
    assert mixed[0] == {} and mixed[1]["species"] == "setosa"


def test_deploy_replaces_and_undeploy_archives(served):
    _service, client, store = served
    pmml = (GOLDEN / "multiclass" / "model.pmml").read_bytes()
    client.deploy("kept", pmml)
    store.set_alias("kept", "production", 1)
    client.deploy("kept", pmml)
    assert store.aliases("kept") == {"production": 2}  # the replacement answers /model/kept
    client.undeploy("kept")
    assert store.versions("kept") == [] and store.archived_versions("kept") == [1, 2]
    assert json.loads((store.root / "kept" / ".archive" / "aliases.json").read_text()) == {
        "production": 2
    }
    with pytest.raises(ValueError, match=r"^Not Found$"):
        client.evaluate("kept", _iris_setosa())
    assert client.deploy("kept", pmml).id == "kept"
    assert store.versions("kept") == [3]  # numbers are never reused


def test_admin_calls_need_the_token_and_bad_pmml_changes_nothing(served):
    service, client, store = served
    intruder = Openscoring(base_url=service.url, token="wrong-token-wrong-token")
    with pytest.raises(ValueError, match="token is wrong"):
        intruder.deploy("sneaky", (GOLDEN / "forest" / "model.pmml").read_bytes())
    with pytest.raises(ValueError):
        client.deploy("sneaky", b"<PMML><!-- truncated")
    assert not (store.root / "sneaky").exists() or store.versions("sneaky") == []


def test_list_describe_and_download(served):
    service, client, _store = served
    client.deployFile("listed", str(GOLDEN / "forest" / "model.pmml"))
    listing = _get(service, "/model")
    assert "listed" in [m["id"] for m in listing["responses"]]
    assert all("schema" not in m for m in listing["responses"])
    described = _get(service, "/model/listed")
    assert [f["id"] for f in described["schema"]["inputFields"]][:2] == ["f1", "f2"]
    assert described["miningFunction"] == "classification"
    request = urllib.request.Request(
        f"{service.url}/model/listed/pmml", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.read() == (GOLDEN / "forest" / "model.pmml").read_bytes()
        assert response.headers["X-Application"].startswith("Openscoring/2.")


def _get(service, path: str) -> dict:
    with urllib.request.urlopen(service.url + path, timeout=30) as response:
        assert response.headers["X-Application"].startswith("Openscoring/2.")
        return json.loads(response.read())


def _iris_setosa() -> dict:
    return {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
