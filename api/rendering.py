"""How stored rows are shown in JSON: a sighting the same way on /recognitions and /unknowns,
a track the same way on /tracks, /events and webhooks; the people with their image counts on /dataset and /database/people."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from api import params, schemas


def face_url(recognition_id: int) -> str:
    return f"/recognitions/{recognition_id}/face"


def recognition_json(row: dict, has_face: bool) -> dict:
    return {
        "id": row["id"],
        "label": row["label"],
        "person_id": row["person_id"],
        "confidence": row["confidence"],
        "score": row["confidence"],
        "threshold": row["threshold"],
        "camera_id": row["camera_id"],
        "location_id": row["location_id"],
        "bounding_box": dict(zip(schemas.SIDES, row["box"], strict=True)),
        "model_version": row["model_version"],
        "recognized_at": params.iso(row["recognized_at"]),
        "face_url": face_url(row["id"]) if has_face else None,
    }


def recognitions_json(db, rows: list[dict]) -> list[dict]:
    """Sightings as /recognitions shows them, with a face_url where their face is kept."""
    faces = db.sightings_with_thumbnails(row["id"] for row in rows)
    return [recognition_json(row, row["id"] in faces) for row in rows]


def people_counts(db) -> list[dict]:
    """Every enrolled person with the number of their images."""
    return [{"id_name": person, "number_of_images": n} for person, n in db.list_people()]


def page_json(key: str, items: list, query: dict, total: int) -> dict:
    """One page of a listing, as /recognitions and /tracks answer it."""
    page, per_page = query["page"], query["per_page"]
    return {
        key: items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page),
    }


def track_json(track: dict, quiet_seconds: float) -> dict:
    last_seen = track["last_seen_at"]
    if last_seen.tzinfo is None:  # SQLite hands datetimes back naive (UTC)
        last_seen = last_seen.replace(tzinfo=UTC)
    quiet = datetime.now(UTC) - last_seen > timedelta(seconds=quiet_seconds)
    best = track["best_recognition_id"]
    return {
        **{key: track[key] for key in ("id", "camera_id", "location_id", "crops", "label")},
        **{key: track[key] for key in ("person_id", "score", "threshold", "faces")},
        "model_version": track["model_version"],
        "first_seen_at": params.iso(track["first_seen_at"]),
        "last_seen_at": params.iso(track["last_seen_at"]),
        "ended": track["ended_at"] is not None or quiet,
        "face_url": face_url(best) if best is not None else None,
    }


def track_event_json(event: dict, quiet_seconds: float) -> dict:
    """A track event as /events sends it and webhooks POST it: what happened (`kind` 'start',
    'label', 'end' or 'alert'), when, the label it left, and the track as it is now; an
    alert also its `alert` (api/routes/alerts.py)."""
    body = {
        "id": event["id"],
        "kind": event["kind"],
        "at": params.iso(event["at"]),
        "label": event["label"],
        "track": track_json(event["track"], quiet_seconds),
    }
    if "alert" in event:
        body["alert"] = alert_json(event["alert"])
    return body


def alert_json(alert: dict) -> dict:
    """An alert without its track (never its rule's destination: streams are not admin's)."""
    return {
        **{key: alert[key] for key in ("id", "event_id", "rule_id", "rule_name")},
        **{key: alert[key] for key in ("camera_id", "subject")},
        "at": params.iso(alert["at"]),
        "acked_at": params.iso(alert["acked_at"]),
    }
