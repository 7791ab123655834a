"""Retention: sightings and tracks older than FACEREC_RETENTION_DAYS, faces included, are deleted,
and audit rows older than FACEREC_AUDIT_RETENTION_DAYS (a setting of its own: an audit must
outlive the data it speaks of).

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

    def __init__(
        self,
        db: Database,
        retention_days: float,
        interval: float = INTERVAL_SECONDS,
        audit_days: float = 0.0,
    ):
        # Workers started together do not all ask for the lease at the same instant.
        super().__init__("retention-purger", interval, random.uniform(0.1, 0.3) * interval)
        self.db = db
        self.retention_days = retention_days
        self.audit_days = audit_days
        self.holder = lease_holder()

    def cutoff(self, days: float | None = None) -> datetime | None:
        """Sightings recognised before this are past retention (None: kept forever); `days`
        asks for another retention (the audit trail's)."""
        days = self.retention_days if days is None else days
        if not days:
            return None
        return datetime.now(UTC) - timedelta(days=days)

    def purge_once(self) -> int | None:
        """Delete what is past retention now; how many sightings (None: another worker is at
        it)."""
        cutoff, audit_cutoff = self.cutoff(), self.cutoff(self.audit_days)
        if cutoff is None and audit_cutoff is None:
            return 0
        if not self.db.try_acquire_lock(LOCK_NAME, self.holder, LEASE_SECONDS):
            return None
        purged = 0
        try:
            if cutoff is not None:
                purged = self.db.purge_sightings(cutoff)
                self.db.purge_tracks(cutoff)
            if audit_cutoff is not None:
                self._purge_audit(audit_cutoff)
        finally:
            self.db.release_lock(LOCK_NAME, self.holder)
        if purged:
            log.info("purged %d sightings recognised before %s", purged, cutoff.isoformat())
        return purged

    def _purge_audit(self, cutoff: datetime) -> None:
        purged = self.db.purge_audit(cutoff)
        if purged:
            log.info("purged %d audit rows written before %s", purged, cutoff.isoformat())

    def start(self) -> RetentionPurger:
        return super().start() if self.retention_days or self.audit_days else self

    def step(self) -> None:
        try:
            self.purge_once()
        except DatabaseUnavailable as error:
            log.warning("retention purge postponed: %s", error)
