"""What every background worker is: a daemon thread that does one step every few seconds."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

log = logging.getLogger(__name__)


def lease_holder() -> str:
    """This worker's name on a database lease: host, process and a random part (a restarted
    process with a reused pid is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Periodic:
    """Runs `step()` from its own daemon thread every `interval` seconds, the first time after
    `first_delay` (default: one interval), until `stop()`. A failing step is logged and the
    next one runs on time: a background worker never dies of one bad turn."""

    def __init__(self, name: str, interval: float, first_delay: float | None = None):
        self.interval = interval
        self.first_delay = interval if first_delay is None else first_delay
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def step(self) -> None:
        raise NotImplementedError

    def start(self):
        self._thread.start()
        return self

    def stop(self, timeout: float = 0.0) -> None:
        """Ask the thread to stop; with `timeout`, wait that long for a running step to end."""
        self._stop.set()
        if timeout and self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        delay = self.first_delay
        while not self._stop.wait(delay):
            delay = self.interval
            try:
                self.step()
            except Exception:
                log.exception("%s failed; trying again in %.0f s", self._thread.name, delay)
