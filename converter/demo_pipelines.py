"""The seeded scikit-learn pipelines behind the demo models and the golden test cases.

Each builder takes a numpy Generator and returns (fitted PMMLPipeline, training frame with the
target column, input rows to score). Numbers are multiples of 1/256, exact in float32, float64 and
decimal, so tree splits and CSV readers see the very same values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.ensemble import (
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn2pmml.decoration import ContinuousDomain
from sklearn2pmml.pipeline import PMMLPipeline

N_INPUT = 200
VERIFICATION_ROWS = 20
SEED = 20240611
N_TRAIN = 800
# Numeric inputs are multiples of 1/256: exact in float32 and float64, short in decimal, so
# scikit-learn's float32 tree splits and any CSV reader see the very same numbers.
QUANTUM = 256


def quantize(values):
    return np.round(np.asarray(values, dtype=np.float64) * QUANTUM) / QUANTUM


MISSING_RATES = {"age": 0.12, "income": 0.08, "color": 0.10, "region": 0.06}
EFFECTS = {"red": 0.8, "green": 0.0, "blue": -0.6, "north": 0.5, "south": -0.5}


def _joined(data):
    """Features and target as one training frame, the way the converter takes them."""
    features, target = data
    return features.assign(**{target.name: target.to_numpy()})


def approval(rng, frame):
    logit = 0.04 * (frame.age - 40) + 0.03 * (frame.income - 40) + 2.5 * (frame.score - 0.5)
    logit += frame.color.map(EFFECTS).fillna(0.0) + frame.region.map(EFFECTS).fillna(0.0)
    label = np.where(rng.random(len(frame)) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.Series(label, name="approved")


def mixed_frame(rng, n):
    """Numeric and string columns, some missing, and a binary "approved" label."""
    frame = pd.DataFrame(
        {
            "age": quantize(np.clip(rng.normal(40, 12, n), 18, 90)),
            "income": quantize(rng.lognormal(10.5, 0.5, n) / 1000),
            "score": quantize(rng.random(n)),
            "color": pd.Series(rng.choice(["red", "green", "blue"], n), dtype=object),
            "region": pd.Series(rng.choice(["north", "south", "east", "west"], n), dtype=object),
        }
    )
    label = approval(rng, frame)
    for column, rate in MISSING_RATES.items():
        frame[column] = frame[column].mask(rng.random(n) < rate)
    return frame, label


def mixed_columns():
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder()
    )
    return ColumnTransformer(
        [("num", numeric, ["age", "income", "score"]), ("cat", categorical, ["color", "region"])]
    )


def build_logistic_mixed(rng):
    pipeline = PMMLPipeline([("columns", mixed_columns()), ("classifier", LogisticRegression())])
    train = mixed_frame(rng, N_TRAIN)
    pipeline.fit(*train)
    inputs = mixed_frame(rng, N_INPUT)[0]
    missing = inputs[list(MISSING_RATES)].isna()
    if not (missing.any().all() and missing.head(VERIFICATION_ROWS).any().any()):
        raise AssertionError("want missing values in each column and in the verification rows")
    return pipeline, _joined(train), inputs


def numeric_frame(rng, n, n_features, prefix):
    data = quantize(rng.uniform(0, 1, (n, n_features)))
    return pd.DataFrame(data, columns=[f"{prefix}{i + 1}" for i in range(n_features)])


def build_forest(rng):
    def sample(n):
        x = numeric_frame(rng, n, 6, "f")
        signal = np.sin(6 * x.f1) + (x.f2 > 0.5) * x.f3 * 2 - x.f4 * x.f5
        return x, pd.Series((signal + rng.normal(0, 0.3, n) > 0.3).astype(int), name="label")

    forest = RandomForestClassifier(
        n_estimators=20, max_depth=6, min_samples_leaf=5, random_state=SEED
    )
    train = sample(N_TRAIN)
    pipeline = PMMLPipeline([("classifier", forest)]).fit(*train)
    return pipeline, _joined(train), sample(N_INPUT)[0]


def build_regressor(rng):
    def sample(n):
        x = numeric_frame(rng, n, 5, "x")
        y = 10 * np.sin(np.pi * x.x1 * x.x2) + 20 * (x.x3 - 0.5) ** 2 + 10 * x.x4 + 5 * x.x5
        return x, pd.Series(y + rng.normal(0, 1, n), name="response")

    booster = GradientBoostingRegressor(n_estimators=60, max_depth=3, random_state=SEED)
    train = sample(N_TRAIN)
    pipeline = PMMLPipeline([("regressor", booster)]).fit(*train)
    return pipeline, _joined(train), sample(N_INPUT)[0]


def build_multiclass(rng):
    iris = load_iris(as_frame=True)
    features = iris.data.set_axis(
        ["sepal_length", "sepal_width", "petal_length", "petal_width"], axis=1
    )
    species = pd.Series(iris.target_names[iris.target], name="species")
    # A strict domain: a missing value or one outside the training range is refused, so the
    # engine's missing_field and out_of_range errors are tested on real converter output.
    domain = ContinuousDomain(
        missing_value_treatment="return_invalid", invalid_value_treatment="return_invalid"
    )
    pipeline = PMMLPipeline(
        [("domain", domain), ("scaler", StandardScaler()), ("classifier", LogisticRegression())]
    )
    pipeline.fit(features, species)
    inputs = features.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    return pipeline, _joined((features, species)), inputs


def build_boosting_mixed(rng):
    """Trees on mixed data: missing numbers reach the trees (each split's default child takes
    them), text goes through one-hot encoding, so the PMML has categorical splits."""
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder()
    )
    columns = ColumnTransformer(
        [
            ("num", "passthrough", ["age", "income", "score"]),
            ("cat", categorical, ["color", "region"]),
        ]
    )
    booster = HistGradientBoostingClassifier(max_iter=40, max_depth=3, random_state=SEED)
    pipeline = PMMLPipeline([("columns", columns), ("classifier", booster)])
    train = mixed_frame(rng, N_TRAIN)
    pipeline.fit(*train)
    return pipeline, _joined(train), mixed_frame(rng, N_INPUT)[0]


CASES = {
    "logistic_mixed": build_logistic_mixed,
    "forest": build_forest,
    "regressor": build_regressor,
    "multiclass": build_multiclass,
    "boosting_mixed": build_boosting_mixed,
}
