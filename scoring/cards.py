"""The part of a model card that the PMML itself tells: input schema, target, outputs, algorithm.

The converter adds what only the training side knows (data fingerprint, metrics, baseline,
fidelity); an uploaded PMML gets at least this much.
"""

from __future__ import annotations

from .engine import Field, Model

_KINDS = {
    "classification": "classification",
    "regression": "regression",
    "clustering": "clustering",
}


def describe_inputs(model: Model) -> list[dict]:
    return [_input(f) for f in model.inputs]


def _input(spec: Field) -> dict:
    entry = {
        "name": spec.name,
        "type": spec.data_type,
        "op_type": spec.op_type,
        "missing_allowed": spec.missing_allowed,
    }
    if spec.categories:
        entry["categories"] = list(spec.categories)
    if len(spec.intervals) == 1:
        entry["range"] = list(spec.intervals[0][:2])
    return entry


def describe_target(model: Model) -> dict:
    target = model.outputs[0]
    entry = {"name": target.name, "kind": _KINDS.get(model.mining_function, model.mining_function)}
    if target.categories:
        entry["classes"] = list(target.categories)
    return entry


def schema_card(model: Model) -> dict:
    """Card fields derived from the loaded PMML alone."""
    return {
        "algorithm": {"estimator": model.algorithm or "unknown", "params": {}},
        "input_schema": describe_inputs(model),
        "target": describe_target(model),
        "outputs": [f.name for f in model.outputs],
    }
