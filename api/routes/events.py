"""`GET /events`: new sightings as Server-Sent Events, from whichever replica recorded them.

Each stream polls the database for rows above the last id it sent (ids only grow), so a
sighting stored by any replica reaches every watcher within `POLL_SECONDS`. A stream ends after
`STREAM_SECONDS` (the browser's EventSource reconnects by itself, sending Last-Event-ID, and
nothing is missed): a gthread worker's thread is never held for good.
"""

from __future__ import annotations

import json
import time

from flask import Response, request, stream_with_context
from flask_restx import Namespace, Resource

from api import params, schemas
from api.auth import REVIEW, requires
from api.rendering import recognition_json
from api.service import current_service
from storage import DatabaseUnavailable

ns = Namespace("events", description="Live sightings (Server-Sent Events)", path="/events")
POLL_SECONDS = 1.0
# A closed page is only noticed when a write fails: a comment every couple of quiet seconds
# frees its thread soon (at 15 s, five quick reloads held every thread of a worker for 30 s).
HEARTBEAT_SECONDS = 2.0
STREAM_SECONDS = 300.0
BATCH = 100

events_parser = ns.parser()
events_parser.add_argument("camera", type=str, location="args", help="only this camera")
events_parser.add_argument(
    "after", type=int, location="args", help="send sightings after this id (default: from now)"
)


def _start_id(db) -> int:
    raw = request.headers.get("Last-Event-ID") or request.args.get("after")
    if raw is None:
        return db.last_sighting_id()
    if not raw.isdigit() or len(raw) > 18:
        raise params.BadRequest("after/Last-Event-ID is a sighting id", code="invalid_parameter")
    return int(raw)


def _stream(db, last_id: int, camera: str | None):
    yield "retry: 2000\n\n"
    started = quiet_since = time.monotonic()
    while time.monotonic() - started < STREAM_SECONDS:
        try:
            rows = db.sightings_after(last_id, BATCH, camera)
        except DatabaseUnavailable:
            rows = []
        with_faces = db.sightings_with_thumbnails(r["id"] for r in rows) if rows else set()
        for row in rows:
            last_id = row["id"]
            body = json.dumps(recognition_json(row, row["id"] in with_faces))
            yield f"id: {last_id}\nevent: sighting\ndata: {body}\n\n"
        if rows:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= HEARTBEAT_SECONDS:
            yield ": still here\n\n"
            quiet_since = time.monotonic()
        if len(rows) < BATCH:
            time.sleep(POLL_SECONDS)


@ns.route("")
class Events(Resource):
    @requires(REVIEW)
    @ns.expect(events_parser)
    @ns.produces(["text/event-stream", "application/json"])  # errors are JSON
    @ns.response(
        200, "An event stream: `event: sighting`, `id: <sighting id>`, data as in /recognitions"
    )
    @schemas.errors(ns, 400, 401, 403, 503)
    def get(self):
        """Stream new sightings as they are recorded (reconnects resume from Last-Event-ID)."""
        db = current_service().db
        camera = params.optional_id(request.args, "camera")
        last_id = _start_id(db)
        response = Response(
            stream_with_context(_stream(db, last_id, camera)), mimetype="text/event-stream"
        )
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events on at once
        return response
