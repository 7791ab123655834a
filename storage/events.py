"""Track events in the order they were written, for live streams (GET /events) that poll."""

from __future__ import annotations

from sqlalchemy import func, select

from .models import TrackEvent
from .track_rows import track_events


class EventQueries:
    """A mixin of `Database` (it uses the facade's `_transaction`)."""

    def last_track_event_id(self) -> int:
        with self._transaction() as session:
            return session.scalar(select(func.max(TrackEvent.id))) or 0

    def track_events_after(
        self, after_id: int, limit: int = 100, camera_id: str | None = None
    ) -> list[dict]:
        """Track events with an id above `after_id`, oldest first (ids only grow), each with
        its track as it is now (`storage.track_rows.track_events`)."""
        where = [TrackEvent.id > after_id]
        if camera_id is not None:
            where.append(TrackEvent.camera_id == camera_id)
        with self._transaction() as session:
            return track_events(session, where=where, limit=limit)
