"""Retention: sightings older than FACEREC_RETENTION_DAYS, faces included, are deleted.

Every worker runs a `RetentionPurger` thread; a database lease lets one purge at a time across
all replicas (the others find it taken and wait for their next turn). The purge itself deletes
in small batches (`Database.purge_sightings`), so it never holds up a request.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta

from storage import Database, DatabaseUnavailable

log = logging.getLogger(__name__)

LOCK_NAME = "retention-purge"
INTERVAL_SECONDS = 300.0  # between purges: a sighting outlives its retention by minutes at most
LEASE_SECONDS = 600.0  # a purger that died holding the lease keeps others out this long at most


class RetentionPurger:
    """Purges old sightings every `interval` seconds from its own daemon thread."""

    def __init__(self, db: Database, retention_days: float, interval: float = INTERVAL_SECONDS):
        self.db = db
        self.retention_days = retention_days
        self.interval = interval
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention-purger", daemon=True)

    def cutoff(self) -> datetime | None:
        """Sightings recognised before this are past retention (None: kept forever)."""
        if not self.retention_days:
            return None
        return datetime.now(UTC) - timedelta(days=self.retention_days)

    def purge_once(self) -> int | None:
        """Delete what is past retention now; how many rows (None: another worker is at it)."""
        cutoff = self.cutoff()
        if cutoff is None:
            return 0
        if not self.db.try_acquire_lock(LOCK_NAME, self.holder, LEASE_SECONDS):
            return None
        try:
            purged = self.db.purge_sightings(cutoff)
        finally:
            self.db.release_lock(LOCK_NAME, self.holder)
        if purged:
            log.info("purged %d sightings recognised before %s", purged, cutoff.isoformat())
        return purged

    def start(self) -> RetentionPurger:
        if self.retention_days:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        # Workers started together do not all ask for the lease at the same instant.
        delay = random.uniform(0.1, 0.3) * self.interval
        while not self._stop.wait(delay):
            delay = self.interval
            try:
                self.purge_once()
            except DatabaseUnavailable as error:
                log.warning("retention purge postponed: %s", error)
            except Exception:
                log.exception("retention purge failed; retrying in %.0f s", self.interval)
