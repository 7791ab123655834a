"""`/metrics` and the operations port: what Prometheus asks, and where.

With FACEREC_OPS_BIND set, gunicorn also listens on an operations port that only Prometheus and
the kubelet reach (k8s/base/network-policy.yaml): `/metrics` and `/readyz` are served there
only (the public port answers 404), and the operations port serves nothing else. `/healthz`
answers on both. `/docs` and `/swagger.json` stay public: they are the clients' contract.
"""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import NotFound

from api import metrics
from api.config import bind_port
from api.service import current_service


def metrics_view():
    """Prometheus text format (not in the spec: it is not JSON)."""
    service = current_service()
    service.database_up()
    service.model()
    return metrics.exposition(service.settings.metrics_dir)


OPS_ONLY = frozenset({"/metrics", "/readyz"})
OPS_SERVED = OPS_ONLY | {"/healthz"}


def _local_port() -> int | None:
    """The port the request came in on: the accepted socket's, which no header can fake."""
    sock = request.environ.get("gunicorn.socket")
    if sock is not None:
        return sock.getsockname()[1]
    port = request.environ.get("SERVER_PORT", "")
    return int(port) if port.isdigit() else None


def separate_ops_port() -> None:
    """before_request: keep the operations endpoints off the public port, and the API off the
    operations port (a no-op without FACEREC_OPS_BIND)."""
    ops_bind = current_service().settings.ops_bind
    if ops_bind is None:
        return
    on_ops_port = _local_port() == bind_port(ops_bind)
    if request.path in OPS_ONLY and not on_ops_port:
        raise NotFound(f"{request.path} is served on the operations port only")
    if on_ops_port and request.path not in OPS_SERVED:
        raise NotFound("the operations port serves /metrics, /readyz and /healthz only")
