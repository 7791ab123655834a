"""Sightings: every face a camera saw, recorded with its face kept, purged.

A sighting is a `recognitions` row, with the face's int8 codes on it (a track's evidence, what
its decision and its search code are made of), plus, when the recogniser kept one, a small JPEG
(`sighting_thumbnails`, what people look at), which cascades from the row: deleting a person or
purging old rows takes the faces with them. Search by face ranks tracks
(storage/track_search.py), not single sightings.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np
from sqlalchemy import delete, insert, select

from recognition import UNKNOWN

from .group_counts import groups_of, settle
from .models import Person, Recognition, SightingThumbnail
from .track_joins import drop_windows
from .validation import aware, check_id, optional_id

PURGE_BATCH_ROWS = 1_000  # rows one purge transaction deletes: short locks, small undo logs
PURGE_PAUSE_SECONDS = 0.05  # between purge batches, so writers of new sightings get in

# Built once, run on the transaction's Core connection: every crop runs them, and building a
# statement and the ORM's bulk bookkeeping cost more Python than the database's work. The rows,
# codes included, are one INSERT ... RETURNING for every face of an image (MariaDB 10.5+, SQLite
# 3.35+).
_INSERT_ROWS = insert(Recognition.__table__).returning(
    Recognition.__table__.c.id, sort_by_parameter_order=True
)
_INSERT_THUMBNAILS = insert(SightingThumbnail.__table__)


def known_people(session, labels: Iterable[str]) -> set[str]:
    """Which of these labels are enrolled people now (not `unknown`, not deleted since)."""
    named = sorted({check_id(label, "label") for label in labels} - {UNKNOWN})
    if not named:
        return set()
    return set(session.scalars(select(Person.id).where(Person.id.in_(named))))


def recognition_values(
    *,
    label: str,
    score: float,
    threshold: float | None,
    box: Sequence[float],
    camera_id: str | None,
    location_id: str | None,
    model_version: str | None,
    recognized_at: datetime,
    known: set[str],
) -> dict:
    """One `recognitions` row: the only place that decides who a row belongs to.

    `person_id` is the label when it names someone enrolled now; NULL for `unknown` and for a
    person deleted since the model was trained (the label keeps what the model said)."""
    left, top, right, bottom = (float(v) for v in box)
    check_id(label, "label")  # NOT NULL: a missing label is a ValueError, not a database error
    return {
        "person_id": label if label != UNKNOWN and label in known else None,
        "label": label,
        "confidence": float(score),  # the column's old name for the decision's score
        "threshold": None if threshold is None else float(threshold),
        "camera_id": optional_id(camera_id, "camera_id"),
        "location_id": optional_id(location_id, "location_id"),
        "box_left": left,
        "box_top": top,
        "box_right": right,
        "box_bottom": bottom,
        "model_version": optional_id(model_version, "model_version"),
        "recognized_at": aware(recognized_at, "recognized_at"),
    }


def _checked_codes(seen) -> bytes:
    """A sighting's int8 codes, refused when they are not one vector's."""
    codes = seen.codes
    if not isinstance(codes, bytes) or not codes or len(codes) != np.size(seen.embedding):
        raise ValueError("a sighting's codes are its embedding's int8 codes, one per dimension")
    return codes


def insert_thumbnails(connection, ids: Sequence[int], jpegs: Sequence[bytes | None]) -> None:
    """Keep each sighting's face (`ids[i]`'s JPEG `jpegs[i]`), in the caller's transaction: a
    live sighting and an archive crop (storage/archive_tracks.py) are kept alike. An empty one
    is not kept (the recogniser was asked for none)."""
    rows = [
        {"recognition_id": recognition_id, "jpeg": jpeg}
        for recognition_id, jpeg in zip(ids, jpegs, strict=True)
        if jpeg
    ]
    if rows:
        connection.execute(_INSERT_THUMBNAILS, rows)


class CropLink(NamedTuple):
    """Which face of an image is the crop of a track (its index among the sightings), that
    track's id, and the crop's quality and greyness: what the face's row says of its track."""

    subject: int
    track_id: int
    quality: float
    grey: bool


