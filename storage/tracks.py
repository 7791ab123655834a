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
from typing import NamedTuple

import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from recognition import UNKNOWN
from recognition.gallery import decode
from recognition.tracks import TRACK_EVIDENCE, TrackDecision, decide_enrolled

from .alerts import raise_alerts
from .corrections import sticky_decision
from .errors import NotFound
from .models import Person, SightingEmbedding, Track, TrackCrop
from .operator_models import AlertRule, LabelChange
from .paging import listed
from .sightings import insert_sightings
from .track_codes import store_track_code
from .track_rows import best_crop, track_dict, track_events, write_event
from .transactions import retry_deadlocks
from .validation import aware, check_id


@dataclass(frozen=True)
class TrackCropInfo:
    """What a recorded crop adds to its track: which face of the image is the track's person,
    how good a face it is, and whether it is grey (infrared)."""

    key: str  # the edge's track id
    subject: int  # index of the person's face among the image's sightings
    quality: float
    grey: bool
    single: bool = False  # a crop sent without a track id: a track of its own, ended at once
    floor: float = 0.0  # crops of lower quality are recorded but are no evidence for naming


class LockedTrack(NamedTuple):
    """A track's row as locked before a crop joins it, with what the crop's answer needs: its
    best crop so far (id and quality), whether an operator ever corrected it, and whether any
    alert rule exists (a site without rules reads none per crop)."""

    track: Track
    best: int | None
    best_quality: float | None
    corrected: bool
    any_rule: bool


def _corrected():
    """Whether the track has any correction (a correlated EXISTS): only then is its history
    read again for the crop (storage/corrections.py `sticky_decision`)."""
    return (
        select(LabelChange.id)
        .where(LabelChange.camera_id == Track.camera_id, LabelChange.track_key == Track.track_key)
        .exists()
    )


def _locked_track(session, camera_id: str, key: str, location_id, at: datetime) -> LockedTrack:
    """The track's row, created if new, locked until the transaction ends (FOR UPDATE; the
    subqueries read without locking)."""
    query = (
        select(
            Track,
            best_crop(),
            best_crop(TrackCrop.quality),
            _corrected(),
            select(AlertRule.id).exists(),
        )
        .where(Track.camera_id == camera_id, Track.track_key == key)
        .with_for_update(of=Track)
    )
    row = session.execute(query).first()
    if row is not None:
        return LockedTrack(*row)
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
    return LockedTrack(*session.execute(query).one())


def _evidence(session, track_id: int, space: str, floor: float) -> tuple[np.ndarray, bool]:
    """The track's best crops' embeddings in `space` (best first; none below `floor`), and
    whether most are grey."""
    rows = session.execute(
        select(SightingEmbedding.code, TrackCrop.grey)
        .join(SightingEmbedding, SightingEmbedding.recognition_id == TrackCrop.recognition_id)
        .where(TrackCrop.track_id == track_id, SightingEmbedding.embedding_space == space)
        .where(TrackCrop.quality >= floor)
        .order_by(TrackCrop.quality.desc(), TrackCrop.recognition_id)
        .limit(TRACK_EVIDENCE)
    ).all()
    if not rows:
        return np.zeros((0, 0), np.float32), False
    codes = np.frombuffer(b"".join(row.code for row in rows), np.int8).reshape(len(rows), -1)
    return decode(codes), 2 * sum(row.grey for row in rows) > len(rows)


def _best_after(locked: LockedTrack, recognition_id: int, crop: TrackCropInfo, seen) -> int | None:
    """The track's best crop once this crop joined it: the crop when it has a face kept and
    beats the best so far (ties go to the older crop, as `best_crop` orders them)."""
    kept = bool(seen.sightings[crop.subject].thumbnail)
    if kept and (locked.best_quality is None or float(crop.quality) > locked.best_quality):
        return recognition_id
    return locked.best


def _kinds(track: Track, label: str) -> list[str]:
    """The events a crop makes of `track` (as locked, before the crop): 'start' for a new track
    or one that had ended, else 'label' when the decided label changes."""
    if track.crops == 0 or track.ended_at is not None:
        return ["start"]
    return ["label"] if label != track.label else []


