"""A real API process for the CLI tests: gunicorn serving `api.app:create_app()` on 127.0.0.1.

It runs on SQLite and a temporary model store, with the repository's model bundle, and is stopped
by PID at the end of the session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import BUNDLE, ROOT

# The edge's fixtures (the detector, the stand-in API) serve these tests too.
from tests.edge.conftest import detector, free_port, stub_api, ultraface_dir  # noqa: F401

CLI_TIMEOUT = 180


@pytest.fixture(scope="session")
def api_url(tmp_path_factory) -> str:
    if not (ROOT / "api" / "app.py").is_file():
        pytest.skip("the API (api/app.py) has not landed yet")
    if not (BUNDLE / "manifest.json").is_file():
        pytest.fail("no model bundle: run `make models`")
    tmp = tmp_path_factory.mktemp("api")
    port = free_port()
    env = dict(
        os.environ,
        FACEREC_AUTH="off",
        FACEREC_DATABASE_URL=f"sqlite:///{tmp}/db.sqlite",
        FACEREC_MODEL_DIR=str(tmp / "store"),
        FACEREC_MODEL_BUNDLE=str(BUNDLE),
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        "1",
        "--timeout",
        "300",
    ]
    log = open(tmp / "gunicorn.log", "wb")  # noqa: SIM115  (kept open for the server's lifetime)
    server = subprocess.Popen(
        [*command, "api.app:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server, tmp / "gunicorn.log")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the API exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/dataset", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers: that is all we wait for
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the API did not start: {log.read_text()[-2000:]}")


def run_cli(module: str, *args: str, timeout: int = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """A CLI as its users run it: a separate process, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", f"clients.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
