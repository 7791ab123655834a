"""Faces seen by cameras: recorded in batches, listed by page, and a person's last location."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select

from .archive_tracks import delete_recording, insert_tracks
from .errors import NotFound
from .models import Person, Recognition, Track
from .paging import listed
from .rows import sighting_dict
from .sightings import known_people, recognition_values
from .transactions import Transactions, retry_deadlocks, utc_now
from .validation import aware

INSERT_BATCH_ROWS = 500  # rows one INSERT statement carries


def _row_values(row: dict, known: set[str]) -> dict:
    return recognition_values(
        label=row["label"],
        score=row["score"],
        threshold=row.get("threshold"),
        box=row["box"],
        camera_id=row.get("camera_id"),
        location_id=row.get("location_id"),
        model_version=row.get("model_version"),
        recognized_at=row.get("recognized_at") or utc_now(),
        known=known,
    )


@dataclass(frozen=True)
class Segment:
    """What one camera recorded between two instants (a batch job's unit of storing: one
    recording): the rows a re-run of it replaces. Recognitions have no natural key, so a re-run
    cannot upsert."""

    camera_id: str
    location_id: str
    since: datetime  # inclusive
    until: datetime  # exclusive

    def rows(self):
        table = Recognition.__table__
        return and_(
            table.c.camera_id == self.camera_id,
            table.c.location_id == self.location_id,
            table.c.recognized_at >= aware(self.since, "since"),
            table.c.recognized_at < aware(self.until, "until"),
        )


class RecognitionQueries(Transactions):
    @retry_deadlocks
    def store_recognitions(
        self,
        rows: Iterable[dict],
        replacing: Segment | None = None,
        tracks: list[dict] | None = None,
    ) -> int:
        """Record faces seen by cameras, all or none; how many. With `replacing`, the rows
        stored earlier for that segment, and the tracks linked to them, are deleted in the same
        transaction: a re-run leaves one copy, and no reader sees it half-replaced.

        Each row: {"label", "score", "box"} and optionally "threshold", "camera_id",
        "location_id", "model_version", "recognized_at". Who a row belongs to is decided as for
        `record_sightings` (`sightings.recognition_values`). With `tracks` (a batch job's
        decided tracks, storage/archive_tracks.py `insert_tracks`), each row is a crop of one:
        it also has "codes", "embedding_space", "track_id", "quality", "grey" and optionally
        "thumbnail" (its face as JPEG; without `tracks` no face is kept)."""
        rows, tracks = list(rows), list(tracks or ())
        with self._transaction(write=True) as session:
            known = known_people(session, (row["label"] for row in (*rows, *tracks)))
            if replacing is not None:
                keys = [track["track_id"] for track in tracks]
                delete_recording(session, replacing.rows(), replacing.camera_id, keys)
            values = [_row_values(row, known) for row in rows]
            if tracks:
                insert_tracks(session, values, rows, tracks, known)
            else:
                for start in range(0, len(values), INSERT_BATCH_ROWS):
                    chunk = values[start : start + INSERT_BATCH_ROWS]
                    session.execute(Recognition.__table__.insert(), chunk)
        return len(rows)

    def recognitions(self, **filters) -> tuple[list[dict], int]:
        """One page of recognitions, newest first, and how many match in all. `filters` are a
        `Listing`'s (person, camera, since, until, page, per_page) on `recognized_at`:
        `person="unknown"` lists the strangers.

        Each row: {"id", "person_id" (None for strangers), "label", "confidence", "camera_id",
        "location_id", "box" (left, top, right, bottom), "model_version", "recognized_at"}.
        """
        newest = select(Recognition).order_by(
            Recognition.recognized_at.desc(), Recognition.id.desc()
        )
        return listed(
            self._transaction, newest, Recognition, filters, at="recognized_at",
            rows=lambda _, result: [sighting_dict(row) for row in result.scalars()],
        )  # fmt: skip

    def last_known_location(self, person_id: str) -> dict | None:
        """Where the person's most recent track was (its camera, location and last-seen time),
        or None if they were never tracked."""
        query = (
            select(Track.location_id, Track.camera_id, Track.last_seen_at)
            .where(Track.person_id == person_id)
            .order_by(Track.last_seen_at.desc(), Track.id.desc())
            .limit(1)
        )
        with self._transaction() as session:
            if session.get(Person, person_id) is None:
                raise NotFound(f"no person {person_id!r}")
            row = session.execute(query).first()
        if row is None:
            return None
        return {"location_id": row[0], "camera_id": row[1], "recognized_at": row[2]}
