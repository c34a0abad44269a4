"""The OpenAPI paths and schemas of the monitoring endpoints (merged by :mod:`.openapi`)."""

from __future__ import annotations

_REF = "#/components/schemas/"
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_WINDOW = {
    "name": "window",
    "in": "query",
    "schema": {"type": "string", "enum": ["hour", "day", "week"], "default": "day"},
    "description": "The last hour (12 buckets of 5 min), day (24 of 1 h) or week (28 of 6 h).",
}
_VERSION = {
    "name": "version",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1},
    "description": "Only this version (default: every version with traffic).",
}
_NUMBER = {"type": ["number", "null"]}
_SHARES = {"type": "object", "additionalProperties": {"type": "number"}}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    meanings = {
        400: "Bad body or query parameter",
        404: "No such model, or no logged prediction the feedback names",
        422: "An outcome the model cannot have (every problem listed)",
        503: "The prediction log is off or its database cannot be reached",
    }
    return {str(s): _json({"$ref": _REF + "Error"}, meanings[s]) for s in statuses}


PATHS = {
    "/v1/models/{name}/monitoring": {
        "get": {
            "summary": "Traffic, drift against the training baseline, feedback and alerts",
            "parameters": [_NAME, _WINDOW, _VERSION],
            "responses": {"200": _json({"$ref": _REF + "Monitoring"}), **_errors(400, 404, 503)},
        }
    },
    "/v1/models/{name}/cases": {
        "get": {
            "summary": "Recent logged predictions with inputs and feedback, for review",
            "parameters": [
                _NAME,
                _WINDOW,
                _VERSION,
                {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 50}},
                {
                    "name": "filter",
                    "in": "query",
                    "schema": {
                        "type": "string",
                        "enum": ["all", "flagged", "disagreed", "low_confidence", "unreviewed"],
                        "default": "all",
                    },
                },
                {
                    "name": "inputs",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["any", "only"], "default": "any"},
                    "description": "only: just the cases whose inputs were logged",
                },
            ],
            "responses": {"200": _json({"$ref": _REF + "Cases"}), **_errors(400, 404, 503)},
        }
    },
    "/v1/models/{name}/feedback": {
        "post": {
            "summary": "The true outcome, a reviewer's verdict or a flag for logged predictions",
            "parameters": [_NAME],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"$ref": _REF + "Feedback"},
                                {
                                    "type": "object",
                                    "required": ["feedback"],
                                    "properties": {
                                        "feedback": {
                                            "type": "array",
                                            "items": {"$ref": _REF + "Feedback"},
                                        }
                                    },
                                },
                            ]
                        }
                    }
                },
            },
            "responses": {
                "201": _json(
                    {
                        "type": "object",
                        "required": ["accepted"],
                        "properties": {"accepted": {"type": "integer"}},
                    },
                    "Stored",
                ),
                **_errors(400, 404, 422, 503),
            },
        }
    },
}

SCHEMAS = {
    "Feedback": {
        "type": "object",
        "properties": {
            "request_id": {"type": "string"},
            "row": {"type": "integer", "minimum": 0, "default": 0},
            "key": {"type": "string"},
            "outcome": {"type": ["string", "number", "boolean"]},
            "correct": {"type": "boolean"},
            "flag": {"type": "string", "examples": ["not_interested"]},
            "reason": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "Monitoring": {
        "type": "object",
        "required": ["model", "window", "from", "to", "thresholds", "versions"],
        "properties": {
            "model": {"type": "string"},
            "window": {"type": "string"},
            "from": {"type": "string"},
            "to": {"type": "string"},
            "thresholds": {"type": "object"},
            "versions": {"type": "array", "items": {"$ref": _REF + "VersionMonitoring"}},
        },
    },
    "VersionMonitoring": {
        "type": "object",
        "required": [
            "version",
            "kind",
            "volume",
            "latency_ms",
            "predictions",
            "inputs",
            "feedback",
            "series",
            "alerts",
        ],
        "properties": {
            "version": {"type": "integer"},
            "kind": {"type": "string", "enum": ["classification", "regression"]},
            "volume": {"type": "object"},
            "latency_ms": {
                "type": "object",
                "properties": {"p50": _NUMBER, "p95": _NUMBER, "p99": _NUMBER},
            },
            "predictions": {
                "type": "object",
                "required": ["psi"],
                "properties": {"psi": _NUMBER, "baseline": _SHARES, "observed": _SHARES},
            },
            "inputs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "rows", "missing_rate", "psi"],
                    "properties": {"field": {"type": "string"}, "psi": _NUMBER},
                },
            },
            "feedback": {"type": "object", "required": ["count", "flags"]},
            "series": {"type": "array", "items": {"type": "object"}},
            "alerts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["metric", "field", "value", "threshold", "message"],
                },
            },
        },
    },
    "Cases": {
        "type": "object",
        "required": ["model", "cases"],
        "properties": {
            "model": {"type": "string"},
            "cases": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["request_id", "row", "time", "version", "prediction", "feedback"],
                },
            },
        },
    },
}
