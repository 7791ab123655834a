"""Quiet tracks close themselves: a track nobody sent a crop for in FACEREC_TRACK_QUIET_SECONDS
is ended (at its last sighting) with one 'end' event, as if the edge had ended it.

Every worker runs a `TrackCloser`; several replicas closing at once is safe, because a track is
ended, and its event written, only by the transaction whose UPDATE changed it
(`Database.close_quiet_tracks`). Each step ends at most `limit` tracks; the rest wait a step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from storage import Database, DatabaseUnavailable
from workers.periodic import Periodic

log = logging.getLogger(__name__)

LIMIT = 100  # tracks ended per step at most
MAX_INTERVAL_SECONDS = 5.0


class TrackCloser(Periodic):
    """Ends quiet tracks every few seconds; hands the 'end' events it wrote to `on_events`
    (the service's webhooks)."""

    def __init__(
        self,
        db: Database,
        quiet_seconds: float,
        on_events: Callable[[list[dict]], None] = lambda _events: None,
        limit: int = LIMIT,
    ):
        interval = max(0.2, min(quiet_seconds / 2, MAX_INTERVAL_SECONDS))
        super().__init__("track-closer", interval)
        self.db = db
        self.quiet_seconds = quiet_seconds
        self.on_events = on_events
        self.limit = limit

    def close_once(self) -> list[dict]:
        """End the tracks quiet for longer than `quiet_seconds` (a batch); their events."""
        before = datetime.now(UTC) - timedelta(seconds=self.quiet_seconds)
        events = self.db.close_quiet_tracks(before, self.limit)
        if events:
            self.on_events(events)
        return events

    def step(self) -> None:
        try:
            self.close_once()
        except DatabaseUnavailable as error:
            log.warning("closing quiet tracks postponed: %s", error)
