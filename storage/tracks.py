"""Tracks: one row per person passing a camera, decided over the best crops received for it.

Replicas are stateless, so a track's evidence lives here: every recorded crop of a track gets a
`track_crops` row (its quality; its codes are the sighting's own), and the track's decision is
made again from its best crops in the same transaction that records the crop, with the track's
row locked. Crops of one track arriving at two replicas at once therefore queue on that row,
and the later one decides with both: no evidence is lost and the last decision has it all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from recognition import UNKNOWN
from recognition.gallery import decode
from recognition.tracks import TRACK_EVIDENCE, TrackDecision, decide_enrolled

from .errors import NotFound
from .models import Person, SightingEmbedding, SightingThumbnail, Track, TrackCrop
from .sightings import insert_sightings
from .track_codes import store_track_code
from .transactions import retry_deadlocks
from .validation import aware, check_id, listing_filters


@dataclass(frozen=True)
class TrackCropInfo:
    """What a recorded crop adds to its track: which face of the image is the track's person,
    how good a face it is, and whether it is grey (infrared)."""

    key: str  # the edge's track id
    subject: int  # index of the person's face among the image's sightings
    quality: float
    grey: bool


def track_dict(track: Track, best: int | None) -> dict:
    return {
        "id": track.track_key,
        "camera_id": track.camera_id,
        "location_id": track.location_id,
        "first_seen_at": track.first_seen_at,
        "last_seen_at": track.last_seen_at,
        "ended_at": track.ended_at,
        "crops": track.crops,
        "person_id": track.person_id,
        "label": track.label,
        "score": track.score,
        "threshold": track.threshold,
        "faces": track.faces,
        "model_version": track.model_version,
        "best_recognition_id": best,
    }


def _best_crop():
    """The id of a track's best crop that has a face kept (a correlated subquery)."""
    return (
        select(TrackCrop.recognition_id)
        .join(SightingThumbnail, SightingThumbnail.recognition_id == TrackCrop.recognition_id)
        .where(TrackCrop.track_id == Track.id)
        .order_by(TrackCrop.quality.desc(), TrackCrop.recognition_id)
        .limit(1)
        .scalar_subquery()
    )


def _locked_track(session, camera_id: str, key: str, location_id, at: datetime) -> Track:
    """The track's row, created if new, locked until the transaction ends (FOR UPDATE)."""
    where = (Track.camera_id == camera_id, Track.track_key == key)
    track = session.scalars(select(Track).where(*where).with_for_update()).first()
    if track is not None:
        return track
    try:
        with session.begin_nested():  # two replicas may create it at once: one insert wins
            session.execute(
                insert(Track).values(
                    camera_id=camera_id, track_key=key, location_id=location_id,
                    first_seen_at=at, last_seen_at=at, crops=0, label=UNKNOWN, score=0.0,
                    faces=0,
                )
            )  # fmt: skip
    except IntegrityError:
        pass
    return session.scalars(select(Track).where(*where).with_for_update()).one()


def _evidence(session, track_id: int, space: str) -> tuple[np.ndarray, bool]:
    """The track's best crops' embeddings in `space` (best first), and whether most are grey."""
    rows = session.execute(
        select(SightingEmbedding.code, TrackCrop.grey)
        .join(SightingEmbedding, SightingEmbedding.recognition_id == TrackCrop.recognition_id)
        .where(TrackCrop.track_id == track_id, SightingEmbedding.embedding_space == space)
        .order_by(TrackCrop.quality.desc(), TrackCrop.recognition_id)
        .limit(TRACK_EVIDENCE)
    ).all()
    if not rows:
        return np.zeros((0, 0), np.float32), False
    codes = np.frombuffer(b"".join(row.code for row in rows), np.int8).reshape(len(rows), -1)
    return decode(codes), 2 * sum(row.grey for row in rows) > len(rows)


