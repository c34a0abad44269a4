"""The OpenAPI 3.1 document of the service, served at ``/openapi.json``.

Written by hand (the schemas say what the handlers do), and checked against the app at start-up:
:func:`document` raises if a route of the app is missing from the document or the document names
a route the app does not have. tests/test_openapi.py validates the document and checks live
responses against its schemas.
"""

from __future__ import annotations

import importlib.metadata
import re

import bottle

from . import openapi_monitoring

_REF = "#/components/schemas/"


def _ref(name: str) -> dict:
    return {"$ref": _REF + name}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    meanings = {
        400: "Bad request (body, name or parameter)",
        401: "No bearer token",
        403: "Wrong token, or admin calls refused off loopback",
        404: "No such model, version or alias",
        409: "Conflict (a version an alias points at)",
        413: "Body or record count over the limit",
        415: "Content-Type other than application/json or text/csv",
        422: "Input the model cannot take (every problem listed)",
        500: "The store or the engine failed (e.g. a stored file fails its checksum)",
        503: "Timeout, or model not ready",
    }
    return {str(s): _json(_ref("Error"), meanings[s]) for s in statuses}


_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_VERSION = {"name": "version", "in": "path", "required": True, "schema": {"type": "integer"}}
_ALIAS = {"name": "alias", "in": "path", "required": True, "schema": {"type": "string"}}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_ALL_OR_NOTHING = {
    "name": "all_or_nothing",
    "in": "query",
    "schema": {"type": "boolean", "default": False},
    "description": "Refuse the whole batch (422, every bad record listed) if one record fails.",
}
_ADMIN = [{"bearer": []}, {}]

_PREDICT_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": _ref("PredictRequest")},
        "text/csv": {"schema": {"type": "string"}},
    },
}
_PMML_BODY = {
    "required": True,
    "description": "A PMML document, plain or gzip-compressed.",
    "content": {
        "application/xml": {"schema": {"type": "string"}},
        "text/xml": {"schema": {"type": "string"}},
        "application/gzip": {"schema": {"type": "string", "format": "binary"}},
    },
}


# A client's key per record: feedback can name the prediction by it.
_KEY = {"type": ["string", "integer"], "description": "The client's key for the record."}
_KEYS = {"type": "array", "items": _KEY, "description": "One key per record, in order."}


def _predict(summary: str, parameters: list) -> dict:
    return {
        "post": {
            "summary": summary,
            "parameters": [*parameters, _ALL_OR_NOTHING],
            "requestBody": _PREDICT_BODY,
            "responses": {
                "200": {
                    "description": "Scores; the X-Model-Version header names the version",
                    "content": {
                        "application/json": {"schema": _ref("PredictResponse")},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **_errors(400, 404, 413, 415, 422, 500, 503),
            },
        }
    }


_PATHS = {
    "/healthz": {"get": {"summary": "Alive", "responses": {"200": _json(_ref("Health"))}}},
    "/readyz": {
        "get": {
            "summary": "Every model's default version and aliases loaded",
            "responses": {
                "200": _json(_ref("Readiness")),
                "503": _json(_ref("Readiness"), "A model is not ready"),
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics",
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "responses": {"200": _json({"type": "object"})},
        }
    },
    "/ui": {
        "get": {
            "summary": "The monitoring page (its script draws it from this API)",
            "responses": {
                "200": {
                    "description": "The page",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
            },
        }
    },
    "/ui/static/{path}": {
        "get": {
            "summary": "The monitoring page's bundled script, style and chart library",
            "parameters": [
                {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "v", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "The file; cached for good when v is its digest",
                    "content": {
                        t: {"schema": {"type": "string"}}
                        for t in ("text/javascript", "text/css", "text/plain", "text/markdown")
                    },
                },
                "304": {"description": "Not modified (If-None-Match)"},
                "404": _json(_ref("Error"), "No such asset"),
            },
        }
    },
    "/v1/models": {
        "get": {"summary": "Every model", "responses": {"200": _json(_ref("ModelList"))}}
    },
    "/v1/models/{name}": {
        "get": {
            "summary": "The default version's card and schema",
            "parameters": [_NAME],
            "responses": {
                "200": _json(_ref("ModelDescription")),
                **_errors(400, 404, 500, 503),
            },
        },
        "put": {
            "summary": "Upload a new version (verified before it is accepted)",
            "security": _ADMIN,
            "parameters": [
                _NAME,
                {"name": "description", "in": "query", "schema": {"type": "string"}},
                {"name": "created_by", "in": "query", "schema": {"type": "string"}},
            ],
            "requestBody": _PMML_BODY,
            "responses": {
                "201": _json(_ref("Upload"), "Published"),
                **_errors(400, 401, 403, 413, 422),
            },
        },
    },
    "/v1/models/{name}/versions/{version}": {
        "get": {
            "summary": "One version's card and schema",
            "parameters": [_NAME, _VERSION],
            "responses": {
                "200": _json(_ref("ModelDescription")),
                **_errors(400, 404, 500, 503),
            },
        }
    },
    "/v1/models/{name}/predict": _predict(
        "Score with the production alias, else the newest version", [_NAME]
    ),
    "/v1/models/{name}/versions/{version}/predict": _predict(
        "Score with one version", [_NAME, _VERSION]
    ),
    "/v1/models/{name}/aliases/{alias}/predict": _predict(
        "Score with the version an alias points at", [_NAME, _ALIAS]
    ),
    "/v1/models/{name}/aliases/{alias}": {
        "put": {
            "summary": "Point an alias at a version (promote, roll back)",
            "security": _ADMIN,
            "parameters": [_NAME, _ALIAS],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["version"],
                            "properties": {"version": {"type": "integer"}},
                        }
                    }
                },
            },
            "responses": {
                "200": _json(_ref("Aliases")),
                **_errors(400, 401, 403, 404),
            },
        }
    },
    "/v1/models/{name}/versions/{version}/archive": {
        "post": {
            "summary": "Take a version out of service (its files are kept)",
            "security": _ADMIN,
            "parameters": [_NAME, _VERSION],
            "responses": {
                "200": _json(_ref("Archived")),
                **_errors(400, 401, 403, 404, 409),
            },
        }
    },
    "/v1/admin/reload": {
        "post": {
            "summary": "Reread the store now (and retry versions that failed to load)",
            "security": _ADMIN,
            "responses": {"200": _json(_ref("Reload")), **_errors(401, 403)},
        }
    },
}


