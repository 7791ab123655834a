"""`/database`: the people, and where each was last seen."""

from __future__ import annotations

from flask_restx import Namespace, Resource

from api import params, schemas
from api.auth import RECOGNIZE
from api.routes._shared import PERSON_PATH, documented, person_route
from api.routes.dataset import people_counted
from api.service import current_service

ns = Namespace("database", description="People and their last known location", path="/database")


@ns.route("/people")
class People(Resource):
    get = people_counted(ns, "people", schemas.people, "The people in the database.")


@person_route(ns, f"/{PERSON_PATH}/last-known-location")
class LastKnownLocation(Resource):
    @documented(ns, RECOGNIZE, 400, 404, 503)
    @ns.response(200, "Where the person was last seen (nulls if never)", schemas.location)
    def get(self, person_id):
        """Where the person's most recent track was: its camera, location and last-seen time."""
        found = current_service().db.last_known_location(params.person_id(person_id)) or {}
        return {
            "id_name": person_id,
            "location_id": found.get("location_id"),
            "camera_id": found.get("camera_id"),
            "recognized_at": params.iso(found.get("recognized_at")),
        }