_NO_TRACK = {"track_id": None, "quality": None, "grey": None}


def crop_columns(track_id: int, quality: float, grey: bool) -> dict:
    """A crop's `recognitions` columns that name its track: a live crop's and an archive's."""
    return {"track_id": track_id, "quality": float(quality), "grey": int(grey)}


def insert_sightings(
    session, seen, camera_id: str | None, location_id: str | None,
    recognized_at: datetime | None, link: CropLink | None = None,
) -> list[int]:  # fmt: skip
    """Insert a `Recognized`'s sightings (rows with their codes, thumbnails) in the caller's
    transaction; with a `link`, its subject's row names its track."""
    space = optional_id(seen.embedding_space, "embedding_space")
    recognized_at = recognized_at or datetime.now(UTC)
    subject = None if link is None else link.subject
    own = _NO_TRACK if link is None else crop_columns(link.track_id, link.quality, link.grey)
    rows = [
        {
            **recognition_values(
                label=s.label, score=s.score, threshold=s.threshold, box=s.box,
                camera_id=camera_id, location_id=location_id, model_version=seen.model_version,
                recognized_at=recognized_at, known=seen.enrolled,
            ),
            **(own if i == subject else _NO_TRACK),
            "embedding_space": space,
            "code": _checked_codes(s),
        }
        for i, s in enumerate(seen.sightings)
    ]  # fmt: skip
    connection = session.connection()
    ids = list(connection.execute(_INSERT_ROWS, rows).scalars()) if rows else []
    insert_thumbnails(connection, ids, [s.thumbnail for s in seen.sightings])
    return ids


class SightingStore:
    """The sightings part of `Database` (a mixin: it uses the facade's `_transaction`)."""

    def record_sightings(
        self,
        seen,
        *,
        camera_id: str | None,
        location_id: str | None,
        recognized_at: datetime | None = None,
    ) -> list[int]:
        """Record a `recognition.sighting.Recognized` in one transaction; its sightings' row ids.

        Each sighting's int8 codes are kept in the result's embedding space, a non-empty
        thumbnail as is; who a row belongs to comes from the result's `enrolled`."""
        if not seen.sightings:
            return []
        with self._transaction(write=True) as session:
            return insert_sightings(session, seen, camera_id, location_id, recognized_at)

    def sighting_thumbnail(self, recognition_id: int) -> bytes | None:
        """The JPEG kept of a sighting's face, or None (no such sighting, or none kept)."""
        with self._transaction() as session:
            return session.scalar(
                select(SightingThumbnail.jpeg).where(
                    SightingThumbnail.recognition_id == recognition_id
                )
            )

    def sightings_with_thumbnails(self, recognition_ids: Iterable[int]) -> set[int]:
        """Which of these sightings have a face to look at (for the links of a listing)."""
        ids = sorted(set(recognition_ids))
        if not ids:
            return set()
        with self._transaction() as session:
            return set(
                session.scalars(
                    select(SightingThumbnail.recognition_id).where(
                        SightingThumbnail.recognition_id.in_(ids)
                    )
                )
            )

    def purge_sightings(
        self,
        before: datetime,
        batch_rows: int = PURGE_BATCH_ROWS,
        pause: float = PURGE_PAUSE_SECONDS,
    ) -> int:
        """Delete the sightings recognised before `before`, faces included; how many.

        A batch of `batch_rows` rows a transaction, oldest first, with a pause between: a purge
        of a million rows never holds a lock long enough to hold up a store-results."""
        aware(before, "before")
        total = 0
        while True:
            with self._transaction(write=True) as session:
                oldest = session.execute(
                    select(Recognition.id, Recognition.recognized_at)
                    .where(Recognition.recognized_at < before)
                    .order_by(Recognition.recognized_at)
                    .limit(batch_rows)
                ).all()
                ids = [row.id for row in oldest]
                if ids:
                    groups = groups_of(session, ids)
                    drop_windows(session, ids)
                    session.execute(delete(Recognition).where(Recognition.id.in_(ids)))
                    settle(session, groups, left_from=oldest[-1].recognized_at)
            total += len(ids)
            if len(ids) < batch_rows:
                return total
            time.sleep(pause)