def _update_track(session, track: Track, decision, model_version, at, single: bool) -> dict:
    """The track after a crop: its decision, one more crop; a crop alone is ended at once.
    The values written (exact: the row is locked)."""
    named = decision.label != UNKNOWN
    values = {
        "last_seen_at": max(track.last_seen_at, at),
        "crops": track.crops + 1,
        "ended_at": at if single else None,
        "person_id": decision.label if named else None,
        "label": decision.label,
        "score": float(decision.score),
        "threshold": decision.threshold,
        "faces": decision.faces,
        "model_version": model_version,
    }
    session.execute(
        update(Track)
        .where(Track.id == track.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return values


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
    ) -> tuple[list[int], dict, list[dict]]:
        """Record a `Recognized` (as `record_sightings`) and add its subject's face to track
        `crop.key` of the camera, deciding the track again over its best crops with
        `decide(embeddings, grey, forgotten)`, in one transaction: (row ids, the track, the
        track events it wrote: 'start' for a new or reopened track, 'label' for a new label,
        'alert' for each alert rule it matched: storage/alerts.py)."""
        check_id(camera_id, "camera_id")
        check_id(crop.key, "track_id")
        at = recognized_at or datetime.now(UTC)
        with self._transaction(write=True) as session:
            ids = insert_sightings(session, seen, camera_id, location_id, at)
            locked = _locked_track(session, camera_id, crop.key, location_id, at)
            track = locked.track
            session.execute(
                insert(TrackCrop).values(
                    recognition_id=ids[crop.subject], track_id=track.id,
                    quality=float(crop.quality), grey=int(crop.grey),
                )
            )  # fmt: skip
            embeddings, grey = _evidence(session, track.id, seen.embedding_space, crop.floor)
            decision = decide_enrolled(
                decide,
                embeddings,
                grey,
                lambda label: label in seen.enrolled or session.get(Person, label) is not None,
            )
            if locked.corrected:  # an operator's word stands
                decision = sticky_decision(session, camera_id, crop.key, decision)
            kinds = _kinds(track, decision.label)
            values = _update_track(session, track, decision, seen.model_version, at, crop.single)
            store_track_code(
                session, track.id, embeddings, seen.embedding_space, camera_id=camera_id,
                location_id=track.location_id, last_seen_at=values["last_seen_at"],
            )  # fmt: skip
            events = [write_event(session, track, kind, decision.label, at) for kind in kinds]
            if locked.any_rule:
                events += raise_alerts(session, track.id, bool(kinds), at, self.site_timezone)
            row = {
                **track_dict(track, _best_after(locked, ids[crop.subject], crop, seen)),
                **values,
            }
            return ids, row, track_events(session, events)

    def _track_row(self, session, track_id: int) -> dict:
        row = session.execute(
            select(Track, best_crop().label("best")).where(Track.id == track_id)
        ).one()
        return track_dict(row.Track, row.best)

    def track_evidence(
        self, camera_id: str, key: str, space: str, floor: float = 0.0
    ) -> tuple[np.ndarray, bool]:
        """A track's best crops' embeddings in `space` (none below `floor`) and whether most
        are grey (empty when the track is new): what a get-results with this track id uses."""
        with self._transaction() as session:
            track_id = session.scalar(
                select(Track.id).where(Track.camera_id == camera_id, Track.track_key == key)
            )
            if track_id is None:
                return np.zeros((0, 0), np.float32), False
            return _evidence(session, track_id, space, floor)

    def track(self, camera_id: str, key: str) -> dict:
        with self._transaction() as session:
            track_id = session.scalar(
                select(Track.id).where(Track.camera_id == camera_id, Track.track_key == key)
            )
            if track_id is None:
                raise NotFound(f"no track {key!r} of camera {camera_id!r}")
            return self._track_row(session, track_id)

    @retry_deadlocks
    def end_track(
        self, camera_id: str, key: str, at: datetime | None = None
    ) -> tuple[dict, list[dict]]:
        """Close a track (the edge saw its person leave; a later crop reopens it): the track,
        and its 'end' event (none when it was closed already)."""
        at = aware(at, "at") if at is not None else datetime.now(UTC)
        where = (Track.camera_id == camera_id, Track.track_key == key)
        with self._transaction(write=True) as session:
            track = session.scalars(select(Track).where(*where).with_for_update()).first()
            if track is None:
                raise NotFound(f"no track {key!r} of camera {camera_id!r}")
            events = []
            if track.ended_at is None:
                session.execute(update(Track).where(Track.id == track.id).values(ended_at=at))
                events.append(write_event(session, track, "end", track.label, at))
            return self._track_row(session, track.id), track_events(session, events)

    @retry_deadlocks
    def close_quiet_tracks(self, before: datetime, limit: int = 100) -> list[dict]:
        """End up to `limit` open tracks last seen before `before` (at their last sighting),
        each with its 'end' event; the events. Safe with every replica at it at once: a track
        is ended, and its event written, by the one whose UPDATE changed it."""
        before = aware(before, "before")
        with self._transaction(write=True) as session:
            quiet = session.scalars(
                select(Track)
                .where(Track.ended_at.is_(None), Track.last_seen_at < before)
                .order_by(Track.last_seen_at, Track.id)
                .limit(limit)
            ).all()
            events = []
            for track in quiet:
                closed = session.execute(
                    update(Track)
                    .where(Track.id == track.id, Track.ended_at.is_(None))
                    .where(Track.last_seen_at < before)
                    .values(ended_at=Track.last_seen_at)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if closed == 1:
                    session.refresh(track)
                    events.append(write_event(session, track, "end", track.label, track.ended_at))
            return track_events(session, events)

    def tracks(self, **filters) -> tuple[list[dict], int]:
        """One page of tracks, the most recently seen first, and how many match in all.
        `filters` are a `Listing`'s on `last_seen_at`: `person="unknown"` lists the strangers'
        tracks."""
        latest = select(Track, best_crop().label("best")).order_by(
            Track.last_seen_at.desc(), Track.id.desc()
        )
        return listed(
            self._transaction, latest, Track, filters, at="last_seen_at",
            rows=lambda _, result: [track_dict(row.Track, row.best) for row in result.all()],
        )  # fmt: skip

    def purge_tracks(self, before: datetime) -> int:
        """Delete the tracks last seen before `before` (their crops' rows go with retention)."""
        before = aware(before, "before")
        with self._transaction(write=True) as session:
            return session.execute(delete(Track).where(Track.last_seen_at < before)).rowcount
