"""New sightings in the order they were recorded, for live streams (GET /events) that poll."""

from __future__ import annotations

from sqlalchemy import func, select

from .models import Recognition
from .rows import sighting_dict


class EventQueries:
    """A mixin of `Database` (it uses the facade's `_transaction`)."""

    def last_sighting_id(self) -> int:
        with self._transaction() as session:
            return session.scalar(select(func.max(Recognition.id))) or 0

    def sightings_after(
        self, after_id: int, limit: int = 100, camera_id: str | None = None
    ) -> list[dict]:
        """Sightings with an id above `after_id`, oldest first (ids only grow)."""
        query = select(Recognition).where(Recognition.id > after_id)
        if camera_id is not None:
            query = query.where(Recognition.camera_id == camera_id)
        with self._transaction() as session:
            rows = session.scalars(query.order_by(Recognition.id).limit(limit)).all()
            return [sighting_dict(row) for row in rows]
