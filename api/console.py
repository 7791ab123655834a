"""The operator console: a static page at `/` (api/console/) that talks to the same API.

It is plain HTML, CSS and JavaScript served by the app itself (no separate server, no CDN), so
it works offline and wherever the API is reachable. The one thing it cannot learn from the API
is whether keys are checked at all; `GET /console/config` says so, without a key.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, send_from_directory
from flask_restx import Api, Namespace, Resource, fields

from .service import current_service

STATIC = Path(__file__).with_name("console")
# The page loads its own files only; faces are fetched with the key and shown as blob: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

ns = Namespace("console", description="The operator console's settings (no API key)", path="/")
config_model = ns.model(
    "ConsoleConfig",
    {"auth": fields.Boolean(required=True, description="false when FACEREC_AUTH=off")},
)


@ns.route("/console/config")
@ns.doc(security=[])
class ConsoleConfig(Resource):
    @ns.response(200, "What the console needs before sign-in", config_model)
    def get(self):
        """Whether API keys are checked (the console then asks for one)."""
        return {"auth": current_service().keys.enabled}


def _send(filename: str):
    response = send_from_directory(STATIC, filename, max_age=0)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def install(app: Flask, api: Api) -> None:
    """Serve the console at `/` (replacing flask-restx's empty root), its files under
    `/console/`, and `/console/config` (in the spec)."""
    api.add_namespace(ns)
    app.view_functions["root"] = lambda: _send("index.html")
    app.add_url_rule("/console/<path:filename>", "console_file", _send)
