"""What one worker holds for its whole life: database, model store and watcher, the networks.

The networks (MTCNN + FaceNet sessions) load once per worker in a background thread started
with the app, so the worker answers /healthz at once and /readyz turns 200 when they are in.
Another background thread watches the database, so no probe ever waits for it.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app
from threadpoolctl import threadpool_limits

from api.config import Settings
from api.model_store import ModelStore, ModelWatcher
from api.recognition import FaceAnalyzer
from api.recognition.calibration import threshold_for
from api.retention import RetentionPurger
from api.storage import Database
from api.training import Trainer, TrainingJob
from api.unknowns import UnknownGrouper
from api.webhooks import WebhookSender

from . import metrics
from .errors import ServiceUnavailable
from .keys import KeyChecker

log = logging.getLogger(__name__)

EXTENSION = "facerec"  # the key of `app.extensions` that holds the worker's Service
ANALYZER_WAIT_SECONDS = 120.0
DATABASE_CHECK_SECONDS = 1.0
# On shutdown, how long a training job gets to notice it must stop before it is failed for it.
JOB_STOP_SECONDS = 10.0


class AnalyzerLoader:
    """Loads the FaceAnalyzer once, off the request path; requests wait for it if they must."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._analyzer: FaceAnalyzer | None = None
        self._error: Exception | None = None
        self._loaded = threading.Event()
        # Not a daemon: a worker stopped mid-load must let ONNX Runtime finish building its
        # sessions, or the interpreter kills the thread inside C++ and the worker dies of SIGABRT.
        self._thread = threading.Thread(target=self._load, name="analyzer-loader", daemon=False)

    def start(self) -> AnalyzerLoader:
        self._thread.start()
        return self

    def _load(self) -> None:
        try:
            self._analyzer = FaceAnalyzer.from_bundle(
                self.settings.bundle_dir,
                backend=self.settings.backend,
                threads=self.settings.ort_threads,
                margin=self.settings.face_margin,
                min_face_size=self.settings.min_face_size,
                embedder=self.settings.embedder,
            )
            log.info(
                "networks loaded (bundle %s, embedder %s)",
                self._analyzer.bundle_version,
                self._analyzer.embedding_space,
            )
        except Exception as error:
            log.exception("cannot load the model bundle from %s", self.settings.bundle_dir)
            self._error = error
        finally:
            self._loaded.set()

    @property
    def state(self) -> str:
        if not self._loaded.is_set():
            return "loading"
        return "failed" if self._error is not None else "loaded"

    def loaded(self) -> FaceAnalyzer | None:
        """The analyzer if it is in, without waiting."""
        return self._analyzer if self._loaded.is_set() else None

    def get(self, timeout: float = ANALYZER_WAIT_SECONDS) -> FaceAnalyzer:
        if not self._loaded.wait(timeout):
            raise ServiceUnavailable("the networks are still loading", code="not_ready")
        if self._analyzer is None:
            raise ServiceUnavailable(
                f"the model bundle could not be loaded: {self._error}", code="not_ready"
            )
        return self._analyzer


class DatabaseMonitor:
    """Pings the database every DATABASE_CHECK_SECONDS from its own thread and keeps the answer.

    Readiness and metrics read the last answer (probes never wait for a hung database), the
    ping opens or closes the database's circuit breaker, and whenever the database answers
    without its schema (created after start-up, or its tables dropped) `prepare` runs again.
    """

    def __init__(self, db: Database, prepare):
        self.db = db
        self.prepare = prepare
        self.up = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="database-monitor", daemon=True)

    def check(self) -> bool:
        reachable = self.db.ping()
        if reachable and not self.db.schema_ready:
            try:
                self.prepare()
            except Exception as error:
                log.warning("the database answers but its schema cannot be created: %s", error)
        up = reachable and self.db.schema_ready
        if up != self.up:
            log.log(
                logging.INFO if up else logging.ERROR, "the database is %s", "up" if up else "down"
            )
        self.up = up
        return up

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(DATABASE_CHECK_SECONDS):
            self.check()


