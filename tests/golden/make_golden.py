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

from pmmlkit.converter.demo_pipelines import CASES, SEED, VERIFICATION_ROWS
from pmmlkit.converter.sklearn_export import export_pmml

GOLDEN_DIR = Path(__file__).resolve().parent
MAX_PMML_BYTES = 300_000
FLOAT_FORMAT = "%.17g"


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
    outputs = model.findall("p:Output/p:OutputField", ns)
    if not outputs and model.find("p:Segmentation", ns) is not None:
        # A model chain (boosting classifiers) answers with its last segment's outputs.
        last = model.findall("p:Segmentation/p:Segment", ns)[-1]
        outputs = [
            f
            for f in last.findall("*/p:Output/p:OutputField", ns)
            if f.get("isFinalResult", "true") == "true"
        ]
    return active, targets[0], outputs


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
        pipeline, _, inputs = build(np.random.default_rng([SEED, index]))
        case_dir = write_case(name, pipeline, inputs)
        size = (case_dir / "model.pmml").stat().st_size
        print(f"{name}: {len(inputs)} rows, model.pmml {size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
