"""Retention: sightings and tracks older than FACEREC_RETENTION_DAYS, faces included, are deleted.

Every worker runs a `RetentionPurger` thread; a database lease lets one purge at a time across
all replicas (the others find it taken and wait for their next turn). The purge itself deletes
in small batches (`Database.purge_sightings`), so it never holds up a request.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

from storage import Database, DatabaseUnavailable
from workers.periodic import Periodic, lease_holder

log = logging.getLogger(__name__)

LOCK_NAME = "retention-purge"
INTERVAL_SECONDS = 300.0  # between purges: a sighting outlives its retention by minutes at most
LEASE_SECONDS = 600.0  # a purger that died holding the lease keeps others out this long at most


class RetentionPurger(Periodic):
    """Purges old sightings every `interval` seconds from its own daemon thread."""

    def __init__(self, db: Database, retention_days: float, interval: float = INTERVAL_SECONDS):
        # Workers started together do not all ask for the lease at the same instant.
        super().__init__("retention-purger", interval, random.uniform(0.1, 0.3) * interval)
        self.db = db
        self.retention_days = retention_days
        self.holder = lease_holder()

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
            self.db.purge_tracks(cutoff)
        finally:
            self.db.release_lock(LOCK_NAME, self.holder)
        if purged:
            log.info("purged %d sightings recognised before %s", purged, cutoff.isoformat())
        return purged

    def start(self) -> RetentionPurger:
        return super().start() if self.retention_days else self

    def step(self) -> None:
        try:
            self.purge_once()
        except DatabaseUnavailable as error:
            log.warning("retention purge postponed: %s", error)
