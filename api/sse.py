"""The Server-Sent Events wire format of GET /events, shared by gunicorn's route and
facerec-events (api/events_server.py), so both send the same bytes."""

from __future__ import annotations

import json

from api.rendering import recognition_json

# The browser's EventSource waits this long before it reconnects (with Last-Event-ID).
RETRY = "retry: 2000\n\n"
# A closed page is only noticed when a write fails: a comment every couple of quiet seconds.
HEARTBEAT = ": still here\n\n"
HEARTBEAT_SECONDS = 2.0
# Sightings read per query.
BATCH = 100


def sighting_event(row: dict, has_face: bool) -> str:
    body = json.dumps(recognition_json(row, has_face))
    return f"id: {row['id']}\nevent: sighting\ndata: {body}\n\n"


def parse_start_id(raw: str | None) -> int | None:
    """Last-Event-ID or `after` as a sighting id; None when absent; ValueError when not an id."""
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValueError("after/Last-Event-ID is a sighting id")
    return int(raw)
