"""Real faults on real processes: a private mariadbd to SIGSTOP, gunicorn replicas to SIGTERM.

The private database is never the shared server on :3306, which other tests use. Every process
binds 127.0.0.1 and is stopped by its PID (its process group: gunicorn and its workers).
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from scripts.cluster.mariadb import PrivateMariaDB
from scripts.cluster.processes import ManagedProcess, free_port, wait_until
from tests.conftest import BUNDLE, PEOPLE, ROOT

ADMIN_KEY = secrets.token_hex(16)
RECOGNIZE_KEY = secrets.token_hex(16)
ADMIN = {"X-API-Key": ADMIN_KEY}
RECOGNIZE = {"X-API-Key": RECOGNIZE_KEY}
PHOTO = sorted((PEOPLE / "obama").iterdir())[0]


class Server:
    """One gunicorn master (and its workers) started by `serve`."""

    def __init__(self, process: ManagedProcess, port: int, log_path: Path):
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@contextmanager
def serve(tmp_path: Path, env: dict[str, str], prefix: tuple[str, ...] = (), workers: int = 1):
    """gunicorn -c gunicorn.conf.py on a free port, ready (networks loaded); stopped at the end.

    `prefix` runs it under another command (unshare, for a private mount of the model store).
    """
    port = free_port()
    log_path = tmp_path / f"gunicorn-{port}.log"
    full_env = {
        **os.environ,
        "FACEREC_MODEL_BUNDLE": str(BUNDLE),
        "FACEREC_MODEL_DIR": str(tmp_path / "model-store"),
        "FACEREC_DATABASE_URL": f"sqlite:///{tmp_path / 'facerec.db'}",
        "FACEREC_API_KEYS": f"admin:{ADMIN_KEY},recognize:{RECOGNIZE_KEY}",
        "FACEREC_WORKERS": str(workers),
        "FACEREC_ACCESS_LOG": "off",
        "FACEREC_MODEL_POLL_SECONDS": "0.2",
        **env,
        "FACEREC_BIND": f"127.0.0.1:{port}",
    }
    argv = [*prefix, sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    argv.append("api.app:create_app()")
    process = ManagedProcess("gunicorn", argv, log_path, env=full_env, cwd=ROOT).start()
    server = Server(process, port, log_path)
    try:
        wait_until(lambda: _ready(server), 90, f"gunicorn ready on {port}", interval=0.2)
        yield server
    finally:
        process.stop(timeout=20)


def _ready(server: Server) -> bool:
    if not server.process.running():
        raise RuntimeError(f"gunicorn exited:\n{server.log()}")
    try:
        return requests.get(server.url + "/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def timed(call) -> tuple[float, object]:
    """(seconds, result) of one call."""
    started = time.monotonic()
    result = call()
    return time.monotonic() - started, result


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory, bundle_dir):
    """A private mariadbd for this session; resumed (SIGCONT) and stopped at the end."""
    server = PrivateMariaDB(tmp_path_factory.mktemp("mariadb")).start()
    yield server
    server.stop()


@pytest.fixture
def database_url(mariadb):
    """The URL of a new, empty database on the private server (one per test)."""
    name = f"faults_{secrets.token_hex(4)}"
    mariadb.query(f"CREATE DATABASE {name}")
    return f"mysql+pymysql://root@127.0.0.1:{mariadb.port}/{name}", name


@contextmanager
def paused(process: ManagedProcess):
    """SIGSTOP a process (it keeps its sockets: connections are accepted, never answered)."""
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)
