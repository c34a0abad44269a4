"""The converter: real pipelines, the real sklearn2pmml, the real engine, a real store."""

from __future__ import annotations

import json
import re

import jsonschema
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC
from sklearn2pmml.pipeline import PMMLPipeline

from pmmlkit.converter.convert import ConvertOptions, convert
from pmmlkit.converter.fidelity import fidelity_sample
from pmmlkit.scoring import errors
from pmmlkit.scoring.engine import Model
from pmmlkit.scoring.store import CARD_SCHEMA_FILE, ModelStore

from . import pipelines

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def data():
    frame = pipelines.loans()
    return frame.iloc[:450], frame.iloc[450:]


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path)


def files(store) -> dict:
    return {
        str(p.relative_to(store.root))
        for p in store.root.rglob("*")
        if p.is_file() and p.name != ".lock"
    }


def test_a_plain_pipeline_is_published_with_a_complete_card(data, store, settings):
    train, holdout = data
    pipeline = pipelines.logistic_pipeline(train)
    card = convert(
        pipeline,
        train,
        target="approved",
        name="loans",
        description="Loan approval.",
        holdout=holdout,
        store=store,
        settings=settings,
    )
    jsonschema.validate(card, json.loads(CARD_SCHEMA_FILE.read_text()))
    assert (card["name"], card["version"], card["description"]) == ("loans", 1, "Loan approval.")
    assert card["algorithm"]["estimator"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert card["algorithm"]["params"]["model__C"] == 1.0
    assert [s["name"] for s in card["algorithm"]["steps"]] == ["columns", "model"]
    age = next(f for f in card["input_schema"] if f["name"] == "age")
    assert age["type"] == "double" and 0.05 < age["missing_rate"] < 0.15
    assert age["range"] == [float(train.age.min()), float(train.age.max())]
    color = next(f for f in card["input_schema"] if f["name"] == "color")
    assert color["categories"] == ["blue", "green", "red"]
    assert card["target"] == {
        "name": "approved",
        "kind": "classification",
        "classes": ["no", "yes"],
    }
    assert (
        card["training_data"]["rows"] == 450 and card["training_data"]["columns"][-1] == "approved"
    )
    assert set(card["metrics"]) >= {"accuracy", "roc_auc", "log_loss", "f1_per_class"}
    assert card["metrics"]["evaluated_on"] == "holdout" and card["metrics"]["rows"] == 150
    assert abs(sum(card["baseline"]["class_shares"].values()) - 1) < 1e-12
    assert card["fidelity"]["passed"] and card["fidelity"]["rows_checked"] == 600
    assert card["fidelity"]["max_abs_diff"] <= 1e-9
    assert card["library_versions"]["scikit-learn"] == "1.9.0"
    assert card["library_versions"]["jpmml-evaluator"] == "1.7.7"


def test_the_published_model_scores_like_scikit_learn(data, store, settings):
    train, holdout = data
    pipeline = pipelines.logistic_pipeline(train)
    convert(
        pipeline,
        train,
        target="approved",
        name="loans",
        description="",
        store=store,
        settings=settings,
    )
    model = Model.load_from_store(store, "loans", None, settings)
    rows = pipelines.features(holdout)
    result = model.score_batch(rows)
    assert result.errors == []
    assert np.allclose(
        result.columns["probability(yes)"], pipeline.predict_proba(rows)[:, 1], rtol=1e-9, atol=1e-9
    )
    assert result.columns["approved"] == list(pipeline.predict(rows))


def test_verification_rows_are_embedded_and_checked_at_every_load(data, store, settings):
    train, _ = data
    convert(
        pipelines.logistic_pipeline(train),
        train,
        target="approved",
        name="loans",
        description="",
        store=store,
        settings=settings,
    )
    text = store.read_pmml("loans", 1).decode()
    assert '<ModelVerification recordCount="20">' in text
    tampered = re.sub(r"(<data:probability_yes>)[^<]+", r"\g<1>0.5", text, count=1)
    with pytest.raises(errors.InvalidModelError) as caught:
        Model.load_bytes(tampered.encode(), "loans", settings)
    assert caught.value.code == "verification_failed"


@pytest.mark.parametrize("kind", ["estimator", "pmml_pipeline"])
def test_single_estimators_and_pmml_pipelines_are_accepted(kind, data, store, settings):
    train = pipelines.numeric(data[0]).dropna()
    model = pipelines.forest(data[0])
    if kind == "pmml_pipeline":
        model = PMMLPipeline([("forest", model)])
        model.fit(train[["age", "income"]], train.approved)
    card = convert(
        model, train, target="approved", name=kind, description="", store=store, settings=settings
    )
    assert card["fidelity"]["passed"] and card["algorithm"]["estimator"].endswith(
        "RandomForestClassifier"
    )


def test_a_regressor_card_has_regression_metrics_and_a_histogram(data, store, settings):
    train = data[0][["age", "income"]].dropna()
    card = convert(
        pipelines.ridge(data[0]),
        train,
        target="income",
        name="income",
        description="",
        store=store,
        settings=settings,
    )
    assert card["target"] == {"name": "income", "kind": "regression"}
    assert (
        set(card["metrics"]) >= {"rmse", "mae", "r2"}
        and card["metrics"]["evaluated_on"] == "training"
    )
    assert sum(card["baseline"]["histogram"]["counts"]) == len(train)


def convert_tree(data, store, settings, **options) -> dict:
    """The decision tree whose PMML routes missing values differently from scikit-learn."""
    train, holdout = data
    return convert(
        pipelines.tree_on_missing_values(train),
        pipelines.numeric(train),
        target="approved",
        name="tree",
        description="",
        holdout=pipelines.numeric(holdout),
        store=store,
        settings=settings,
        options=ConvertOptions(**options),
    )


def test_wrong_pmml_is_refused_with_the_differing_rows_named(data, store, settings):
    train, holdout = data
    with pytest.raises(errors.FidelityError) as caught:
        convert_tree(data, store, settings)
    message = caught.value.message
    assert message.startswith("Refusing to publish: ")
    assert "rows differ from scikit-learn beyond 1e-09" in message
    rows_with_missing = set(train.index[train.age.isna()]) | set(holdout.index[holdout.age.isna()])
    named = {int(m) for m in re.findall(r"(?:train|holdout) row (\d+)", message)}
    assert named and named <= rows_with_missing
    first = caught.value.differences[0]
    assert first["output"] == "approved" and first["pmml"] is None
    assert files(store) == set()


def test_allow_mismatch_publishes_with_the_failure_recorded(data, store, settings):
    card = convert_tree(data, store, settings, allow_mismatch=True)
    assert card["fidelity"]["passed"] is False and card["fidelity"]["differences_total"] > 0
    assert Model.load_from_store(store, "tree", None, settings).outputs[0].name == "approved"


def test_an_unfitted_pipeline_is_refused_up_front(data, store):
    with pytest.raises(errors.NotFittedModelError, match="LogisticRegression is not fitted"):
        convert(
            LogisticRegression(), data[0], target="approved", name="x", description="", store=store
        )
    assert files(store) == set()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["approved"]), "has no target column 'approved'"),
        (lambda f: f.drop(columns=["income"]), r"lacks column\(s\) \['income'\]"),
    ],
    ids=["no-target", "missing-feature"],
)
def test_data_that_does_not_fit_the_pipeline_is_refused(data, store, change, message):
    train = data[0]
    with pytest.raises(errors.InvalidDataError, match=message):
        convert(
            pipelines.logistic_pipeline(train),
            change(train),
            target="approved",
            name="x",
            description="",
            store=store,
        )
    assert files(store) == set()


