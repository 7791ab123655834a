"""`/unknowns`: the strangers the cameras keep seeing, grouped (workers/grouper.py), for operators
to look at, name (enrol) or dismiss."""

from __future__ import annotations

import contextlib

import numpy as np
from flask import request
from flask_restx import Namespace, Resource, fields

from api import look_alike_warnings as lookalikes
from api import params, schemas
from api.auth import ADMIN, REVIEW
from api.errors import BadRequest, Conflict, Unprocessable
from api.rendering import face_url, recognition_json
from api.routes._shared import documented, id_route
from api.service import current_service
from recognition.gallery import decode_one
from storage import AlreadyExists, NotFound
from storage.unknown_edits import CannotEditGroups

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


def group_route(namespace, path: str):
    """A route whose path names an unknown group (`<int:group_id>`)."""
    group = {"description": "the group's id", "minimum": 1, "maximum": MAX_GROUP_ID}
    return id_route(namespace, path, {"group_id": group})


@group_route(ns, "/<int:group_id>")
class UnknownGroup(Resource):
    @documented(ns, REVIEW, 404, 503)
    @ns.response(200, "The group and its sightings, newest first", group_faces)
    def get(self, group_id):
        """One group with every sighting in it."""
        db = current_service().db
        group, faces = db.unknown_group(_group_id(group_id))
        with_faces = db.sightings_with_thumbnails(f["id"] for f in faces)
        rows = [recognition_json(f, f["id"] in with_faces) for f in faces]
        return {**_group_json(group), "faces": rows}

    @documented(ns, ADMIN, 404, 503)
    @ns.response(200, "Dismissed: the group and its sightings are deleted", dismissed)
    def delete(self, group_id):
        """Dismiss a group: it and its sightings (with their faces) are deleted."""
        gone = current_service().db.delete_unknown_group(_group_id(group_id))
        return {"deleted": group_id, "sightings": gone}


@group_route(ns, "/<int:group_id>/enrol")
class EnrolGroup(Resource):
    @documented(ns, ADMIN, 400, 404, 409, 503, expect=enrol_parser)
    @ns.response(200, "The person (created if new) has the group's best faces", enrolled)
    def post(self, group_id):
        """Name a group: its largest faces become enrolment images of a new or existing person,
        and its sightings become theirs. Train to make the model know them. `warnings`: other
        people the faces look like (a person enrolled twice?); the group is named anyway."""
        service = current_service()
        person_id = params.person_id(params.required_id(request.form, "person_id"))
        analyzer, faces = _enrolment_faces(service, group_id)
        space = analyzer.embedding_space
        with contextlib.suppress(AlreadyExists):  # an existing person gains the faces
            service.db.add_person(person_id)
        for _, jpeg, code in faces:
            service.db.add_image(person_id, jpeg, decode_one(code), space)
        named = service.db.name_unknown_group(group_id, person_id)
        vectors = np.array([decode_one(code) for _, _, code in faces])
        warnings = lookalikes.enrolment_warnings(service, analyzer, vectors, person_id)
        body = {"person_id": person_id, "images_added": len(faces), "sightings_named": named}
        return {**body, "warnings": warnings}


def _enrolment_faces(service, group_id: int) -> tuple:
    """(the serving analyzer, the group's faces enrolling it would add); 409 when it has none
    of the serving embedder."""
    analyzer = service.analyzers.get()
    faces = service.db.best_unknown_faces(
        _group_id(group_id), analyzer.embedding_space, ENROL_FACES
    )
    if not faces:
        raise Conflict("the group has no faces of the serving embedder to enrol", code="no_faces")
    return analyzer, faces


# ---- Operators' edits: merge groups, release tracks, check before enrolling (issue 23) ----------

MAX_EDITED = 500  # groups merged, or sightings released, at once
MAX_ROW_ID = 2**63 - 1  # the database's BIGINT: a larger id is a 400, never a driver error