class TrackStore:
    """The tracks part of `Database` (a mixin: it uses the facade's `_transaction`)."""

    @retry_deadlocks
    def record_track_sightings(
        self,
        seen,
        crop: TrackCropInfo,
        decide: Callable[..., TrackDecision],
        *,
        camera_id: str,
        location_id: str | None,
        recognized_at: datetime | None = None,
    ) -> tuple[list[int], dict]:
        """Record a `Recognized` (as `record_sightings`) and add its subject's face to track
        `crop.key` of the camera, deciding the track again over its best crops with
        `decide(embeddings, grey, forgotten)`; (row ids, the track), in one transaction."""
        check_id(camera_id, "camera_id")
        check_id(crop.key, "track_id")
        at = recognized_at or datetime.now(UTC)
        with self._transaction(write=True) as session:
            ids = insert_sightings(session, seen, camera_id, location_id, at)
            track = _locked_track(session, camera_id, crop.key, location_id, at)
            session.execute(
                insert(TrackCrop).values(
                    recognition_id=ids[crop.subject], track_id=track.id,
                    quality=float(crop.quality), grey=int(crop.grey),
                )
            )  # fmt: skip
            embeddings, grey = _evidence(session, track.id, seen.embedding_space)
            decision = decide_enrolled(
                decide,
                embeddings,
                grey,
                lambda label: label in seen.enrolled or session.get(Person, label) is not None,
            )
            named = decision.label != UNKNOWN
            store_track_code(
                session, track.id, embeddings, seen.embedding_space, camera_id=camera_id,
                location_id=track.location_id, last_seen_at=max(track.last_seen_at, at),
            )  # fmt: skip
            session.execute(
                update(Track)
                .where(Track.id == track.id)
                .values(
                    last_seen_at=max(track.last_seen_at, at),
                    crops=Track.crops + 1,
                    ended_at=None,
                    person_id=decision.label if named else None,
                    label=decision.label,
                    score=float(decision.score),
                    threshold=decision.threshold,
                    faces=decision.faces,
                    model_version=seen.model_version,
                )
            )
            return ids, self._track_row(session, track.id)

    def _track_row(self, session, track_id: int) -> dict:
        row = session.execute(
            select(Track, _best_crop().label("best")).where(Track.id == track_id)
        ).one()
        return track_dict(row.Track, row.best)

    def track_evidence(self, camera_id: str, key: str, space: str) -> tuple[np.ndarray, bool]:
        """A track's best crops' embeddings in `space` and whether most are grey (empty when
        the track is new): what a get-results with this track id decides with."""
        with self._transaction() as session:
            track_id = session.scalar(
                select(Track.id).where(Track.camera_id == camera_id, Track.track_key == key)
            )
            if track_id is None:
                return np.zeros((0, 0), np.float32), False
            return _evidence(session, track_id, space)

    def track(self, camera_id: str, key: str) -> dict:
        with self._transaction() as session:
            track_id = session.scalar(
                select(Track.id).where(Track.camera_id == camera_id, Track.track_key == key)
            )
            if track_id is None:
                raise NotFound(f"no track {key!r} of camera {camera_id!r}")
            return self._track_row(session, track_id)

    def end_track(self, camera_id: str, key: str, at: datetime | None = None) -> dict:
        """Close a track (the edge saw its person leave); a later crop reopens it."""
        at = aware(at, "at") if at is not None else datetime.now(UTC)
        with self._transaction(write=True) as session:
            session.execute(
                update(Track)
                .where(Track.camera_id == camera_id, Track.track_key == key)
                .values(ended_at=at)
            )
        return self.track(camera_id, key)

    def tracks(
        self,
        person: str | None = None,
        camera: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> tuple[list[dict], int]:
        """One page of tracks, the most recently seen first, and how many match in all.
        `person="unknown"` lists the strangers' tracks; `since`/`until` bound `last_seen_at`."""
        conditions = listing_filters(
            Track, person=person, camera=camera, since=since, until=until, page=page,
            per_page=per_page, at="last_seen_at",
        )  # fmt: skip
        with self._transaction() as session:
            total = session.scalar(select(func.count()).select_from(Track).where(*conditions))
            rows = session.execute(
                select(Track, _best_crop().label("best"))
                .where(*conditions)
                .order_by(Track.last_seen_at.desc(), Track.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).all()
        return [track_dict(row.Track, row.best) for row in rows], total

    def purge_tracks(self, before: datetime) -> int:
        """Delete the tracks last seen before `before` (their crops' rows go with retention)."""
        before = aware(before, "before")
        with self._transaction(write=True) as session:
            return session.execute(delete(Track).where(Track.last_seen_at < before)).rowcount
