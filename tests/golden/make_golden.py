"""Regenerate the golden PMML cases in this directory (seeded, no network).

Run from the repository root:  .venv/bin/python tests/golden/make_golden.py

Each case directory gets exactly three files:
  model.pmml    the pipeline converted by pmmlkit.converter.sklearn_export.export_pmml,
                with the first VERIFICATION_ROWS input rows embedded as ModelVerification
  input.csv     the input rows; columns are the PMML's active fields, missing = empty cell
  expected.csv  scikit-learn's own outputs for those rows; columns are the PMML result
                fields: the target field, then one probability(<class>) per class for
                classifiers, in the order of the PMML <Output>
"""

import io
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn2pmml.decoration import ContinuousDomain
from sklearn2pmml.pipeline import PMMLPipeline

from pmmlkit.converter.sklearn_export import export_pmml

GOLDEN_DIR = Path(__file__).resolve().parent
SEED = 20240611
N_TRAIN = 800
N_INPUT = 200
VERIFICATION_ROWS = 20
MAX_PMML_BYTES = 300_000
FLOAT_FORMAT = "%.17g"
# Numeric inputs are multiples of 1/256: exact in float32 and float64, short in decimal, so
# scikit-learn's float32 tree splits and any CSV reader see the very same numbers.
QUANTUM = 256


def quantize(values):
    return np.round(np.asarray(values, dtype=np.float64) * QUANTUM) / QUANTUM


MISSING_RATES = {"age": 0.12, "income": 0.08, "color": 0.10, "region": 0.06}
EFFECTS = {"red": 0.8, "green": 0.0, "blue": -0.6, "north": 0.5, "south": -0.5}


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
    pipeline.fit(*mixed_frame(rng, N_TRAIN))
    inputs = mixed_frame(rng, N_INPUT)[0]
    missing = inputs[list(MISSING_RATES)].isna()
    if not (missing.any().all() and missing.head(VERIFICATION_ROWS).any().any()):
        raise AssertionError("want missing values in each column and in the verification rows")
    return pipeline, inputs


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
    pipeline = PMMLPipeline([("classifier", forest)]).fit(*sample(N_TRAIN))
    return pipeline, sample(N_INPUT)[0]


def build_regressor(rng):
    def sample(n):
        x = numeric_frame(rng, n, 5, "x")
        y = 10 * np.sin(np.pi * x.x1 * x.x2) + 20 * (x.x3 - 0.5) ** 2 + 10 * x.x4 + 5 * x.x5
        return x, pd.Series(y + rng.normal(0, 1, n), name="response")

    booster = GradientBoostingRegressor(n_estimators=60, max_depth=3, random_state=SEED)
    pipeline = PMMLPipeline([("regressor", booster)]).fit(*sample(N_TRAIN))
    return pipeline, sample(N_INPUT)[0]


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
    return pipeline, features.sample(frac=1.0, random_state=SEED).reset_index(drop=True)


CASES = {
    "logistic_mixed": build_logistic_mixed,
    "forest": build_forest,
    "regressor": build_regressor,
    "multiclass": build_multiclass,
}


def csv_round_trip(frame):
    """The frame as a CSV reader sees it: only empty cells are missing, strings stay strings."""
    dtypes = {c: (object if frame[c].dtype == object else np.float64) for c in frame.columns}
    text = frame.to_csv(index=False)
    parsed = pd.read_csv(io.StringIO(text), dtype=dtypes, keep_default_na=False, na_values=[""])
    if not parsed.equals(frame):
        raise AssertionError("input rows do not survive a CSV round trip")
    return parsed


def pmml_fields(pmml_path):
    """(active field names, target field name, Output fields) of the PMML's top model."""
    root = ET.parse(pmml_path).getroot()
    ns = {"p": root.tag[1 : root.tag.index("}")]}
    model = next(child for child in root if child.find("p:MiningSchema", ns) is not None)
    fields = model.findall("p:MiningSchema/p:MiningField", ns)
    active = [f.get("name") for f in fields if f.get("usageType", "active") == "active"]
    targets = [f.get("name") for f in fields if f.get("usageType") in ("target", "predicted")]
    if len(targets) != 1:
        raise AssertionError(f"{pmml_path}: expected one target field, found {targets}")
    return active, targets[0], model.findall("p:Output/p:OutputField", ns)


def sklearn_outputs(pipeline, frame, target, output_fields):
    """predict() under the target name, predict_proba() columns under the PMML Output names."""
    expected = pd.DataFrame({target: pipeline.predict(frame)})
    if not output_fields:
        return expected
    proba = pipeline.predict_proba(frame)
    classes = [str(c) for c in pipeline.classes_]
    for field in output_fields:
        if field.get("feature") != "probability" or field.get("value") not in classes:
            raise AssertionError(f"unexpected PMML OutputField {field.attrib}")
        expected[field.get("name")] = proba[:, classes.index(field.get("value"))]
    return expected


def check_case(case_dir):
    """Fail loudly unless the written CSV headers are the PMML's input and result fields."""
    active, target, output_fields = pmml_fields(case_dir / "model.pmml")
    result_names = [target] + [field.get("name") for field in output_fields]
    for file_name, wanted in [("input.csv", active), ("expected.csv", result_names)]:
        header = list(pd.read_csv(case_dir / file_name, nrows=0).columns)
        if header != wanted:
            raise AssertionError(f"{case_dir.name}/{file_name}: {header} != PMML {wanted}")
    size = (case_dir / "model.pmml").stat().st_size
    if size > MAX_PMML_BYTES:
        raise AssertionError(f"{case_dir.name}: model.pmml is {size} bytes")


def write_case(name, pipeline, inputs):
    case_dir = GOLDEN_DIR / name
    shutil.rmtree(case_dir, ignore_errors=True)
    case_dir.mkdir()
    inputs = csv_round_trip(inputs)
    pmml_path = case_dir / "model.pmml"
    export_pmml(pipeline, pmml_path, verification_frame=inputs.head(VERIFICATION_ROWS))
    active, target, output_fields = pmml_fields(pmml_path)
    expected = sklearn_outputs(pipeline, inputs, target, output_fields)
    inputs[active].to_csv(case_dir / "input.csv", index=False)
    expected.to_csv(case_dir / "expected.csv", index=False, float_format=FLOAT_FORMAT)
    check_case(case_dir)
    return case_dir


def main():
    for index, (name, build) in enumerate(CASES.items()):
        pipeline, inputs = build(np.random.default_rng([SEED, index]))
        case_dir = write_case(name, pipeline, inputs)
        size = (case_dir / "model.pmml").stat().st_size
        print(f"{name}: {len(inputs)} rows, model.pmml {size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
