"""One API replica: a gunicorn master with its workers, as one pod of the Deployment would be."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .processes import GUNICORN, ManagedProcess, children, http_ok, local_url, wait_until

ROOT = Path(__file__).resolve().parents[2]


class Replica:
    """`gunicorn -c gunicorn.conf.py "api.app:create_app()"` on 127.0.0.1:`port`."""

    def __init__(self, name: str, port: int, root: Path, env: dict[str, str]):
        self.name = name
        self.port = port
        self.root = Path(root)
        self.address = f"127.0.0.1:{port}"  # FACEREC_BIND, and how nginx names it in X-Upstream
        self.url = local_url(port)
        self.env = {**os.environ, **env, "FACEREC_BIND": self.address}
        self.process: ManagedProcess | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def worker_pids(self) -> list[int]:
        return children(self.pid) if self.running() else []

    def start(self) -> Replica:
        self.process = ManagedProcess(
            self.name,
            [sys.executable, *GUNICORN],
            self.root / f"{self.name}.log",
            env=self.env,
            cwd=ROOT,
        ).start()
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.running()

    def ready(self) -> bool:
        return self.running() and http_ok(f"{self.url}/readyz")

    def wait_ready(self, timeout: float = 120.0) -> Replica:
        def ready() -> bool:
            if self.process is not None and not self.process.running():
                raise RuntimeError(f"{self.name} exited; see {self.root / (self.name + '.log')}")
            return http_ok(f"{self.url}/readyz")

        wait_until(ready, timeout, f"{self.name} ready on {self.port}", interval=0.2)
        return self

    def restart(self) -> Replica:
        self.stop()
        self.restarts += 1
        return self.start()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
