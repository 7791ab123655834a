"""The whole cluster: one database, N replicas sharing a model directory, nginx in front."""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .mariadb import PrivateMariaDB
from .nginx import NginxBalancer
from .processes import free_port
from .replica import ROOT, Replica

log = logging.getLogger("facerec.cluster")


@dataclass
class ClusterConfig:
    root: Path  # logs, nginx prefix, private datadir, model store
    replicas: int = 3
    workers: int = 1  # gunicorn workers per replica
    # None: a private mariadbd on a free port under `root`; else an existing database's URL.
    database_url: str | None = None
    bundle_dir: Path = ROOT / "models"
    model_dir: Path | None = None  # default: <root>/model-store, shared by every replica
    model_poll_seconds: float = 1.0
    auth: bool = False
    api_keys: str = ""  # FACEREC_API_KEYS, "scope:key,..." when auth is on
    nginx_port: int | None = None
    env: dict[str, str] = field(default_factory=dict)  # more FACEREC_* settings

    def replica_env(self, database_url: str) -> dict[str, str]:
        env = {
            "FACEREC_WORKERS": str(self.workers),
            "FACEREC_DATABASE_URL": database_url,
            "FACEREC_MODEL_DIR": str(self.model_dir or Path(self.root) / "model-store"),
            "FACEREC_MODEL_BUNDLE": str(self.bundle_dir),
            "FACEREC_MODEL_POLL_SECONDS": str(self.model_poll_seconds),
            "FACEREC_AUTH": "on" if self.auth else "off",
        }
        if self.api_keys:
            env["FACEREC_API_KEYS"] = self.api_keys
        return {**env, **self.env}


class Cluster:
    """Start with `with Cluster(config) as cluster:`; every process is stopped on exit.

    A supervisor thread restarts any replica that dies (as the kubelet would), on the same port,
    so nginx finds it again once its passive health check lets it back in.
    """

    def __init__(self, config: ClusterConfig):
        self.config = config
        self.root = Path(config.root)
        self.database: PrivateMariaDB | None = None
        self.database_url = config.database_url
        self.replicas: list[Replica] = []
        self.nginx: NginxBalancer | None = None
        self._stopped = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.nginx.url

    @property
    def model_dir(self) -> Path:
        return Path(self.config.model_dir or self.root / "model-store")

    def start(self, ready_timeout: float = 180.0) -> Cluster:
        try:
            self._start(ready_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, ready_timeout: float) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.model_dir.mkdir(parents=True, exist_ok=True)
        if self.database_url is None:
            self.database = PrivateMariaDB(self.root / "mariadb").start()
            self.database_url = self.database.url
        env = self.config.replica_env(self.database_url)
        for index in range(self.config.replicas):
            replica = Replica(f"replica-{index + 1}", free_port(), self.root / "logs", env)
            if self.config.workers > 1:
                metrics_dir = self.root / "metrics" / replica.name
                shutil.rmtree(metrics_dir, ignore_errors=True)
                metrics_dir.mkdir(parents=True)
                replica.env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
            self.replicas.append(replica.start())
        for replica in self.replicas:
            replica.wait_ready(ready_timeout)
        self.nginx = NginxBalancer(
            self.root / "nginx", [r.port for r in self.replicas], self.config.nginx_port
        ).start()
        self._supervisor = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
        self._supervisor.start()
        log.info("cluster up: %s -> %s", self.url, ", ".join(r.url for r in self.replicas))

    def _supervise(self) -> None:
        while not self._stopped.wait(0.25):
            with self._lock:
                for replica in self.replicas:
                    if not self._stopped.is_set() and not replica.running():
                        log.warning("%s (pid %s) died; restarting it", replica.name, replica.pid)
                        replica.restart()

    def stop(self) -> None:
        """Stop everything this cluster started, by PID, nginx first."""
        self._stopped.set()
        if self._supervisor is not None:
            self._supervisor.join()
        with self._lock:
            if self.nginx is not None:
                self.nginx.stop()
            for replica in self.replicas:
                replica.stop()
            if self.database is not None:
                self.database.stop()

    def pids(self) -> dict[str, int]:
        """What runs now, by name (for the state file and `make cluster-down`)."""
        processes = {r.name: r.pid for r in self.replicas if r.running()}
        if self.nginx is not None and self.nginx.process.running():
            processes["nginx"] = self.nginx.process.pid
        if self.database is not None and self.database.process.running():
            processes["mariadb"] = self.database.process.pid
        return processes

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
