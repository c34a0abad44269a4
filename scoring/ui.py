"""The monitoring page: ``GET /ui`` and its bundled assets under ``GET /ui/static/<path>``.

The page is a small HTML shell; ``static/ui.js`` draws it in the browser from the JSON API
(``/v1/models``, ``.../monitoring``, ``.../cases``, ``.../feedback``) with uPlot, vendored under
``static/vendor/uplot/``. Nothing comes from the internet at run time, and the page's
Content-Security-Policy tells the browser so. Assets are served from a table of the files found
at start-up: any other path, ``..`` included, is a 404, never a file read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import bottle

from .errors import PmmlkitError

STATIC = Path(__file__).with_name("static")
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE
}
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_IMMUTABLE = "public, max-age=31536000, immutable"
# Asset URLs are relative ("ui/static/..." from "/ui"), so the page also works under a prefix.
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pmmlkit monitoring</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{vendor/uplot/uPlot.min.css}">
<link rel="stylesheet" href="{ui.css}">
</head>
<body>
<header class="top"><h1>pmmlkit</h1><span>model monitoring</span></header>
<div id="status" role="status"></div>
<div class="layout">
<nav id="models" aria-label="Models"><p class="muted">Loading models&hellip;</p></nav>
<main id="model" aria-live="polite"></main>
</div>
<script src="{vendor/uplot/uPlot.iife.min.js}"></script>
<script src="{ui.js}"></script>
</body>
</html>
"""


class AssetNotFoundError(PmmlkitError, LookupError):
    code = "not_found"
    status = 404


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    digest: str  # of the body: the ETag and the ?v= of the page's links

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'


def assets(root: Path = STATIC) -> dict[str, Asset]:
    """Every file under ``root`` (dot files aside) by its relative path, read once."""
    table = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            body = path.read_bytes()
            content_type = _TYPES.get(path.suffix, "application/octet-stream")
            table[relative.as_posix()] = Asset(
                body, content_type, hashlib.sha256(body).hexdigest()[:20]
            )
    return table


def page(table: dict[str, Asset]) -> str:
    """The HTML shell, each asset linked as ``ui/static/<path>?v=<digest>``."""
    html = _PAGE
    for path in ("vendor/uplot/uPlot.min.css", "ui.css", "vendor/uplot/uPlot.iife.min.js", "ui.js"):
        html = html.replace("{" + path + "}", f"ui/static/{path}?v={table[path].digest}")
    return html


def install(app: bottle.Bottle) -> None:
    table = assets()
    html = page(table)

    @app.get("/ui")
    def ui():
        bottle.response.content_type = "text/html; charset=utf-8"
        bottle.response.set_header("Cache-Control", "no-cache")
        bottle.response.set_header("Content-Security-Policy", _POLICY)
        bottle.response.set_header("X-Content-Type-Options", "nosniff")
        return html

    @app.get("/ui/static/<path:path>")
    def static(path):
        asset = table.get(path)
        if asset is None:
            raise AssetNotFoundError(f"No file '{path}' among the monitoring page's assets.")
        return _serve(asset)


def _serve(asset: Asset) -> bytes:
    """The asset, cached for good when asked for by its digest (the page's links), else
    revalidated by ETag (304 when unchanged)."""
    response = bottle.response
    versioned = bottle.request.query.get("v") == asset.digest
    response.set_header("Cache-Control", _IMMUTABLE if versioned else "no-cache")
    response.set_header("ETag", asset.etag)
    response.set_header("X-Content-Type-Options", "nosniff")
    if asset.etag in bottle.request.headers.get("If-None-Match", ""):
        response.status = 304
        return b""
    response.content_type = asset.content_type
    return asset.body
