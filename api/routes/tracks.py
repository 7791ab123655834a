"""`/tracks`: one record per person passing a camera, with the decision over its best crops."""

from __future__ import annotations

from flask_restx import Namespace, Resource

from api import schemas
from api.auth import RECOGNIZE
from api.rendering import track_json
from api.routes._shared import TRACK_PATH, documented, filtered_page, track_route
from api.service import current_service
from api.tracking import track_key
from storage.validation import MAX_PER_PAGE

ns = Namespace("tracks", description="People passing cameras, one record each", path="/tracks")

filters = schemas.listing_filters(
    "last seen at or after (ISO 8601)", "last seen before (ISO 8601)", MAX_PER_PAGE
)


def _shown(track: dict) -> dict:
    """A track as every route here answers it (ended also once FACEREC_TRACK_QUIET_SECONDS
    pass without a crop)."""
    return track_json(track, current_service().settings.track_quiet_seconds)


def _all_shown(tracks: list[dict]) -> list[dict]:
    return [_shown(track) for track in tracks]


@ns.route("")
class Tracks(Resource):
    @documented(ns, RECOGNIZE, 400, 503, expect=filters)
    @ns.response(200, "One page, the most recently seen first", schemas.track_page)
    def get(self):
        """Tracks filtered by person, camera and time, a page at a time."""
        return filtered_page("tracks", current_service().db.tracks, _all_shown)


@track_route(ns, f"/{TRACK_PATH}")
class OneTrack(Resource):
    @documented(ns, RECOGNIZE, 400, 404, 503)
    @ns.response(200, "The track", schemas.track)
    def get(self, camera_id: str, track_id: str):
        """One track of a camera."""
        return _shown(current_service().db.track(*track_key(camera_id, track_id)))


@track_route(ns, f"/{TRACK_PATH}/end")
class EndTrack(Resource):
    @documented(ns, RECOGNIZE, 400, 404, 503)
    @ns.response(200, "Ended (a later crop reopens it)", schemas.track)
    def post(self, camera_id: str, track_id: str):
        """The edge saw the person leave: close the track."""
        service = current_service()
        track, events = service.db.end_track(*track_key(camera_id, track_id))
        service.send_track_events(events)
        return _shown(track)
