"""Real gunicorn servers with the settings a hardening test needs, and the API's app fixtures."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.api.conftest import app, client, make_app, mariadb_url  # noqa: F401 (fixtures)
from tests.api.servers import Gunicorn, free_port

ADMIN_KEY = "admin-" + secrets.token_hex(16)
RECOGNIZE_KEY = "recognize-" + secrets.token_hex(16)


def server_env(tmp: Path, **overrides: str) -> dict[str, str]:
    """A private SQLite database and model store; auth on with one key of each scope."""
    return {
        "FACEREC_DATABASE_URL": f"sqlite:///{tmp / 'facerec.db'}",
        "FACEREC_MODEL_DIR": str(tmp / "model-store"),
        "FACEREC_AUTH": "on",
        "FACEREC_API_KEYS": f"admin:{ADMIN_KEY},recognize:{RECOGNIZE_KEY}",
        **overrides,
    }


class OpsGunicorn(Gunicorn):
    """gunicorn with FACEREC_OPS_BIND: readiness is asked on the operations port."""

    def __init__(self, env: dict[str, str], log_path: Path):
        super().__init__(env, log_path)
        self.ops_port = free_port()
        self.ops_url = f"http://127.0.0.1:{self.ops_port}"
        self.env["FACEREC_OPS_BIND"] = f"127.0.0.1:{self.ops_port}"

    def wait_ready(self, timeout: float) -> None:
        public, self.url = self.url, self.ops_url
        try:
            super().wait_ready(timeout)
        finally:
            self.url = public


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    """One worker on a fresh database, ready (networks loaded)."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    with Gunicorn(server_env(tmp), tmp / "gunicorn.log") as server:
        yield server
