"""`/healthz`, `/readyz` and `/metrics`: what the kubelet, the load balancer and Prometheus ask."""

from __future__ import annotations

from flask import current_app
from flask_restx import Namespace, Resource

from . import metrics, schemas

ns = Namespace("health", description="Liveness and readiness probes (no API key)", path="/")


def _service():
    return current_app.extensions["facerec"]


@ns.route("/healthz")
@ns.doc(security=[])
class Health(Resource):
    @ns.response(200, "The process answers", schemas.health)
    def get(self):
        """Alive: the worker answers (nothing else is checked)."""
        return {"status": "ok"}


@ns.route("/readyz")
@ns.doc(security=[])
class Ready(Resource):
    @ns.response(200, "Ready: the networks are loaded", schemas.readiness)
    @ns.response(503, "Not ready yet: the networks are loading (or failed)", schemas.readiness)
    def get(self):
        """Ready once the networks are loaded. The database's state is in the body only, so a
        database outage does not take every replica out of the load balancer."""
        service = _service()
        analyzer = service.analyzers.state
        body = {
            "ready": analyzer == "loaded",
            "analyzer": analyzer,
            "model_version": service.model().version,
            "database": "up" if service.database_up() else "down",
        }
        return body, 200 if body["ready"] else 503


def metrics_view():
    """Prometheus text format (not in the spec: it is not JSON)."""
    service = _service()
    service.database_up()
    service.model()
    return metrics.exposition(service.settings.metrics_dir)
