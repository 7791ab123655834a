"""The Flask application factory: `gunicorn "api.app:create_app()"` builds one app per worker."""

from __future__ import annotations

import logging

from flask import Flask
from flask_restx import Api
from werkzeug.routing import IntegerConverter

from api import audit, console, metrics, schemas
from api.auth import HEADER
from api.config import Settings
from api.errors import register_error_handlers
from api.ops_port import metrics_view, separate_ops_port
from api.routes import (
    alerts,
    corrections,
    dataset,
    events,
    face_recognition,
    health,
    last_seen,
    model,
    person_tags,
    recognitions,
    tracks,
    unknowns,
)
from api.routes import audit as audit_routes
from api.service import EXTENSION, Service

log = logging.getLogger(__name__)


class FacerecApi(Api):
    def unauthorized(self, response):
        """An API key is expected, not HTTP basic auth (flask-restx's default challenge)."""
        response.headers["WWW-Authenticate"] = f'ApiKey header="{HEADER}"'
        return response


def _warn_if_open(settings: Settings) -> None:
    if not settings.auth_enabled:
        log.warning(
            "!!! FACEREC_AUTH=off: API KEYS ARE NOT CHECKED, ANYONE CAN ENROL, TRAIN AND DELETE. "
            "Use this for local runs only !!!"
        )
    elif not settings.api_keys:
        log.warning("FACEREC_API_KEYS is empty: every request that needs a key is refused")


class RowIdConverter(IntegerConverter):
    """`<int:...>` in a route is a row id: one past BIGINT (2**63 - 1) matches no route (404),
    where the database driver would fail on it (a 500)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )
    _warn_if_open(settings)
    app = Flask(__name__)
    app.url_map.converters["int"] = RowIdConverter
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        RESTX_ERROR_404_HELP=False,
        RESTX_MASK_SWAGGER=False,
        JSON_SORT_KEYS=False,
    )
    api = FacerecApi(
        app,
        version="1.0",
        title="facerec",
        description="Face recognition for video surveillance: enrol people, train, recognise.",
        doc="/docs",
        authorizations={"apikey": {"type": "apiKey", "in": "header", "name": HEADER}},
        security="apikey" if settings.auth_enabled else None,
    )
    schemas.register(api)
    for routes in (
        dataset,
        model,
        face_recognition,
        tracks,
        last_seen,
        recognitions,
        unknowns,
        events,
        audit_routes,
        alerts,
        person_tags,
        corrections,
    ):
        api.add_namespace(routes.ns)
    api.add_namespace(health.ns)
    register_error_handlers(app, api)
    metrics.install(app)
    audit.install(app)
    app.before_request(separate_ops_port)
    app.add_url_rule("/metrics", "metrics", metrics_view)
    console.install(app, api)
    app.extensions[EXTENSION] = Service(settings).start()
    return app
