"""Tracks: one row per person passing a camera, decided over the best crops received for it.

A crop joins its track in one transaction (the statements: storage/track_joins.py); here are the
track store's calls: record a crop, read, end, close the quiet ones, list, purge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
from sqlalchemy import delete, select, update

from recognition.tracks import TrackDecision, decide_enrolled

from .alerts import raise_alerts
from .corrections import sticky_decision
from .errors import NotFound
from .models import Person, Track
from .paging import listed
from .sightings import CropLink, insert_sightings
from .track_codes import store_track_code
from .track_joins import (
    Evidence,
    decided,
    evidence,
    insert_track,
    lock_track,
    update_track,
    window,
)
from .track_rows import best_crop, track_dict, track_events, write_event
from .track_window import WindowCrop, pack
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


def _event(event_id: int, kind: str, at: datetime, track: dict) -> dict:
    """A crop's own track event as `track_events` reads one back, without reading it back."""
    return {
        "id": event_id, "kind": kind, "at": at.astimezone(UTC), "label": track["label"],
        "camera_id": track["camera_id"], "track": track,
    }  # fmt: skip


def _kinds(track, label: str) -> list[str]:
    """The events a crop makes of `track` (as locked, before the crop): 'start' for one that
    had ended, else 'label' when the decided label changes (a new track's: `_Join.new_track`)."""
    if track.ended_at is not None:
        return ["start"]
    return ["label"] if label != track.label else []


class Joined(NamedTuple):
    """A crop's track after the crop joined it: its columns (`track.id` too), the events the
    crop makes of it, and the evidence it was decided on."""

    track: SimpleNamespace
    kinds: list[str]
    found: Evidence


@dataclass
class _Join:
    """One crop joining its track, in the caller's transaction: as the first crop of a new
    track (`new_track`), or into one that exists (its row locked, its window merged)."""

    session: object
    seen: object
    crop: TrackCropInfo
    decide: Callable[..., TrackDecision]
    camera_id: str
    location_id: str | None
    at: datetime
    any_rule: bool = True  # whether alert rules must be checked (the lock reads if any exist)
    ids: list[int] = field(default_factory=list)  # the image's sightings, once recorded

    def _window_crop(self, recognition_id: int, kept: bool) -> WindowCrop:
        """The crop as its track's window holds it, recorded as `recognition_id`."""
        crop, face = self.crop, self.seen.sightings[self.crop.subject]
        return WindowCrop(recognition_id, float(crop.quality), int(crop.grey), face.codes, kept)

    def _record_sightings(self, track_id: int) -> WindowCrop:
        """Record the image's sightings, the subject's row naming track `track_id`: the crop."""
        crop, seen = self.crop, self.seen
        link = CropLink(crop.subject, track_id, crop.quality, crop.grey)
        self.ids = insert_sightings(
            self.session, seen, self.camera_id, self.location_id, self.at, link
        )
        return self._window_crop(
            self.ids[crop.subject], bool(seen.sightings[crop.subject].thumbnail)
        )

    def _decision(self, found: Evidence) -> TrackDecision:
        enrolled = self.seen.enrolled
        return decide_enrolled(
            self.decide, found.embeddings, found.grey,
            lambda label: label in enrolled or self.session.get(Person, label) is not None,
            found.qualities,
        )  # fmt: skip

    def new_track(self) -> Joined | None:
        """The crop as the first of a new track: the track's row written whole, decided on the
        crop alone (ended at once for a crop sent without a track id), with no read before and
        no update after (a new track has no other evidence, and no operator corrected a track
        that did not exist). It keeps no window yet: its row is written before its crop's,
        which the window would name. None when its key is taken."""
        crop, unrecorded = self.crop, self._window_crop(0, False)
        found = evidence(self.session, 0, [unrecorded], self.seen.embedding_space, crop.floor)
        at, key = self.at, crop.key
        values = {
            "camera_id": self.camera_id, "track_key": key, "location_id": self.location_id,
            "first_seen_at": at, "last_seen_at": at, "ended_at": at if crop.single else None,
            "crops": 1, **decided(self._decision(found), self.seen.model_version),
        }  # fmt: skip
        track_id = insert_track(self.session, values)  # its key is taken: None
        if track_id is None:
            return None
        joined = self._record_sightings(track_id)
        found = found._replace(best=joined.recognition_id if joined.kept else None)
        return Joined(SimpleNamespace(id=track_id, **values), ["start"], found)

    def record(self) -> Joined:
        """The crop into track `crop.key`: a new track's first (`new_track`), else into the
        track as `into_track`. A crop sent without a track id makes a new track."""
        locked = (
            None if self.crop.single else lock_track(self.session, self.camera_id, self.crop.key)
        )
        if locked is None:
            first = self.new_track()
            if first is not None:
                return first
            # Another replica created it meanwhile, or a crop without a track id reused a key.
            locked = lock_track(self.session, self.camera_id, self.crop.key)
        return self.into_track(locked)

    def into_track(self, locked) -> Joined:
        """The crop into its track, whose row `locked` is: its window merged with the crop,
        decided again over its best crops."""
        session, crop, space = self.session, self.crop, self.seen.embedding_space
        track, self.any_rule = locked.track, locked.any_rule
        joined = self._record_sightings(track.id)
        crops = window(session, track, space, joined)
        found = evidence(session, track.id, crops, space, crop.floor)
        decision = self._decision(found)
        if locked.corrected:  # an operator's word stands
            decision = sticky_decision(session, self.camera_id, crop.key, decision)
        kinds = _kinds(track, decision.label)
        kept = None if crop.single else pack(crops, space, len(joined.code))
        ended = self.at if crop.single else None  # a crop alone whose key was taken
        values = update_track(
            session, track, decided(decision, self.seen.model_version), self.at, ended, kept
        )
        return Joined(SimpleNamespace(**{**track._mapping, **values}), kinds, found)


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
            join = _Join(session, seen, crop, decide, camera_id, location_id, at)
            track, kinds, found = join.record()
            store_track_code(
                session, track.id, found.embeddings, seen.embedding_space, camera_id=camera_id,
                location_id=track.location_id, last_seen_at=track.last_seen_at,
                qualities=found.qualities,
            )  # fmt: skip
            row = track_dict(track, found.best)
            own = [
                _event(write_event(session, track, kind, track.label, at), kind, at, row)
                for kind in kinds
            ]
            alerts = []
            if join.any_rule:
                alerts = raise_alerts(session, track.id, bool(kinds), at, self.site_timezone)
            return join.ids, row, own + track_events(session, alerts)

    def _track_row(self, session, track_id: int) -> dict:
        row = session.execute(
            select(Track, best_crop().label("best")).where(Track.id == track_id)
        ).one()
        return track_dict(row.Track, row.best)

    def track_evidence(
        self, camera_id: str, key: str, space: str, floor: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """A track's best crops' embeddings in `space` (none below `floor`), their qualities and
        whether most are grey (empty when the track is new): what a get-results with this track
        id uses."""
        with self._transaction() as session:
            track = session.execute(
                select(Track.id, Track.crops, Track.best_crops).where(
                    Track.camera_id == camera_id, Track.track_key == key
                )
            ).first()
            if track is None:
                return np.zeros((0, 0), np.float32), np.zeros(0), False
            found = evidence(session, track.id, window(session, track, space), space, floor)
            return found.embeddings, found.qualities, found.grey

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
                session.execute(
                    update(Track).where(Track.id == track.id).values(ended_at=at, best_crops=None)
                )
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
                    .values(ended_at=Track.last_seen_at, best_crops=None)
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