def _os_json(schema: dict, description: str = "OK") -> dict:
    return _json(_ref(schema) if isinstance(schema, str) else schema, description)


def _os_errors(*statuses: int) -> dict:
    return {str(s): _json(_ref("OpenscoringError"), f"Error {s}") for s in statuses}


_OPENSCORING = "Openscoring-compatible API"
_OPENSCORING_PATHS = {
    "/model": {
        "get": {
            "tags": [_OPENSCORING],
            "summary": "Every model (Openscoring BatchModelResponse; {} when there is none)",
            "responses": {"200": _os_json("OpenscoringModelList")},
        }
    },
    "/model/{id}": {
        "get": {
            "tags": [_OPENSCORING],
            "summary": "The model's default version (Openscoring ModelResponse)",
            "parameters": [_ID],
            "responses": {"200": _os_json("OpenscoringModel"), **_os_errors(404, 500, 503)},
        },
        "put": {
            "tags": [_OPENSCORING],
            "summary": "Deploy: a new version, verified, made the default (201 new id, 200 replaced)",
            "security": _ADMIN,
            "parameters": [_ID],
            "requestBody": _PMML_BODY,
            "responses": {
                "200": _os_json("OpenscoringModel", "Replaced"),
                "201": _os_json("OpenscoringModel", "Deployed"),
                **_os_errors(400, 403, 413),
            },
        },
        "delete": {
            "tags": [_OPENSCORING],
            "summary": "Undeploy: archive every version (files kept, restorable)",
            "security": _ADMIN,
            "parameters": [_ID],
            "responses": {"200": _os_json({"type": "object"}), **_os_errors(403, 404)},
        },
        "post": {
            "tags": [_OPENSCORING],
            "summary": "Evaluate one record (Openscoring EvaluationRequest/Response)",
            "parameters": [_ID],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("OpenscoringEvaluationRequest")}},
            },
            "responses": {
                "200": _os_json("OpenscoringEvaluationResponse"),
                **_os_errors(400, 404, 413, 500, 503),
            },
        },
    },
    "/model/{id}/batch": {
        "post": {
            "tags": [_OPENSCORING],
            "summary": "Evaluate many records; a failed one gets {id, message}, the rest score",
            "parameters": [_ID],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("OpenscoringBatchRequest")}},
            },
            "responses": {
                "200": _os_json("OpenscoringBatchResponse"),
                **_os_errors(400, 404, 413, 500, 503),
            },
        }
    },
    "/model/{id}/csv": {
        "post": {
            "tags": [_OPENSCORING],
            "summary": "Evaluate a CSV (delimiter , ; or TAB detected; a first column 'id' is echoed)",
            "parameters": [
                _ID,
                {"name": "delimiterChar", "in": "query", "schema": {"type": "string"}},
                {"name": "quoteChar", "in": "query", "schema": {"type": "string"}},
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "text/plain": {"schema": {"type": "string"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            "responses": {
                "200": {
                    "description": "One row of results per input row",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                **_os_errors(400, 404, 413, 500, 503),
            },
        }
    },
    "/model/{id}/pmml": {
        "get": {
            "tags": [_OPENSCORING],
            "summary": "The PMML document of the default version",
            "security": _ADMIN,
            "parameters": [_ID],
            "responses": {
                "200": {
                    "description": "PMML",
                    "content": {"application/xml": {"schema": {"type": "string"}}},
                },
                **_os_errors(403, 404),
            },
        }
    },
}

_OS_FIELD = {
    "type": "object",
    "required": ["id", "dataType", "opType"],
    "properties": {
        "id": {"type": "string"},
        "dataType": {"type": "string"},
        "opType": {"type": "string"},
        "values": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}
_OS_MODEL = {
    "type": "object",
    "required": ["id", "miningFunction", "summary", "properties"],
    "properties": {
        "id": {"type": "string"},
        "miningFunction": {"type": "string"},
        "summary": {"type": "string"},
        "properties": {"type": "object"},
        "schema": {
            "type": "object",
            "properties": {
                k: {"type": "array", "items": _OS_FIELD}
                for k in ("inputFields", "targetFields", "outputFields")
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
_OS_EVALUATION = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "results": {"type": "object"},
        "message": {"type": "string"},
    },
    "additionalProperties": False,
}
_OS_REQUEST = {
    "type": "object",
    "properties": {"id": {"type": ["string", "null"]}, "arguments": {"type": "object"}},
    "additionalProperties": False,
}
_OPENSCORING_SCHEMAS = {
    "OpenscoringError": {
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string"}},
        "additionalProperties": False,
    },
    "OpenscoringModel": _OS_MODEL,
    "OpenscoringModelList": {
        "type": "object",
        "properties": {"responses": {"type": "array", "items": _OS_MODEL}},
        "additionalProperties": False,
    },
    "OpenscoringEvaluationRequest": _OS_REQUEST,
    "OpenscoringEvaluationResponse": _OS_EVALUATION,
    "OpenscoringBatchRequest": {
        "type": "object",
        "properties": {
            "id": {"type": ["string", "null"]},
            "requests": {"type": "array", "items": _OS_REQUEST},
        },
        "additionalProperties": False,
    },
    "OpenscoringBatchResponse": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "responses": {"type": "array", "items": _OS_EVALUATION},
        },
        "additionalProperties": False,
    },
}

_FIELD = {
    "type": "object",
    "required": ["name", "type", "op_type", "missing_allowed"],
    "properties": {
        "name": {"type": "string"},
        "type": {"type": "string"},
        "op_type": {"type": "string"},
        "missing_allowed": {"type": "boolean"},
        "categories": {"type": "array"},
        "intervals": {"type": "array", "items": {"type": "array"}},
    },
}
_FIELD_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "index": {"type": "integer", "description": "The record's position in the batch"},
        "field": {"type": ["string", "null"]},
        "code": {"type": "string"},
        "message": {"type": "string"},
    },
}
_VALUE = {"type": ["string", "number", "integer", "boolean", "null"]}
_RECORD = {"type": "object", "additionalProperties": _VALUE}

_SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                    "request_id": {"type": "string"},
                    "errors": {"type": "array", "items": _FIELD_ERROR},
                },
            }
        },
    },
    "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
    "Readiness": {
        "type": "object",
        "required": ["status", "failures", "models", "prediction_log"],
        "properties": {
            "status": {"enum": ["ready", "not_ready"]},
            "failures": {"type": "object", "additionalProperties": {"type": "string"}},
            "models": {"type": "object"},
            "prediction_log": _ref("PredictionLogState"),
        },
    },
    "PredictionLogState": {
        "type": "object",
        "required": ["state"],
        "properties": {
            "state": {
                "enum": ["ok", "failing", "off"],
                "description": "failing: its last write failed (retried; scoring goes on)",
            },
            "last_error": {"type": ["string", "null"]},
            "queued": {"type": "integer", "minimum": 0},
            "written_rows": {"type": "integer", "minimum": 0},
            "dropped_rows": {"type": "integer", "minimum": 0},
            "write_errors": {"type": "integer", "minimum": 0},
            "writer_restarts": {"type": "integer", "minimum": 0},
        },
    },
    "ModelSummary": {
        "type": "object",
        "required": ["name", "versions", "aliases", "default_version"],
        "properties": {
            "name": {"type": "string"},
            "versions": {"type": "array", "items": {"type": "integer"}},
            "aliases": {"type": "object", "additionalProperties": {"type": "integer"}},
            "default_version": {"type": ["integer", "null"]},
            "description": {"type": "string"},
            "algorithm": {"type": ["string", "null"]},
        },
    },
    "ModelList": {
        "type": "object",
        "required": ["models"],
        "properties": {"models": {"type": "array", "items": _ref("ModelSummary")}},
    },
    "ModelDescription": {
        "type": "object",
        "required": ["name", "version", "aliases", "card", "engine", "schema"],
        "properties": {
            "name": {"type": "string"},
            "version": {"type": "integer"},
            "aliases": {"type": "object", "additionalProperties": {"type": "integer"}},
            "card": {"type": "object", "description": "The model card (model-card.schema.json)"},
            "engine": {
                "type": "string",
                "description": "Which engine scores this version: 'compiled: ...' (the compiled "
                "tree evaluator and the rows of its load-time check against JPMML-Evaluator), "
                "'jpmml: compiling and checking in the background' (serving with "
                "JPMML-Evaluator until the check ends) or 'jpmml: <why not compiled>'.",
            },
            "schema": {
                "type": "object",
                "required": ["inputs", "outputs"],
                "properties": {
                    "inputs": {"type": "array", "items": _FIELD},
                    "outputs": {"type": "array", "items": _FIELD},
                },
            },
        },
    },
    "PredictRequest": {
        "oneOf": [
            {
                "type": "object",
                "required": ["record"],
                "properties": {"record": _RECORD, "key": _KEY},
            },
            {
                "type": "object",
                "required": ["records"],
                "properties": {"records": {"type": "array", "items": _RECORD}, "keys": _KEYS},
            },
            {
                "type": "object",
                "required": ["columns"],
                "properties": {
                    "columns": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": _VALUE},
                    },
                    "keys": _KEYS,
                },
            },
        ]
    },
    "PredictResponse": {
        "type": "object",
        "required": ["model", "version", "request_id"],
        "properties": {
            "model": {"type": "string"},
            "version": {"type": "integer"},
            "request_id": {"type": "string"},
            "result": _RECORD,
            "results": {"type": "array", "items": {"oneOf": [_RECORD, {"type": "null"}]}},
            "columns": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": _VALUE},
            },
            "errors": {"type": "array", "items": _FIELD_ERROR},
            "warnings": {
                "type": "array",
                "items": _FIELD_ERROR,
                "description": "Fields the model does not know, ignored (--unknown-fields warn)",
            },
        },
    },
    "Upload": {
        "type": "object",
        "required": ["name", "version", "card"],
        "properties": {
            "name": {"type": "string"},
            "version": {"type": "integer"},
            "card": {"type": "object"},
        },
    },
    "Aliases": {
        "type": "object",
        "required": ["name", "aliases"],
        "properties": {
            "name": {"type": "string"},
            "aliases": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
    },
    "Archived": {
        "type": "object",
        "required": ["name", "archived", "versions"],
        "properties": {
            "name": {"type": "string"},
            "archived": {"type": "integer"},
            "versions": {"type": "array", "items": {"type": "integer"}},
        },
    },
    "Reload": {
        "type": "object",
        "required": ["changes", "models"],
        "properties": {
            "changes": {"type": "array", "items": {"type": "string"}},
            "models": {"type": "object"},
        },
    },
}


def document(app: bottle.Bottle) -> dict:
    """The document for ``app`` (native and Openscoring-compatible API). Raises RuntimeError
    when the app's routes and the document's operations differ."""
    paths = {**_PATHS, **openapi_monitoring.PATHS, **_OPENSCORING_PATHS}
    documented = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    routed = {(r.method, re.sub(r"<(\w+)(:[^>]*)?>", r"{\1}", r.rule)) for r in app.routes}
    if documented != routed:
        raise RuntimeError(
            "openapi.py and the routes differ: undocumented "
            f"{sorted(routed - documented)}, not routed {sorted(documented - routed)}"
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pmmlkit scoring service",
            "version": importlib.metadata.version("pmmlkit"),
            "license": {"name": "AGPL-3.0-only", "identifier": "AGPL-3.0-only"},
        },
        "paths": paths,
        "components": {
            "schemas": {**_SCHEMAS, **openapi_monitoring.SCHEMAS, **_OPENSCORING_SCHEMAS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
