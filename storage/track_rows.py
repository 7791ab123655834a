"""A track as the API answers it, and its events: the rows every reader of tracks shares
(listings, search, corrections, /events), apart from how a crop joins a track (storage/tracks.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from .alerts import attach_alerts
from .models import Recognition, SightingThumbnail, Track, TrackEvent


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


def best_crop():
    """The id of a track's best crop that has a face kept (a correlated subquery)."""
    return (
        select(Recognition.id)
        .join(SightingThumbnail, SightingThumbnail.recognition_id == Recognition.id)
        .where(Recognition.track_id == Track.id)
        .order_by(Recognition.quality.desc(), Recognition.id)
        .limit(1)
        .scalar_subquery()
    )


_EVENT = insert(TrackEvent.__table__)  # built once: a crop that starts a track writes one


def write_event(session, track, kind: str, label: str, at: datetime) -> int:
    """Append one track event (in the caller's transaction); its id."""
    result = session.connection().execute(
        _EVENT,
        {
            "track_id": track.id,
            "camera_id": track.camera_id,
            "kind": kind,
            "label": label,
            "at": at,
        },
    )
    return result.inserted_primary_key[0]


def track_events(session, event_ids: list[int] | None = None, where=(), limit: int = 0) -> list:
    """Track events as dicts, oldest first, each with its track as it is now:
    `{"id", "kind", "at", "label", "camera_id", "track"}`. Either the given ids or those
    matching `where` (at most `limit`)."""
    if event_ids is not None:
        if not event_ids:
            return []
        where = (TrackEvent.id.in_(event_ids),)
    query = (
        select(TrackEvent, Track, best_crop().label("best"))
        .join(Track, Track.id == TrackEvent.track_id)
        .where(*where)
        .order_by(TrackEvent.id)
    )
    rows = session.execute(query.limit(limit) if limit else query).all()
    events = [
        {
            "id": row.TrackEvent.id,
            "kind": row.TrackEvent.kind,
            "at": row.TrackEvent.at,
            "label": row.TrackEvent.label,
            "camera_id": row.TrackEvent.camera_id,
            "track": track_dict(row.Track, row.best),
        }
        for row in rows
    ]
    return attach_alerts(session, events)  # an 'alert' event gets its rule and ack
