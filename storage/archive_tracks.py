"""Recorded video's tracks, stored as a batch job decided them (`store_recognitions` with
`tracks`): each track's row (its decision, ended) and its code, each crop (its `recognitions`
row naming its track) with its int8 codes and face (the live service's thumbnail, so a stored
track shows its best face as a live one does), in the caller's transaction.

Live tracks are built one crop at a time (storage/tracks.py); these arrive decided, so nothing
is decided here. A re-run replaces a recording: the tracks linked to its earlier rows (or
holding one of the keys about to be written) are deleted with those rows (whose codes and
thumbnails cascade), and their codes and events cascade; the unknown groups those rows were in
are recounted (storage/group_counts.py).
"""

from __future__ import annotations

from sqlalchemy import and_, delete, insert, or_, select

from .group_counts import groups_of, settle
from .models import Recognition, Track
from .sightings import crop_columns, insert_thumbnails
from .track_codes import store_track_code
from .validation import aware, check_id, optional_id


def delete_recording(session, rows, camera_id: str, keys: list[str]) -> None:
    """The recognitions matching `rows` (a WHERE clause), and the tracks linked to them or
    holding one of `keys` on `camera_id`."""
    linked = select(Recognition.track_id).where(rows, Recognition.track_id.is_not(None))
    same_key = and_(Track.camera_id == camera_id, Track.track_key.in_(keys))
    groups = groups_of(session, select(Recognition.id).where(rows))
    session.execute(delete(Track).where(or_(Track.id.in_(linked), same_key)))
    session.execute(delete(Recognition).where(rows))
    settle(session, groups)


def _insert_crops(session, values: list[dict], crops: list[dict]) -> list[int]:
    """Each crop's `recognitions` row (`values`, its track's id among them) with its codes, and
    its face (a JPEG, when it has one); the new rows' ids, in order."""
    returning = insert(Recognition).returning(Recognition.id, sort_by_parameter_order=True)
    rows = [
        {**row, "embedding_space": crop["embedding_space"], "code": crop["codes"]}
        for row, crop in zip(values, crops, strict=True)
    ]
    ids = list(session.scalars(returning, rows))
    insert_thumbnails(session.connection(), ids, [crop.get("thumbnail") for crop in crops])
    return ids


def _track_values(track: dict, known: set[str]) -> dict:
    """A track's row, ended at its last sighting (the recording is over)."""
    last_seen_at = aware(track["last_seen_at"], "last_seen_at")
    return {
        "camera_id": check_id(track["camera_id"], "camera_id"),
        "track_key": check_id(track["track_id"], "track_id"),
        "location_id": optional_id(track["location_id"], "location_id"),
        "first_seen_at": aware(track["first_seen_at"], "first_seen_at"),
        "last_seen_at": last_seen_at,
        "ended_at": last_seen_at,
        "crops": track["crops"],
        "person_id": track["label"] if track["label"] in known else None,
        **{key: track[key] for key in ("label", "score", "threshold", "faces")},
        "model_version": optional_id(track["model_version"], "model_version"),
    }


def insert_tracks(
    session, values: list[dict], crops: list[dict], tracks: list[dict], known: set[str]
) -> None:
    """Insert the crops (`values`: their `recognitions` rows; `crops`: each with "codes",
    "embedding_space", "track_id" (its track's key), "quality", "grey" and optionally
    "thumbnail", recognition.sighting.thumbnail's JPEG), the tracks first (a crop's row names
    its track) and each track's code (its "embedding", the mean of its best crops)."""
    rows = [_track_values(track, known) for track in tracks]
    returning = insert(Track).returning(Track.id, sort_by_parameter_order=True)
    track_ids = dict(
        zip([row["track_key"] for row in rows], session.scalars(returning, rows), strict=True)
    )
    linked = [
        {**row, **crop_columns(track_ids[crop["track_id"]], crop["quality"], crop["grey"])}
        for row, crop in zip(values, crops, strict=True)
    ]
    _insert_crops(session, linked, crops)
    for track, row in zip(tracks, rows, strict=True):
        store_track_code(
            session, track_ids[row["track_key"]], [track["embedding"]], track["embedding_space"],
            camera_id=row["camera_id"], location_id=row["location_id"],
            last_seen_at=row["last_seen_at"],
        )  # fmt: skip
