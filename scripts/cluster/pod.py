"""One API pod's processes on 127.0.0.1, as the image runs them (k8s/base/api.yaml): gunicorn
with the shipped gunicorn.conf.py, facerec-events, and nginx in front (facerec-proxy), each on a
free port, each stopped by its PID. Tests and benchmarks use it.

    with LocalPod(tmp_path, env) as pod:
        requests.get(pod.url + "/events", stream=True)   # nginx -> facerec-events
        pod.api_url                                       # gunicorn directly, behind nginx's back
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import requests

from .processes import GUNICORN, ManagedProcess, free_port, local_url, wait_until

ROOT = Path(__file__).resolve().parents[2]


class LocalPod:
    def __init__(self, root: Path, env: dict[str, str], proxy: bool = True):
        self.root = Path(root)
        self.proxy = proxy
        self.api_port, self.events_port, self.proxy_port = free_port(), free_port(), free_port()
        self.env = {
            **os.environ,
            "FACEREC_ACCESS_LOG": "off",
            **env,
            "FACEREC_BIND": f"127.0.0.1:{self.api_port}",
            "FACEREC_EVENTS_BIND": f"127.0.0.1:{self.events_port}",
            "FACEREC_PROXY_BIND": f"127.0.0.1:{self.proxy_port}",
        }
        self.processes: dict[str, ManagedProcess] = {}
        # The pod's public address: nginx (or gunicorn when started without the proxy).
        self.url = local_url(self.proxy_port if proxy else self.api_port)
        self.api_url, self.events_url = local_url(self.api_port), local_url(self.events_port)

    def _start(self, name: str, argv: list[str]) -> None:
        log = self.root / f"{name}.log"
        process = ManagedProcess(name, argv, log, env=self.env, cwd=ROOT).start()
        self.processes[name] = process

    def start(self, timeout: float = 120.0) -> LocalPod:
        self.root.mkdir(parents=True, exist_ok=True)
        python = sys.executable
        self._start("gunicorn", [python, *GUNICORN])
        self._start("events", [python, "-m", "api.events_cli"])
        if self.proxy:
            self._start("proxy", [python, "-m", "api.proxy_config", str(self.root / "nginx")])
        try:
            wait_until(self._ready, timeout, "the local pod ready", interval=0.2)
        except BaseException:
            self.stop()
            raise
        return self

    def _ready(self) -> bool:
        for name, process in self.processes.items():
            if not process.running():
                raise RuntimeError(f"{name} exited:\n{self.log(name)}")
        urls = [self.api_url + "/readyz", self.events_url + "/readyz"]
        if self.proxy:
            urls.append(self.url + "/healthz")
        try:
            return (
                all(requests.get(url, timeout=1).status_code == 200 for url in urls)
                and (requests.get(self.events_url + "/readyz", timeout=1).json()["ready"])
            )
        except requests.RequestException:
            return False

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop(timeout=20)

    def __enter__(self) -> LocalPod:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
