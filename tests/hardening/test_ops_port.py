"""Issue 11, item 14: with FACEREC_OPS_BIND, /metrics and /readyz are served on a port of their
own (the NetworkPolicy lets only Prometheus and the kubelet reach it), never on the public one."""

from __future__ import annotations

import pytest
import requests

from api.config import Settings

from .conftest import ADMIN_KEY, OpsGunicorn, server_env

ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ops")
    with OpsGunicorn(server_env(tmp), tmp / "gunicorn.log") as started:
        yield started


def get(url: str, **kwargs) -> requests.Response:
    return requests.get(url, timeout=10, **kwargs)


def test_the_public_port_has_no_metrics_and_no_readiness(server):
    for path in ("/metrics", "/readyz"):
        response = get(f"{server.url}{path}")
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "not_found"
    # A Host header naming the operations port changes nothing: the socket decides.
    spoofed = get(f"{server.url}/metrics", headers={"Host": f"127.0.0.1:{server.ops_port}"})
    assert spoofed.status_code == 404


def test_the_public_port_serves_the_api_liveness_and_its_spec(server):
    assert get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert get(f"{server.url}/dataset", headers=ADMIN).status_code == 200
    assert get(f"{server.url}/swagger.json").json()["info"]["title"] == "facerec"


def test_the_operations_port_serves_metrics_and_probes_only(server):
    metrics = get(f"{server.ops_url}/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["Content-Type"].startswith("text/plain")
    assert "facerec_request_duration_seconds" in metrics.text
    assert get(f"{server.ops_url}/readyz").json()["ready"] is True
    assert get(f"{server.ops_url}/healthz").json() == {"status": "ok"}
    for path in ("/dataset", "/swagger.json", "/docs"):
        response = get(f"{server.ops_url}{path}", headers=ADMIN)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"


def test_the_operations_port_must_differ_from_the_public_one(monkeypatch):
    monkeypatch.setenv("FACEREC_BIND", "0.0.0.0:8000")
    monkeypatch.setenv("FACEREC_OPS_BIND", "127.0.0.1:8000")
    with pytest.raises(ValueError, match="port of its own"):
        Settings.from_env()