group_check = ns.model(
    "UnknownGroupLookAlikeCheck",
    {
        "person_id": fields.String(required=True),
        "faces": fields.Integer(required=True, description="the faces enrolling would add"),
        "warnings": lookalikes.warnings_field,
    },
)
merge_request = ns.model(
    "MergeUnknownGroups",
    {"groups": fields.List(fields.Integer, required=True, description="groups to merge into this")},
)
merged = ns.model(
    "MergedUnknownGroups",
    {
        "group": fields.Nested(group_model, required=True, description="the group now"),
        "merged": fields.List(fields.Integer, required=True, description="groups gone into it"),
        "sightings_moved": fields.Integer(required=True),
    },
)
release_request = ns.model(
    "ReleaseUnknownSightings",
    {
        "sightings": fields.List(
            fields.Integer, required=True, description="sightings of the group; each takes its "
            "whole track along (a track is one person)"
        )
    },
)  # fmt: skip
released = ns.model(
    "ReleasedUnknownSightings",
    {
        "group": fields.Nested(group_model, required=True, description="the new group"),
        "from_group": fields.Nested(group_model, required=True, description="the group now"),
        "sightings_moved": fields.Integer(required=True),
    },
)
check_parser = ns.parser()
check_parser.add_argument(
    "person_id", type=str, required=True, location="form", help="whom it would be enrolled as"
)


def _ids_in_body(name: str) -> list[int]:
    """`{"<name>": [ids]}`: 1 to MAX_EDITED whole numbers, duplicates dropped; 400 otherwise."""
    body = request.get_json(silent=True)
    value = body.get(name) if isinstance(body, dict) else None
    valid = isinstance(value, list) and 1 <= len(value) <= MAX_EDITED
    if not valid or any(type(v) is not int or not 1 <= v <= MAX_ROW_ID for v in value):
        raise BadRequest(
            f'send a JSON object {{"{name}": [ids]}} with 1 to {MAX_EDITED} ids',
            code="invalid_json",
        )
    if set(body) != {name}:
        raise BadRequest(
            f"unknown fields: {', '.join(sorted(set(body) - {name}))}", code="invalid_json"
        )
    return list(dict.fromkeys(value))


@group_route(ns, "/<int:group_id>/merge")
class MergeGroups(Resource):
    @documented(ns, REVIEW, 400, 404, 422, 503, expect=merge_request)
    @ns.response(200, "Merged: the other groups are gone into this one", merged)
    def post(self, group_id):
        """Merge groups that are one person into this one: their sightings move here and the
        emptied groups are deleted, all at once. Alert rules watching them watch this group.
        The grouper keeps them together: later crops and new look-alike tracks join here."""
        into = _group_id(group_id)
        others = [_group_id(other) for other in _ids_in_body("groups")]
        if into in others:
            raise BadRequest("a group cannot be merged into itself", code="invalid_merge")
        try:
            group, moved = current_service().db.merge_unknown_groups(into, others)
        except CannotEditGroups as error:
            raise Unprocessable(str(error), code="cannot_merge") from None
        return {"group": _group_json(group), "merged": others, "sightings_moved": moved}


@group_route(ns, "/<int:group_id>/release")
class ReleaseSightings(Resource):
    @documented(ns, REVIEW, 400, 404, 422, 503, expect=release_request)
    @ns.response(200, "Released into a new group", released)
    def post(self, group_id):
        """Say these faces are someone else: their tracks leave the group for one new group
        (its id in `group.id`), which the grouper keeps apart: their later crops, and new
        tracks more like them than like anyone in this group, join the new group."""
        sightings = _ids_in_body("sightings")
        try:
            new, kept, moved = current_service().db.release_unknown_sightings(
                _group_id(group_id), sightings
            )
        except CannotEditGroups as error:
            raise Unprocessable(str(error), code="cannot_release") from None
        return {
            "group": _group_json(new),
            "from_group": _group_json(kept),
            "sightings_moved": moved,
        }


@group_route(ns, "/<int:group_id>/look-alike-check")
class GroupLookAlikeCheck(Resource):
    @documented(ns, REVIEW, 400, 404, 409, 503, expect=check_parser)
    @ns.response(200, "Checked; nothing stored", group_check)
    def post(self, group_id):
        """What enrolling the group as this person would warn, before anything is stored: the
        other enrolled people its enrolment faces (the same ones /enrol adds) look like."""
        service = current_service()
        person_id = params.person_id(params.required_id(request.form, "person_id"))
        analyzer, faces = _enrolment_faces(service, group_id)
        vectors = np.array([decode_one(code) for _, _, code in faces])
        warnings = lookalikes.enrolment_warnings(service, analyzer, vectors, person_id)
        return {"person_id": person_id, "faces": len(faces), "warnings": warnings}
