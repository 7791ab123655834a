"""`/tracks`: one record per person passing a camera, with the decision over its best crops."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource

from api import params, schemas
from api.auth import RECOGNIZE, requires
from api.rendering import page_json, track_json
from api.service import current_service
from api.tracking import TRACK_ID_RULE, valid_track_id
from storage.validation import MAX_PER_PAGE

ns = Namespace("tracks", description="People passing cameras, one record each", path="/tracks")

filters = schemas.listing_filters(
    "last seen at or after (ISO 8601)", "last seen before (ISO 8601)", MAX_PER_PAGE
)


def _one(camera_id: str, track_id: str) -> tuple:
    return params.valid_id(camera_id, "camera_id"), valid_track_id(track_id)


@ns.route("")
class Tracks(Resource):
    @requires(RECOGNIZE)
    @ns.expect(filters)
    @ns.response(200, "One page, the most recently seen first", schemas.track_page)
    @schemas.errors(ns, 400, 401, 403, 503)
    def get(self):
        """Tracks filtered by person, camera and time, a page at a time."""
        query = params.listing(request.args, MAX_PER_PAGE)
        service = current_service()
        rows, total = service.db.tracks(**query)
        quiet = service.settings.track_quiet_seconds
        return page_json("tracks", [track_json(row, quiet) for row in rows], query, total)


@ns.route("/<string:camera_id>/<string:track_id>")
@ns.param("camera_id", params.ID_RULE)
@ns.param("track_id", TRACK_ID_RULE)
class OneTrack(Resource):
    @requires(RECOGNIZE)
    @ns.response(200, "The track", schemas.track)
    @schemas.errors(ns, 400, 401, 403, 404, 503)
    def get(self, camera_id: str, track_id: str):
        """One track of a camera."""
        service = current_service()
        track = service.db.track(*_one(camera_id, track_id))
        return track_json(track, service.settings.track_quiet_seconds)


@ns.route("/<string:camera_id>/<string:track_id>/end")
@ns.param("camera_id", params.ID_RULE)
@ns.param("track_id", TRACK_ID_RULE)
class EndTrack(Resource):
    @requires(RECOGNIZE)
    @ns.response(200, "Ended (a later crop reopens it)", schemas.track)
    @schemas.errors(ns, 400, 401, 403, 404, 503)
    def post(self, camera_id: str, track_id: str):
        """The edge saw the person leave: close the track."""
        service = current_service()
        track, events = service.db.end_track(*_one(camera_id, track_id))
        service.send_track_events(events)
        return track_json(track, service.settings.track_quiet_seconds)
