"""`/unknowns`: the strangers the cameras keep seeing, grouped (workers/grouper.py), for operators
to look at, name (enrol) or dismiss."""

from __future__ import annotations

import contextlib

import numpy as np
from flask import request
from flask_restx import Namespace, Resource, fields

from api import look_alike_warnings as lookalikes
from api import params, schemas
from api.auth import ADMIN, REVIEW, requires
from api.errors import Conflict
from api.rendering import face_url, recognition_json
from api.routes._shared import documented
from api.service import current_service
from recognition.gallery import decode_one
from storage import AlreadyExists, NotFound

ns = Namespace("unknowns", description="Strangers seen again, grouped", path="/unknowns")
ENROL_FACES = 5  # the group's largest faces become the person's enrolment images
MAX_GROUP_ID = 2**31 - 1  # the database's INT column

group_model = ns.model(
    "UnknownGroup",
    {
        "id": fields.Integer(required=True),
        "size": fields.Integer(required=True, description="sightings in the group"),
        "first_seen_at": fields.DateTime(required=True),
        "last_seen_at": fields.DateTime(required=True),
        "cameras": fields.List(fields.String, required=True),
        "face_url": schemas.nullable(fields.String, required=True, description="a face of it"),
    },
)
group_page = ns.model(
    "UnknownGroups",
    {
        "groups": fields.List(fields.Nested(group_model), required=True),
        "total": fields.Integer(required=True),
    },
)
group_faces = ns.clone(
    "UnknownGroupFaces",
    group_model,
    {"faces": fields.List(fields.Nested(schemas.recognition), required=True)},
)
enrolled = ns.model(
    "EnrolledGroup",
    {
        "person_id": fields.String(required=True),
        "images_added": fields.Integer(required=True),
        "sightings_named": fields.Integer(required=True),
        "warnings": lookalikes.warnings_field,
    },
)
dismissed = ns.model(
    "DismissedGroup",
    {"deleted": fields.Integer(required=True), "sightings": fields.Integer(required=True)},
)
page_parser = ns.parser()
page_parser.add_argument("limit", type=int, default=50, location="args", help="1-500")
page_parser.add_argument("offset", type=int, default=0, location="args")
enrol_parser = ns.parser()
enrol_parser.add_argument(
    "person_id", type=str, required=True, location="form", help="new or existing; " + params.ID_RULE
)


def _group_json(group: dict) -> dict:
    return {
        **{k: group[k] for k in ("id", "size", "cameras")},
        "first_seen_at": params.iso(group["first_seen_at"]),
        "last_seen_at": params.iso(group["last_seen_at"]),
        "face_url": face_url(group["cover_id"]) if group["cover_id"] else None,
    }


@ns.route("")
class UnknownGroups(Resource):
    @documented(ns, REVIEW, 400, 503, expect=page_parser)
    @ns.response(200, "Groups, largest and most recently seen first", group_page)
    def get(self):
        """The groups of strangers' faces: size, first and last seen, cameras, a face."""
        limit, offset = params.window(request.args)
        groups, total = current_service().db.unknown_groups(limit, offset)
        return {"groups": [_group_json(g) for g in groups], "total": total}


def _group_id(group_id: int) -> int:
    if not 1 <= group_id <= MAX_GROUP_ID:  # no such row, and too big to even ask the database
        raise NotFound(f"no unknown group {group_id}")
    return group_id


group_param = {"description": "the group's id", "minimum": 1, "maximum": MAX_GROUP_ID}


@ns.route("/<int:group_id>")
@ns.param("group_id", **group_param)
class UnknownGroup(Resource):
    @requires(REVIEW)
    @ns.response(200, "The group and its sightings, newest first", group_faces)
    @schemas.errors(ns, 401, 403, 404, 503)
    def get(self, group_id):
        """One group with every sighting in it."""
        db = current_service().db
        group, faces = db.unknown_group(_group_id(group_id))
        with_faces = db.sightings_with_thumbnails(f["id"] for f in faces)
        rows = [recognition_json(f, f["id"] in with_faces) for f in faces]
        return {**_group_json(group), "faces": rows}

    @requires(ADMIN)
    @ns.response(200, "Dismissed: the group and its sightings are deleted", dismissed)
    @schemas.errors(ns, 401, 403, 404, 503)
    def delete(self, group_id):
        """Dismiss a group: it and its sightings (with their faces) are deleted."""
        gone = current_service().db.delete_unknown_group(_group_id(group_id))
        return {"deleted": group_id, "sightings": gone}


@ns.route("/<int:group_id>/enrol")
@ns.param("group_id", **group_param)
class EnrolGroup(Resource):
    @requires(ADMIN)
    @ns.expect(enrol_parser)
    @ns.response(200, "The person (created if new) has the group's best faces", enrolled)
    @schemas.errors(ns, 400, 401, 403, 404, 409, 503)
    def post(self, group_id):
        """Name a group: its largest faces become enrolment images of a new or existing person,
        and its sightings become theirs. Train to make the model know them. `warnings`: other
        people the faces look like (a person enrolled twice?); the group is named anyway."""
        service = current_service()
        person_id = params.person_id(params.required_id(request.form, "person_id"))
        analyzer = service.analyzers.get()
        space = analyzer.embedding_space
        faces = service.db.best_unknown_faces(_group_id(group_id), space, ENROL_FACES)
        if not faces:
            raise Conflict(
                "the group has no faces of the serving embedder to enrol", code="no_faces"
            )
        with contextlib.suppress(AlreadyExists):  # an existing person gains the faces
            service.db.add_person(person_id)
        for _, jpeg, code in faces:
            service.db.add_image(person_id, jpeg, decode_one(code), space)
        named = service.db.name_unknown_group(group_id, person_id)
        vectors = np.array([decode_one(code) for _, _, code in faces])
        warnings = lookalikes.enrolment_warnings(service, analyzer, vectors, person_id)
        body = {"person_id": person_id, "images_added": len(faces), "sightings_named": named}
        return {**body, "warnings": warnings}
