"""Browsable API docs at /api/v1/docs: Swagger UI served from this process (no CDN).

The Swagger UI files come from the ``flask-swagger-ui`` package (its ``dist``
folder); the page has no inline script, so the web admin's CSP applies unchanged.
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, render_template_string, send_from_directory, url_for
from flask.typing import ResponseReturnValue

from orchestrator import __version__
from webui.security import CONTENT_SECURITY_POLICY

DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1/docs")

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>orchestrator API {{ version }}</title>
  <link rel="icon" href="{{ asset('favicon-32x32.png') }}">
  <link rel="stylesheet" href="{{ asset('swagger-ui.css') }}">
</head>
<body data-spec="{{ spec }}">
  <div id="swagger-ui"></div>
  <script src="{{ asset('swagger-ui-bundle.js') }}"></script>
  <script src="{{ url_for('static', filename='api-docs.js') }}"></script>
</body>
</html>
"""


def _asset(name: str) -> str:
    return url_for("api_docs.asset", filename=name)


# The web admin's policy, plus the inline SVG icons (data: URLs) of Swagger UI's CSS.
CSP = CONTENT_SECURITY_POLICY.replace("img-src 'self'", "img-src 'self' data:")


@bp.get("")
def index() -> ResponseReturnValue:
    page = render_template_string(PAGE, version=__version__, asset=_asset,
                                  spec=url_for("openapi.spec"))
    return page, 200, {"Content-Security-Policy": CSP}


@bp.get("/assets/<path:filename>")
def asset(filename: str) -> ResponseReturnValue:
    if filename not in ASSETS:
        return {"message": "Not found", "errors": {}}, 404
    return send_from_directory(DIST, filename, max_age=86400)
