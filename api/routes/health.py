"""`/healthz` and `/readyz`: what the kubelet and the load balancer ask (api/ops_port.py says
which port answers them)."""

from __future__ import annotations

from flask_restx import Namespace, Resource

from api import schemas
from api.service import current_service

ns = Namespace("health", description="Liveness and readiness probes (no API key)", path="/")


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
        service = current_service()
        analyzer = service.analyzers.state
        body = {
            "ready": analyzer == "loaded",
            "analyzer": analyzer,
            "model_version": service.model().version,
            "database": "up" if service.database_up() else "down",
        }
        return body, 200 if body["ready"] else 503
