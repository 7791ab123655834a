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
from tests.edge.conftest import CLIP, detector, free_port, stub_api, ultraface_dir  # noqa: F401

CLI_TIMEOUT = 180


class ApiServer:
    """`gunicorn -w 1 "api.app:create_app()"` on 127.0.0.1, on SQLite and a model store in `state`.

    Two servers on the same `state` are two replicas of one deployment.
    """

    def __init__(self, state: Path, port: int | None = None):
        self.state, self.port = state, port or free_port()
        self.process: subprocess.Popen | None = None
        self.log_path = state / f"gunicorn-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        env = dict(
            os.environ,
            FACEREC_AUTH="off",
            FACEREC_DATABASE_URL=f"sqlite:///{self.state}/db.sqlite",
            FACEREC_MODEL_DIR=str(self.state / "store"),
            FACEREC_MODEL_BUNDLE=str(BUNDLE),
        )
        command = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{self.port}", "-w", "1"]
        command += ["--timeout", "300", "api.app:create_app()"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        self._wait_until_up()
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the API exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/dataset", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers: that is all we wait for
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"the API did not start: {self.log_path.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def api_server(tmp_path_factory) -> ApiServer:
    if not (ROOT / "api" / "app.py").is_file():
        pytest.skip("the API (api/app.py) has not landed yet")
    if not (BUNDLE / "manifest.json").is_file():
        pytest.fail("no model bundle: run `make models`")
    server = ApiServer(tmp_path_factory.mktemp("api")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def api_url(api_server) -> str:
    return api_server.url


def run_cli(module: str, *args: str, timeout: int = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """A CLI as its users run it: a separate process, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", f"clients.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_edge_on_clip(api_url: str, *options: str, timeout: float) -> None:
    """The real edge daemon over the Hamilton clip, as camera `stage` at `theatre`; it must
    finish cleanly."""
    edge = subprocess.run(
        [sys.executable, "-m", "edge.daemon", "--source", str(CLIP), "--api-url", api_url,
         "--camera-id", "stage", "--location-id", "theatre", *options],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert edge.returncode == 0, edge.stderr[-2000:]
