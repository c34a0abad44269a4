"""The compiled tree evaluator behind the service: which engine serves, and the off switch.

A stored model serves at once with JPMML-Evaluator and is compiled in the background: the tests
wait for each model's engine to settle (bounded polling of its description), never a bare sleep.
"""

from __future__ import annotations

import json
import time

import pytest

from pmmlkit.scoring.engine import Model
from pmmlkit.scoring.errors import ConfigurationError
from pmmlkit.scoring.server import Service
from pmmlkit.scoring.settings import Settings
from pmmlkit.scoring.store import ModelStore

from .golden_cases import GOLDEN, conflicts, read_expected, read_input
from .test_service import CARD, _model, call

COMPILING = "jpmml: compiling and checking in the background"
MODELS = ("boosting_mixed", "forest", "logistic_mixed", "forest_jpmml")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    store = ModelStore(root)
    for name in ("boosting_mixed", "forest", "logistic_mixed"):
        store.publish(name, (GOLDEN / name / "model.pmml").read_bytes(), CARD)
    store.publish("forest_jpmml", (GOLDEN / "forest" / "model.pmml").read_bytes(), CARD)
    settings = Settings(store=root, port=0, interpreted_models=("forest_jpmml",))
    with Service(settings).start() as running:
        for name in MODELS:
            _settled_engine((running.port, store), name)
        yield running.port, store


def _settled_engine(service, name, bound=120.0):
    """The model's engine once its background compile has ended; fails past ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while (engine := call(service, "GET", f"/v1/models/{name}")[1]["engine"]) == COMPILING:
        assert time.monotonic() < deadline, f"{name} still compiling after {bound} s"
        time.sleep(0.05)
    return engine


def test_the_description_says_which_engine_scores_and_why(service):
    engines = {name: _settled_engine(service, name) for name in MODELS}
    assert engines["boosting_mixed"].startswith("compiled: 41 trees; equal to JPMML-Evaluator on ")
    assert engines["forest"].startswith("compiled: 20 trees; equal to JPMML-Evaluator on ")
    assert engines["logistic_mixed"] == "jpmml: no tree model to compile (RegressionModel)"
    assert engines["forest_jpmml"] == "jpmml: compiled evaluation turned off for this model"


def _records(service, name):
    return json.loads(read_input(name, _model(service, name)).to_json(orient="records"))


@pytest.mark.parametrize("name", ["boosting_mixed", "forest"])
def test_compiled_models_match_scikit_learn_over_http(service, name):
    status, body, _ = call(
        service, "POST", f"/v1/models/{name}/predict", {"records": _records(service, name)}
    )
    assert status == 200 and body["errors"] == []
    columns = {field: [r[field] for r in body["results"]] for field in body["results"][0]}
    assert conflicts(name, read_expected(name), columns) == []


def test_the_same_pmml_compiled_and_interpreted_answers_alike(service):
    records = _records(service, "forest")
    answers = [
        call(service, "POST", f"/v1/models/{name}/predict", {"records": records})[1]["results"]
        for name in ("forest", "forest_jpmml")
    ]
    assert answers[0] == answers[1]


def test_an_invalid_interpreted_models_setting_names_the_rule():
    with pytest.raises(ConfigurationError, match=r"interpreted_models.*separated by commas"):
        Settings(interpreted_models="forest, ../etc")


def test_a_tree_model_compiles_in_the_background_now_or_never_as_asked(settings):
    pmml = (GOLDEN / "forest" / "model.pmml").read_bytes()
    now = Model.load_bytes(pmml, "forest", settings, compile="now")
    assert now.engine.startswith("compiled: 20 trees; equal to JPMML-Evaluator on ")
    background = Model.load_bytes(pmml, "forest", settings)
    assert background.await_engine(120) == now.engine
    off = Model.load_bytes(pmml, "forest", settings, compile=False)
    assert off.await_engine(0) == "jpmml: compiled evaluation turned off for this model"


def test_an_unknown_compile_mode_names_the_choices(settings):
    with pytest.raises(ValueError, match=r"'background', 'now' or False; got 'later'"):
        Model.load_bytes(b"<PMML/>", "forest", settings, compile="later")
