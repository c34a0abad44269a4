"""Seeded training data and fitted scikit-learn pipelines for the converter tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

QUANTUM = 256  # numbers are multiples of 1/256: exact in float32, float64 and CSV


def loans(n: int = 600, seed: int = 7) -> pd.DataFrame:
    """Mixed numeric and text columns with missing values; target 'approved' (yes/no)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": np.round(rng.uniform(18, 80, n) * QUANTUM) / QUANTUM,
            "income": np.round(rng.gamma(4, 10, n) * QUANTUM) / QUANTUM,
            "color": rng.choice(["red", "green", "blue"], n).astype(object),
        }
    )
    logit = (
        0.05 * (frame.age - 45)
        + 0.04 * (frame.income - 40)
        + np.where(frame.color == "red", 1.0, -0.5)
    )
    frame["approved"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    frame.loc[rng.random(n) < 0.1, "age"] = np.nan
    frame.loc[rng.random(n) < 0.08, "color"] = np.nan
    return frame


def features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["approved"])


def logistic_pipeline(train: pd.DataFrame) -> Pipeline:
    columns = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                ["age", "income"],
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="none"), OneHotEncoder()
                ),
                ["color"],
            ),
        ]
    )
    return Pipeline([("columns", columns), ("model", LogisticRegression())]).fit(
        features(train), train.approved
    )


def numeric(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["age", "income", "approved"]]


def forest(train: pd.DataFrame) -> RandomForestClassifier:
    data = numeric(train).dropna()
    return RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(
        data[["age", "income"]], data.approved
    )


def tree_on_missing_values(train: pd.DataFrame) -> DecisionTreeClassifier:
    """A plain decision tree that learned where missing values go: sklearn2pmml's PMML routes
    them differently, so its fidelity check must fail."""
    data = numeric(train)
    return DecisionTreeClassifier(max_depth=4, random_state=0).fit(
        data[["age", "income"]], data.approved
    )


def ridge(train: pd.DataFrame) -> Pipeline:
    data = numeric(train).dropna()
    return make_pipeline(StandardScaler(), Ridge()).fit(
        data[["age", "approved"]].drop(columns="approved"), data.income
    )
