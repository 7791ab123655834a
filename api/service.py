"""What one worker holds for its whole life: database, model store and watcher, the networks
(api/analyzer_loader.py) and the background workers (workers/: the database monitor, training,
unknown grouping, retention, closing quiet tracks, webhooks)."""

from __future__ import annotations

import logging
import threading
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from threadpoolctl import threadpool_limits

from api.analyzer_loader import AnalyzerLoader
from api.config import Settings
from recognition.calibration import threshold_for
from recognition.grouping import Nearby
from storage import Database
from storage.model_store import ModelStore, ModelWatcher
from workers.alert_webhooks import AlertSender
from workers.database_monitor import DatabaseMonitor
from workers.grouper import UnknownGrouper
from workers.retention import RetentionPurger
from workers.track_closer import TrackCloser
from workers.trainer import Trainer, TrainingJob
from workers.webhooks import WebhookSender

from . import metrics
from .errors import ServiceUnavailable
from .keys import KeyChecker
from .rendering import track_event_json
from .stream_limits import StreamLimits

log = logging.getLogger(__name__)

EXTENSION = "facerec"  # the key of `app.extensions` that holds the worker's Service
# On shutdown, how long a training job gets to notice it must stop before it is failed for it.
JOB_STOP_SECONDS = 10.0


class Service:
    """The worker's shared objects; routes reach them through `current_service()`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database(settings.database_url, timeout=settings.database_timeout_seconds)
        self.db.site_timezone = ZoneInfo(settings.site_timezone)  # alert rules' clock
        self.db_monitor = DatabaseMonitor(self.db, self._prepare_database)
        self.retention = RetentionPurger(
            self.db, settings.retention_days, audit_days=settings.audit_retention_days
        )
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
        self.grouper = UnknownGrouper(self.db, self._embedding_space, self._join_rule)
        self.webhooks = (
            WebhookSender(settings.webhook_url, settings.webhook_secret)
            if settings.webhook_url
            else None
        )
        self.alert_sender = AlertSender(settings.webhook_secret, settings.alert_allowed_hosts)
        self.track_closer = TrackCloser(
            self.db, settings.track_quiet_seconds, self.send_track_events
        )
        # gunicorn's own /events: never every thread of the worker (api/routes/events.py).
        self.stream_limits = StreamLimits(
            min(settings.events.thread_streams, max(settings.threads - 1, 0)),
            settings.events.max_streams_per_key,
        )
        self.jobs: dict[int, TrainingJob] = {}
        self.stopping = False

    def _embedding_space(self) -> str | None:
        analyzer = self.analyzers.loaded()
        return analyzer.embedding_space if analyzer else None

    def _join_rule(self) -> tuple[float, Nearby | None] | None:
        """The grouper's join threshold, and the looser one for tracks near in place and time."""
        analyzer = self.analyzers.loaded()
        if analyzer is None:
            return None
        name, settings = analyzer.embedder.name, self.settings
        nearby = None
        if settings.unknown_nearby_seconds > 0:
            loose = threshold_for(name, 1, settings.unknown_nearby_join_rate)
            nearby = Nearby(loose, settings.unknown_nearby_seconds)
        return threshold_for(name, 1, settings.unknown_join_rate), nearby

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
        if not self.db_monitor.check():
            log.error("the database is not reachable at start-up; retrying in the background")
        self.db_monitor.start()
        self.retention.start()
        self.grouper.start()
        self.track_closer.start()
        self.settings.model_dir.mkdir(parents=True, exist_ok=True)
        metrics.observe_model(self.watcher.refresh().version)
        self.watcher.start()
        self.analyzers.start()
        threading.Thread(target=self._warm_search, name="search-warmer", daemon=True).start()
        return self

    def _warm_search(self) -> None:
        """Load the worker's search index once its networks are in, off the request path: the
        first search by face in each worker would otherwise wait for it (4.6 s at 1M tracks)."""
        try:
            analyzer = self.analyzers.get()
            tracks = self.db.warm_track_index(analyzer.embedding_space, analyzer.embedder.dim)
        except Exception as error:  # no database or bundle yet: the first search loads it
            log.warning("search index not loaded at start-up: %s", error)
            return
        log.info("search index loaded at start-up: %d tracks", tracks)

    def send_track_events(self, events: list[dict]) -> None:
        """POST the track events this worker wrote to the webhook (as /events sends them), and
        each alert to its rule's destination (only there)."""
        for event in events:
            body = track_event_json(event, self.settings.track_quiet_seconds)
            destination = event.get("alert", {}).get("destination")
            if event["kind"] == "alert":
                if destination:
                    self.alert_sender.send(destination, {"event": "alert", **body})
            elif self.webhooks is not None:
                self.webhooks.send({"event": "track", **body})

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
        self.db_monitor.stop()
        self.retention.stop()
        self.grouper.stop()
        self.track_closer.stop()
        if self.webhooks is not None:
            self.webhooks.close()
        self.alert_sender.close()
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
        up = self.db_monitor.up
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
