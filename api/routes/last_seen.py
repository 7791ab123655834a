"""`/database`: the people, and where each was last seen."""

from __future__ import annotations

from flask_restx import Namespace, Resource

from api import params, schemas
from api.auth import RECOGNIZE, requires
from api.rendering import people_counts
from api.service import current_service

ns = Namespace("database", description="People and their last known location", path="/database")


@ns.route("/people")
class People(Resource):
    @requires(RECOGNIZE)
    @ns.response(200, "Every person with the number of their images", schemas.people)
    @schemas.errors(ns, 401, 403, 503)
    def get(self):
        """The people in the database."""
        return {"people": people_counts(current_service().db)}


@ns.route("/<string:person_id>/last-known-location")
@ns.param("person_id", params.ID_RULE, pattern=params.ID_PATTERN.pattern, maxLength=64)
class LastKnownLocation(Resource):
    @requires(RECOGNIZE)
    @ns.response(200, "Where the person was last seen (nulls if never)", schemas.location)
    @schemas.errors(ns, 400, 401, 403, 404, 503)
    def get(self, person_id):
        """Where the person's most recent track was: its camera, location and last-seen time."""
        found = current_service().db.last_known_location(params.person_id(person_id)) or {}
        return {
            "id_name": person_id,
            "location_id": found.get("location_id"),
            "camera_id": found.get("camera_id"),
            "recognized_at": params.iso(found.get("recognized_at")),
        }
