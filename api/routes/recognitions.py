"""`/recognitions`: who was seen, where and when; the faces kept of sightings; and search by
face ("when and where was this person seen?"), for `review` and `admin` keys.

Search is exact over the retention window (FACEREC_RETENTION_DAYS) and only among sightings
embedded in the serving analyzer's embedding space. Results are ranked by cosine similarity and
all returned up to `limit`; each says whether it reaches the 1:1 threshold (`match`), the
similarity that at most FACEREC_FALSE_ACCEPT_RATE of stranger pairs reach: a reviewer sees the
likely sightings first and the look-alikes below them, marked as such.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from flask import Response, request
from flask_restx import Namespace, Resource, fields

from api import params, schemas
from api.auth import RECOGNIZE, REVIEW
from api.rendering import face_url, recognitions_json, track_json
from api.routes._shared import documented, filtered_page
from api.service import current_service
from api.subjects import photo_subject
from recognition import load_image
from recognition.calibration import decision_threshold
from storage import NotFound
from storage.validation import MAX_PER_PAGE

ns = Namespace("recognitions", description="The recorded recognitions", path="/recognitions")
DEFAULT_RESULTS, MAX_RESULTS = 20, 200

filters = schemas.listing_filters(
    "ISO 8601, inclusive (UTC if no zone)", "ISO 8601, exclusive (UTC if no zone)", MAX_PER_PAGE
)

search_form = schemas.image_form(
    ("camera_id", str, False, "only tracks of this camera"),
    ("location_id", str, False, "only tracks at this location"),
    ("since", str, False, "last seen at or after, ISO 8601 (UTC if no zone)"),
    ("until", str, False, "last seen before, ISO 8601 (UTC if no zone)"),
    ("limit", int, False, f"results, 1 to {MAX_RESULTS} (default {DEFAULT_RESULTS})"),
)
found = ns.clone(
    "FoundTrack",
    schemas.track,
    {
        "similarity": fields.Float(
            required=True, description="cosine of the photo's face and the track's closest crop"
        ),
        "match": fields.Boolean(required=True, description="similarity >= threshold"),
        "sighting_id": schemas.nullable(
            fields.Integer, required=True, description="the recognition of that closest crop"
        ),
        "sighting_face_url": schemas.nullable(fields.String, required=True),
        "track_similarity": fields.Float(
            required=True, description="cosine of the photo's face and the track's mean face"
        ),
    },
)
search_result = ns.model(
    "TrackSearch",
    {
        "results": fields.List(fields.Nested(found), required=True, description="best first"),
        "threshold": fields.Float(required=True, description="the 1:1 similarity threshold"),
        "searched": fields.Integer(required=True, description="tracks compared"),
        "face": fields.Nested(schemas.box, required=True, description="the face searched for"),
    },
)


def found_json(row: dict, threshold: float, quiet_seconds: float) -> dict:
    """A track found by face: as GET /tracks shows it, with its closest crop."""
    sighting = row["sighting_id"]
    return {
        **track_json(row, quiet_seconds),
        "similarity": row["similarity"],
        "match": row["similarity"] >= threshold,
        "sighting_id": sighting,
        "sighting_face_url": face_url(sighting) if row["sighting_has_thumbnail"] else None,
        "track_similarity": row["track_similarity"],
    }


def retention_start(retention_days: float) -> datetime | None:
    """The oldest instant a sighting is kept from (None: kept forever)."""
    if not retention_days:
        return None
    return datetime.now(UTC) - timedelta(days=retention_days)


@ns.route("/<int:recognition_id>/face")
@ns.param("recognition_id", "a recognition's id")
class SightingFace(Resource):
    @documented(ns, REVIEW, 404, 503)
    @ns.produces(["image/jpeg", "application/json"])  # errors are JSON
    @ns.response(200, "The face as a JPEG, about 112 px on its long side")
    def get(self, recognition_id: int):
        """The thumbnail kept of a sighting's face (404 when none is kept, or it was purged)."""
        jpeg = current_service().db.sighting_thumbnail(recognition_id)
        if jpeg is None:
            raise NotFound(f"no face kept for recognition {recognition_id}")
        response = Response(jpeg, mimetype="image/jpeg")
        response.headers["Cache-Control"] = "private, max-age=300"
        return response


@ns.route("/search")
class SightingSearch(Resource):
    @documented(ns, REVIEW, 400, 413, 422, 503, expect=search_form)
    @ns.response(200, "Tracks ranked by similarity to the photo's face", search_result)
    def post(self):
        """Past tracks of the person in the photo, enrolled or not, best first: each a
        person passing a camera, with the crop of it most like the photo."""
        service, form = current_service(), request.form
        camera_id = params.optional_id(form, "camera_id")
        location_id = params.optional_id(form, "location_id")
        since, until = params.timestamp(form, "since"), params.timestamp(form, "until")
        limit = params.integer(form, "limit", DEFAULT_RESULTS, 1, MAX_RESULTS)
        kept_from = retention_start(service.settings.retention_days)
        if kept_from is not None:
            since = max(since, kept_from) if since else kept_from
        analyzer = service.analyzers.get()
        rgb = load_image(params.uploaded_image(), service.settings.max_image_pixels)
        embedding, face, _ = photo_subject(analyzer, rgb)
        settings = service.settings
        threshold = decision_threshold(
            analyzer.embedder.name, 1, settings.false_accept_rate, settings.match_threshold
        )
        ranked, searched = service.db.search_tracks(
            embedding,
            analyzer.embedding_space,
            camera_id=camera_id,
            location_id=location_id,
            since=since,
            until=until,
            limit=limit,
        )
        quiet = settings.track_quiet_seconds
        return {
            "results": [found_json(row, threshold, quiet) for row in ranked],
            "threshold": threshold,
            "searched": searched,
            "face": face,
        }


@ns.route("")
class Recognitions(Resource):
    @documented(ns, RECOGNIZE, 400, 503, expect=filters)
    @ns.response(200, "One page, newest first", schemas.recognition_page)
    def get(self):
        """Recognitions filtered by person, camera and time, a page at a time."""
        db = current_service().db
        return filtered_page("recognitions", db.recognitions, partial(recognitions_json, db))
