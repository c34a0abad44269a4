"""sklearn2pmml's failures become the project's ConversionError, with the converter's reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn2pmml.pipeline import PMMLPipeline

from pmmlkit.converter.sklearn_export import NO_PHONE_HOME_JAVA_OPTS, export_pmml
from pmmlkit.scoring.errors import ConversionError, PmmlkitError


class Doubler(BaseEstimator, TransformerMixin):
    """A custom transformer: sklearn2pmml has no converter for it."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X) * 2


def test_an_unconvertible_pipeline_raises_conversion_error_with_the_reason(tmp_path):
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    pipeline = PMMLPipeline([("double", Doubler()), ("model", LogisticRegression())]).fit(
        frame, [0, 1, 0, 1]
    )
    with pytest.raises(ConversionError) as caught:
        export_pmml(pipeline, tmp_path / "model.pmml")
    assert isinstance(caught.value, PmmlkitError) and caught.value.code == "conversion_failed"
    assert caught.value.message == (
        "sklearn2pmml cannot convert this pipeline: The object (Python class tests.test_export.Doubler) "
        "is not a supported Transformer or Estimator. Solution: Develop and register a custom JPMML-SkLearn "
        "converter. Context: sklearn2pmml.pipeline.PMMLPipeline."
    )
    assert not (tmp_path / "model.pmml").exists()


def test_the_converter_jvm_gets_a_dead_proxy_for_every_protocol():
    options = dict(o[2:].split("=", 1) for o in NO_PHONE_HOME_JAVA_OPTS)
    for protocol in ("http", "https"):
        assert (options[f"{protocol}.proxyHost"], options[f"{protocol}.proxyPort"]) == (
            "127.0.0.1",
            "9",
        )
    assert (options["socksProxyHost"], options["java.net.useSystemProxies"]) == (
        "127.0.0.1",
        "false",
    )
