"""Issue 11, item 2: a worker sent SIGTERM while its networks are still loading shuts down
cleanly (it used to die of SIGABRT: "terminate called without an active exception")."""

from __future__ import annotations

import signal
import time

import requests

from tests.api.servers import Gunicorn

from .conftest import server_env

# SIGTERM this long after the worker first answers: the load (ONNX Runtime building its
# sessions, in C++) takes a few tenths of a second, so some of these land inside it.
DELAYS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)


class Booting(Gunicorn):
    """Started, but not waited for: the test wants the worker before it is ready."""

    def wait_ready(self, timeout: float) -> None:
        return None


def analyzer_state(server: Gunicorn) -> str | None:
    try:
        return requests.get(f"{server.url}/readyz", timeout=2).json()["analyzer"]
    except requests.RequestException:
        return None


def terminate_while_loading(tmp, delay: float) -> tuple[bool, int, str]:
    """(SIGTERM came while loading, master's exit code, the log)."""
    log = tmp / f"gunicorn-{delay}.log"
    server = Booting(server_env(tmp, FACEREC_DATABASE_URL=f"sqlite:///{tmp}/{delay}.db"), log)
    server.start()
    try:
        deadline = time.monotonic() + 60
        while analyzer_state(server) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay)
        loading = analyzer_state(server) == "loading"
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=40)
    finally:
        server.stop()
    return loading, code, log.read_text()


def test_sigterm_while_the_networks_load_is_a_clean_exit(tmp_path):
    caught = 0
    for delay in DELAYS:
        loading, code, log = terminate_while_loading(tmp_path, delay)
        caught += loading
        assert "terminate called" not in log, log[-2000:]
        assert "SIGABRT" not in log and "was sent" not in log, log[-2000:]
        assert code == 0, log[-2000:]
    assert caught >= 2, "SIGTERM never reached a worker that was still loading: no evidence"
