"""The Server-Sent Events wire format of GET /events, shared by gunicorn's route and
facerec-events (api/events_server.py), so both send the same bytes."""

from __future__ import annotations

import json

from api.rendering import track_event_json

# The browser's EventSource waits this long before it reconnects (with Last-Event-ID).
RETRY = "retry: 2000\n\n"
# A closed page is only noticed when a write fails: a comment every couple of quiet seconds.
HEARTBEAT = ": still here\n\n"
HEARTBEAT_SECONDS = 2.0
# Track events read per query.
BATCH = 100


def track_event(event: dict, quiet_seconds: float) -> str:
    """`event: track` (`event: alert` for an alert), `id: <track event id>`, data:
    api.rendering.track_event_json."""
    body = json.dumps(track_event_json(event, quiet_seconds))
    name = "alert" if event["kind"] == "alert" else "track"
    return f"id: {event['id']}\nevent: {name}\ndata: {body}\n\n"


def parse_start_id(raw: str | None) -> int | None:
    """Last-Event-ID or `after` as a track event id; None when absent; ValueError when not one."""
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValueError("after/Last-Event-ID is a track event id")
    return int(raw)
