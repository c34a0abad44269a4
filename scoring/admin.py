"""Admin calls of the HTTP service: upload a version, move an alias, archive a version, reload.

With ``--admin-token`` set they need ``Authorization: Bearer <token>``; without one they are
refused unless the service listens on loopback only.
"""

from __future__ import annotations

import getpass
import hmac
import importlib.metadata
import ipaddress

import bottle

from .engine import Model
from .errors import PmmlkitError
from .observe import note
from .payloads import PayloadError, json_response, parse_json, read_body
from .registry import Registry
from .settings import Settings
from .store import DEFAULT_ALIAS, check_name


class UnauthorizedError(PmmlkitError):
    code = "unauthorized"
    status = 401


class ForbiddenError(PmmlkitError):
    code = "forbidden"
    status = 403


def install(app: bottle.Bottle, registry: Registry, settings: Settings) -> None:
    store = registry.store

    @app.put("/v1/models/<name>")
    def upload(name):
        authorize(settings)
        card = publish_upload(registry, check_name(name), read_body(settings))
        bottle.response.status = 201
        return json_response({"name": name, "version": card["version"], "card": card})

    @app.put("/v1/models/<name>/aliases/<alias>")
    def move_alias(name, alias):
        authorize(settings)
        version = parse_json(read_body(settings)).get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise PayloadError('The body must be {"version": <a version number>}.', field="version")
        aliases = store.set_alias(name, alias, version)
        registry.reload()
        return json_response({"name": name, "aliases": aliases})

    @app.post("/v1/models/<name>/versions/<version:int>/archive")
    def archive(name, version):
        authorize(settings)
        store.archive(name, version)
        registry.reload()
        return json_response({"name": name, "archived": version, "versions": store.versions(name)})

    @app.post("/v1/admin/reload")
    def reload():
        authorize(settings)
        changes = registry.reload(retry_failed=True)
        return json_response({"changes": changes, "models": registry.status()})


def publish_upload(
    registry: Registry, name: str, pmml: bytes, *, make_default: bool = False
) -> dict:
    """Publishes an uploaded PMML as a new version once it has parsed and passed its
    verification rows, and serves it at once; returns its card. ``make_default`` moves the
    production alias, when set, to the new version (Openscoring's "replace")."""
    store = registry.store
    settings = registry.settings
    model = Model.load_bytes(pmml, name, settings, compile=name not in settings.interpreted_models)
    card = store.publish(name, pmml, upload_card(model, bottle.request.query))
    if make_default and DEFAULT_ALIAS in store.aliases(name):
        store.set_alias(name, DEFAULT_ALIAS, card["version"])
    registry.adopt(name, card["version"], model)  # verified already: not loaded twice
    registry.reload()
    note(model=name, version=card["version"])
    return card


def authorize(settings: Settings) -> None:
    if settings.admin_token is None:
        if not _loopback(settings.host):
            raise ForbiddenError(
                f"Admin calls are refused: the service listens on {settings.host} and no admin token is set "
                "(--admin-token or PMMLKIT_ADMIN_TOKEN)."
            )
        return
    header = bottle.request.get_header("Authorization", "")
    if not header.startswith("Bearer "):
        raise UnauthorizedError("This admin call needs an 'Authorization: Bearer <token>' header.")
    if not hmac.compare_digest(header[len("Bearer ") :].encode(), settings.admin_token.encode()):
        raise ForbiddenError("The admin token is wrong.")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def upload_card(model: Model, query) -> dict:
    """The card of an uploaded PMML: what the PMML itself tells, and who sent it."""
    target = model.outputs[0]
    kinds = {
        "classification": "classification",
        "regression": "regression",
        "clustering": "clustering",
    }
    entry = {"name": target.name, "kind": kinds.get(model.mining_function, "outlier_detection")}
    if target.categories:
        entry["classes"] = list(target.categories)
    return {
        "created_by": query.get("created_by") or f"http upload ({getpass.getuser()})",
        "description": query.get("description", ""),
        "algorithm": {"estimator": model.algorithm or "unknown", "params": {}},
        "input_schema": [f.to_dict() for f in model.inputs],
        "target": entry,
        "outputs": [f.name for f in model.outputs],
        "library_versions": {
            "pmmlkit": importlib.metadata.version("pmmlkit"),
            "jpmml-evaluator": model.engine_version,
            "java": model.java_version,
        },
        "source": "upload",
    }
