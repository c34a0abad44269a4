"""What the converter accepts: a plain Pipeline, a single estimator or a PMMLPipeline, fitted,
with a training frame whose columns are the pipeline's features plus the target."""

from __future__ import annotations

import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from sklearn2pmml import make_pmml_pipeline
from sklearn2pmml.pipeline import PMMLPipeline

from pmmlkit.scoring.errors import InvalidDataError, NotFittedModelError


def check_fitted(pipeline) -> None:
    """Refuses an unfitted pipeline or estimator before anything slow runs."""
    estimator = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise NotFittedModelError(
            f"The {type(estimator).__name__} is not fitted; call fit() before converting it."
        ) from None
    except TypeError as error:
        raise NotFittedModelError(f"Cannot convert {type(pipeline).__name__}: {error}") from None


def split_target(frame: pd.DataFrame, target: str, what: str) -> tuple[pd.DataFrame, pd.Series]:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidDataError(
            f"The {what} data must be a pandas DataFrame; got {type(frame).__name__}."
        )
    if target not in frame.columns:
        raise InvalidDataError(
            f"The {what} data has no target column '{target}'; columns: {list(frame.columns)}.",
            field=target,
        )
    return frame.drop(columns=[target]), frame[target]


def check_features(pipeline, features: pd.DataFrame, what: str) -> None:
    """The frame must carry every feature the pipeline was fitted on."""
    expected = list(getattr(pipeline, "feature_names_in_", features.columns))
    missing = [c for c in expected if c not in features.columns]
    if missing:
        raise InvalidDataError(
            f"The {what} data lacks column(s) {missing} that the pipeline was fitted on; "
            f"it has {list(features.columns)}.",
            field=missing[0],
        )


def as_pmml_pipeline(pipeline, features: list[str], target: str) -> PMMLPipeline:
    """A PMMLPipeline that names its fields after the frame's columns and the target."""
    if isinstance(pipeline, PMMLPipeline):
        if getattr(pipeline, "active_fields", None) is None:
            pipeline.active_fields = pd.Index(features).to_numpy()
        if getattr(pipeline, "target_fields", None) is None:
            pipeline.target_fields = pd.Index([target]).to_numpy()
        return pipeline
    return make_pmml_pipeline(pipeline, active_fields=features, target_fields=[target])


def final_estimator(pipeline):
    while hasattr(pipeline, "steps"):
        pipeline = pipeline.steps[-1][1]
    return pipeline
