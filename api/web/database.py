"""`/database` and `/recognitions`: who was seen, where and when."""

from __future__ import annotations

import math

from flask import request
from flask_restx import Namespace, Resource, reqparse

from . import params, schemas
from .auth import RECOGNIZE, requires
from .service import current_service

ns = Namespace("database", description="People and their last known location", path="/database")
recognitions_ns = Namespace(
    "recognitions", description="The recorded recognitions", path="/recognitions"
)
MAX_PER_PAGE = 1000

filters = reqparse.RequestParser()
filters.add_argument("person", location="args", help="a person id, or 'unknown' for strangers")
filters.add_argument("camera", location="args", help="a camera id")
filters.add_argument("since", location="args", help="ISO 8601, inclusive (UTC if no zone)")
filters.add_argument("until", location="args", help="ISO 8601, exclusive (UTC if no zone)")
filters.add_argument("page", type=int, location="args", default=1, help="from 1")
filters.add_argument("per_page", type=int, location="args", default=50, help="1 to 1000")


@ns.route("/people")
class People(Resource):
    @requires(RECOGNIZE)
    @ns.response(200, "Every person with the number of their images", schemas.people)
    @schemas.errors(ns, 401, 403, 503)
    def get(self):
        """The people in the database."""
        people = current_service().db.list_people()
        return {"people": [{"id_name": p, "number_of_images": n} for p, n in people]}


@ns.route("/<string:person_id>/last-known-location")
@ns.param("person_id", params.ID_RULE, pattern=params.ID_PATTERN.pattern, maxLength=64)
class LastKnownLocation(Resource):
    @requires(RECOGNIZE)
    @ns.response(200, "Where the person was last seen (nulls if never)", schemas.location)
    @schemas.errors(ns, 400, 401, 403, 404, 503)
    def get(self, person_id):
        """The location of the person's latest recognition."""
        found = current_service().db.last_known_location(params.person_id(person_id)) or {}
        return {
            "id_name": person_id,
            "location_id": found.get("location_id"),
            "camera_id": found.get("camera_id"),
            "recognized_at": params.iso(found.get("recognized_at")),
        }


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


@recognitions_ns.route("")
class Recognitions(Resource):
    @requires(RECOGNIZE)
    @recognitions_ns.expect(filters)
    @recognitions_ns.response(200, "One page, newest first", schemas.recognition_page)
    @schemas.errors(recognitions_ns, 400, 401, 403, 503)
    def get(self):
        """Recognitions filtered by person, camera and time, a page at a time."""
        args = request.args
        page = params.integer(args, "page", 1, 1, 1_000_000)
        per_page = params.integer(args, "per_page", 50, 1, MAX_PER_PAGE)
        since, until = params.timestamp(args, "since"), params.timestamp(args, "until")
        person = args.get("person")
        if person is not None and person != "unknown":
            params.valid_id(person, "person")
        db = current_service().db
        rows, total = db.recognitions(
            person=person,
            camera=params.optional_id(args, "camera"),
            since=since,
            until=until,
            page=page,
            per_page=per_page,
        )
        faces = db.sightings_with_thumbnails(row["id"] for row in rows)
        return {
            "recognitions": [recognition_json(row, row["id"] in faces) for row in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": math.ceil(total / per_page),
        }