def test_an_invalid_name_is_refused_before_any_work(data, store):
    with pytest.raises(errors.InvalidNameError):
        convert(
            LogisticRegression(),
            data[0],
            target="approved",
            name="../x",
            description="",
            store=store,
        )


def _numeric_frame(rows: int = 300):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(np.round(rng.normal(size=(rows, 3)) * 256) / 256, columns=["a", "b", "c"])
    return frame, pd.Series(np.where(frame.a + frame.b > 0, "p", "n"), name="y")


@pytest.mark.parametrize(
    ("estimator", "supervised", "compared"),
    [
        (SVC(), True, ["y"]),
        (
            HistGradientBoostingClassifier(max_iter=20),
            True,
            ["y", "probability(n)", "probability(p)"],
        ),
        (KMeans(3, random_state=0, n_init=3), False, ["cluster"]),
        (IsolationForest(n_estimators=10, random_state=0), False, ["decisionFunction", "outlier"]),
    ],
    ids=["svc", "hist-boosting-with-nan", "kmeans", "isolation-forest"],
)
def test_model_families_are_compared_on_their_own_outputs(
    estimator, supervised, compared, store, settings
):
    frame, y = _numeric_frame()
    if isinstance(estimator, HistGradientBoostingClassifier):  # learns where missing values go
        frame.loc[frame.index % 10 == 0, "a"] = np.nan
    estimator.fit(frame, y) if supervised else estimator.fit(frame)
    train = frame.assign(y=y if supervised else 0.0)
    card = convert(
        estimator, train, target="y", name="family", description="", store=store, settings=settings
    )
    assert card["fidelity"]["passed"] and card["fidelity"]["outputs_compared"] == compared


def test_rows_both_sides_refuse_agree_and_count_in_the_metrics(data, store, settings):
    """A holdout category unseen in training: scikit-learn's OneHotEncoder refuses it, so does PMML."""
    train, holdout = data
    holdout = holdout.copy()
    holdout.loc[holdout.index[:3], "color"] = "purple"
    card = convert(
        pipelines.logistic_pipeline(train),
        train,
        target="approved",
        name="loans",
        description="",
        holdout=holdout,
        store=store,
        settings=settings,
    )
    assert card["fidelity"]["passed"] and card["fidelity"]["rows_checked"] == 600
    assert card["metrics"]["rows"] == 147 and card["metrics"]["rows_refused_by_scikit_learn"] == 3


def test_the_fidelity_sample_takes_missing_values_and_unseen_categories_first():
    train = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0] * 50, "c": ["a", "b", "a", "b"] * 50})
    holdout = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "zzz", "b"]}, index=[900, 901, 902])
    rows, labels = fidelity_sample(train, holdout, size=51)
    assert len(rows) == 51 and "holdout row 901" in labels
    assert rows.x.isna().sum() == 50
