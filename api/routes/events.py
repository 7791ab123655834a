"""`GET /events`: track events (a track starts, changes its label, ends) as Server-Sent Events,
from whichever replica wrote them.

This is the route of `make run` (one gunicorn process, no proxy): each stream holds one of the
worker's threads, so at most FACEREC_EVENTS_THREAD_STREAMS of them may (one more is refused with
503 and Retry-After, never queued behind recognitions). In the container and the pod, nginx sends
/events to facerec-events (api/events_server.py) instead, where a stream costs a socket.

Each stream polls the database for track events above the last id it sent (ids only grow), so
an event written by any replica reaches every watcher within `POLL_SECONDS`. A stream ends after
`STREAM_SECONDS` (the browser's EventSource reconnects by itself, sending Last-Event-ID, and
nothing is missed): a gthread worker's thread is never held for good.
"""

from __future__ import annotations

import time

from flask import Response, request, stream_with_context
from flask_restx import Namespace, Resource

from api import params, sse
from api.auth import HEADER, REVIEW
from api.errors import ApiError
from api.routes._shared import documented
from api.service import current_service
from storage import DatabaseUnavailable

ns = Namespace("events", description="Live track events (Server-Sent Events)", path="/events")
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = sse.HEARTBEAT_SECONDS
STREAM_SECONDS = 300.0
BATCH = sse.BATCH

events_parser = ns.parser()
events_parser.add_argument("camera", type=str, location="args", help="only this camera")
events_parser.add_argument(
    "after", type=int, location="args", help="send track events after this id (default: from now)"
)


def _start_id(db) -> int:
    try:
        start = sse.parse_start_id(
            request.headers.get("Last-Event-ID") or request.args.get("after")
        )
    except ValueError as error:
        raise params.BadRequest(str(error), code="invalid_parameter") from None
    return db.last_track_event_id() if start is None else start


def _stream(db, last_id: int, camera: str | None, quiet_seconds: float):
    yield sse.RETRY
    started = quiet_since = time.monotonic()
    while time.monotonic() - started < STREAM_SECONDS:
        try:
            rows = db.track_events_after(last_id, BATCH, camera)
        except DatabaseUnavailable:
            rows = []
        for row in rows:
            last_id = row["id"]
            yield sse.track_event(row, quiet_seconds)
        if rows:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= HEARTBEAT_SECONDS:
            yield sse.HEARTBEAT
            quiet_since = time.monotonic()
        if len(rows) < BATCH:
            time.sleep(POLL_SECONDS)


def _take_slot(service) -> str | None:
    """A slot of this worker's stream cap (raises 503/429 with Retry-After); the key it counts on."""
    key = request.headers.get(HEADER) if service.keys.enabled else None
    refusal = service.stream_limits.acquire(key)
    if refusal is not None:
        raise ApiError(refusal.message, refusal.code, refusal.status, refusal.headers)
    return key


@ns.route("")
class Events(Resource):
    @documented(ns, REVIEW, 400, 429, 503, expect=events_parser)
    @ns.produces(["text/event-stream", "application/json"])  # errors are JSON
    @ns.response(
        200,
        "An event stream: `event: track`, `id: <track event id>`, data "
        '`{"id", "kind": "start"|"label"|"end", "at", "label", "track"}` (track as in /tracks)',
    )
    def get(self):
        """Stream track events as they are written: one when a track starts, when its label
        changes and when it ends, never one per crop (reconnects resume from Last-Event-ID).

        Open streams are capped per replica (503) and per API key (429); both answers carry
        Retry-After."""
        service = current_service()
        db = service.db
        camera = params.optional_id(request.args, "camera")
        last_id = _start_id(db)
        key = _take_slot(service)
        response = Response(
            stream_with_context(_stream(db, last_id, camera, service.settings.track_quiet_seconds)),
            mimetype="text/event-stream",
        )
        response.call_on_close(lambda: service.stream_limits.release(key))
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events on at once
        return response