class Service:
    """The worker's shared objects; routes reach them through `current_service()`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database(settings.database_url, timeout=settings.database_timeout_seconds)
        self.database = DatabaseMonitor(self.db, self._prepare_database)
        self.retention = RetentionPurger(self.db, settings.retention_days)
        self.store = ModelStore(settings.model_dir, keep=settings.keep_models)
        self.watcher = ModelWatcher(self.store, poll_seconds=settings.model_poll_seconds)
        self.keys = KeyChecker(
            settings.auth_enabled, settings.api_keys, self.db, secret=settings.key_secret
        )
        self.analyzers = AnalyzerLoader(settings)
        self.trainer = Trainer(
            self.db,
            self.store,
            self.analyzers.get,
            max_image_pixels=settings.max_image_pixels,
            false_accept_rate=settings.false_accept_rate,
            match_threshold=settings.match_threshold,
            hnsw_threshold=settings.hnsw_threshold,
            lease_seconds=settings.training_lease_seconds,
            on_published=lambda _version: self.watcher.refresh(),
        )
        self.grouper = UnknownGrouper(self.db, self._embedding_space, self._join_threshold)
        self.webhooks = (
            WebhookSender(settings.webhook_url, settings.webhook_secret)
            if settings.webhook_url
            else None
        )
        self.jobs: dict[int, TrainingJob] = {}
        self.stopping = False

    def _embedding_space(self) -> str | None:
        analyzer = self.analyzers.loaded()
        return analyzer.embedding_space if analyzer else None

    def _join_threshold(self) -> float | None:
        analyzer = self.analyzers.loaded()
        if analyzer is None:
            return None
        return threshold_for(analyzer.embedder.name, 1, self.settings.unknown_join_rate)

    def _prepare_database(self) -> None:
        """Schema and configured keys: at start-up, and whenever the database comes back bare."""
        self.db.create_schema()
        self.keys.store_configured()

    def start(self) -> Service:
        """Schema, configured keys, the model and the networks: everything a worker needs.

        The database may be down (recognition does not need it): the monitor's first check
        waits at most the ping timeout, and later checks prepare it when it comes.
        """
        # numpy's BLAS splits even a one-face gallery product over threads that then spin:
        # at 1,000 people that doubled a recognition's p50 (benchmarks/gallery_http.py).
        # A worker serves one core's worth of requests; its BLAS gets one thread.
        threadpool_limits(limits=1, user_api="blas")
        if not self.database.check():
            log.error("the database is not reachable at start-up; retrying in the background")
        self.database.start()
        self.retention.start()
        self.grouper.start()
        self.settings.model_dir.mkdir(parents=True, exist_ok=True)
        metrics.observe_model(self.watcher.refresh().version)
        self.watcher.start()
        self.analyzers.start()
        return self

    def stop_jobs(self) -> None:
        """Refuse new training jobs and ask running ones to stop (cheap: fine in a signal handler)."""
        self.stopping = True
        for job in list(self.jobs.values()):
            job.stop("the worker shut down before the job finished; start it again")

    def close(self) -> None:
        """Stop jobs (failed, lease released), the watchers, then drop pooled connections."""
        self.stop_jobs()
        for job in list(self.jobs.values()):
            job.finish_stopping(JOB_STOP_SECONDS)
        self.database.stop()
        self.retention.stop()
        self.grouper.stop()
        if self.webhooks is not None:
            self.webhooks.close()
        self.watcher.stop()
        self.db.close()

    def model(self):
        """The snapshot a request works with from its start to its end."""
        snapshot = self.watcher.snapshot()
        metrics.observe_model(snapshot.version)
        return snapshot

    def database_up(self) -> bool:
        """The database's state at the monitor's last check (never waits for the database).

        The gauge is set here, when asked, not by the monitor: apps sharing one process
        (tests) would overwrite each other's value."""
        up = self.database.up
        metrics.observe_database(up)
        return up

    def start_training(self, kind: str) -> TrainingJob:
        if self.stopping:
            raise ServiceUnavailable("this worker is shutting down; retry", code="shutting_down")
        job = self.trainer.start(kind)
        self.jobs = {k: v for k, v in self.jobs.items() if v.thread.is_alive()}
        self.jobs[job.id] = job
        return job


def service_of(app: Flask) -> Service:
    """The Service `create_app` gave this app."""
    return app.extensions[EXTENSION]


def current_service() -> Service:
    """The Service of the app handling the current request (as Flask's `get_db()`)."""
    return service_of(current_app)
