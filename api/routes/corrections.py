"""Corrections: an operator says a track (or one sighting) "is Y" or "is not X", or undoes it.

"Not X" keeps the target's best faces as X's negatives: the next training trains X against them
and refuses X for faces nearer them than X's own (docs/recognition.md). "Is Y" relabels it and,
with `enrol=true`, enrols its faces that pass the quality floor as Y's images. Every change is in
the `label_changes` history, which undo walks back. Needs the `review` scope.
"""

from __future__ import annotations

from flask import g, request
from flask_restx import Namespace, Resource, fields

from api import params, schemas
from api.auth import REVIEW
from api.errors import BadRequest, Conflict, Unprocessable
from api.rendering import page_json, track_json
from api.routes._shared import TRACK_PATH, documented, track_route
from api.service import current_service
from api.tracking import TRACK_ID_RULE, track_key
from storage.corrections import CannotCorrect, NothingToUndo, Target
from storage.validation import MAX_PER_PAGE

ns = Namespace("corrections", description="Operators correct labels; undo walks back", path="/")

correction_form = ns.parser()
correction_form.add_argument("kind", location="form", required=True, help="'is' or 'not'")
correction_form.add_argument(
    "person_id", location="form", help="'is': who it is (required); 'not': who it is not "
    "(default: its label now)"
)  # fmt: skip
correction_form.add_argument(
    "enrol", location="form", help="'is' only: enrol its faces above the quality floor (true)"
)

history = ns.parser()
history.add_argument("person", location="args", help="changes from or to this person")
history.add_argument("page", type=int, location="args", default=1)
history.add_argument("per_page", type=int, location="args", default=50)

label_change = ns.model(
    "LabelChange",
    {
        "id": fields.Integer(required=True),
        "at": fields.DateTime(required=True),
        "who": fields.String(required=True, description="the key's scope (keys have no names)"),
        "kind": fields.String(required=True, enum=["is", "not", "undo"]),
        "target": fields.String(required=True, enum=["track", "sighting"]),
        "camera_id": schemas.nullable(fields.String, required=True),
        "track_id": schemas.nullable(fields.String, required=True),
        "recognition_id": schemas.nullable(fields.Integer, required=True),
        "from": fields.String(required=True),
        "to": fields.String(required=True),
        "undoes": schemas.nullable(fields.Integer, required=True),
        "undone_by": schemas.nullable(fields.Integer, required=True),
        "negatives": fields.Integer(description="faces kept as negatives ('not')"),
        "enrolled": fields.Integer(description="images enrolled ('is' with enrol)"),
    },
)
corrected = ns.model(
    "Corrected",
    {
        "change": fields.Nested(label_change, required=True),
        "track": fields.Nested(schemas.track, description="the track now (a track's change)"),
        "sighting": fields.Raw(description="{id, label, person_id} now (a sighting's change)"),
    },
)
change_page = schemas.page_of("LabelChangePage", "changes", label_change)
ns.add_model(change_page.name, change_page)


def _who() -> str:
    """Who made a change: the key's name, as `requires` identified it for the audit trail (the
    key is not looked up twice), or 'open' without keys."""
    return g.get("audit_who") or "open"


def _apply(target: Target, undo: bool = False) -> dict:
    """Make (or undo) the correction the form asks for; 4xx for what cannot be done."""
    service, form = current_service(), request.form
    try:
        if undo:
            change, now, events = service.db.undo_correction(target, _who())
        else:
            kind = form.get("kind", "")
            if kind not in ("is", "not"):
                raise BadRequest("kind must be 'is' or 'not'", code="invalid_parameter")
            person = params.optional_id(form, "person_id")
            if kind == "is" and person is None:
                raise BadRequest("'is' needs a person_id", code="missing_parameter")
            enrol = params.boolean(form, "enrol")
            if enrol and kind != "is":
                raise BadRequest("enrol goes with 'is' only", code="invalid_parameter")
            change, now, events = service.db.correct(
                target, kind, person, _who(), enrol=enrol, floor=service.settings.min_crop_quality
            )
    except NothingToUndo as error:
        raise Conflict(str(error), code="nothing_to_undo") from None
    except CannotCorrect as error:
        raise Unprocessable(str(error), code="cannot_correct") from None
    service.send_track_events(events)
    if target.recognition_id is not None:
        return {"change": _change_json(change), "sighting": now}
    return {
        "change": _change_json(change),
        "track": track_json(now, service.settings.track_quiet_seconds),
    }


def _change_json(change: dict) -> dict:
    return {**change, "at": params.iso(change["at"])}


def _track(camera_id: str, track_id: str) -> Target:
    return Target(*track_key(camera_id, track_id))


def _page(target: Target | None) -> dict:
    query = params.paging(request.args, MAX_PER_PAGE)
    person = params.optional_id(request.args, "person")
    rows, total = current_service().db.label_changes(target, person, **query)
    return page_json("changes", [_change_json(r) for r in rows], query, total)


@track_route(ns, f"/tracks/{TRACK_PATH}/label")
class TrackLabel(Resource):
    @documented(ns, REVIEW, 400, 404, 422, 503, expect=correction_form)
    @ns.response(200, "Corrected", corrected)
    def post(self, camera_id: str, track_id: str):
        """Say who the track is ('is') or is not ('not'); it sticks to its later crops."""
        return _apply(_track(camera_id, track_id))

    @documented(ns, REVIEW, 400, 404, 503, expect=history)
    @ns.response(200, "The track's label history, newest first", change_page)
    def get(self, camera_id: str, track_id: str):
        """The track's corrections and undos."""
        return _page(_track(camera_id, track_id))


@track_route(ns, f"/tracks/{TRACK_PATH}/label/undo")
class UndoTrackLabel(Resource):
    @documented(ns, REVIEW, 400, 404, 409, 503)
    @ns.response(200, "Undone", corrected)
    def post(self, camera_id: str, track_id: str):
        """Undo the track's newest correction still standing (again: the one before)."""
        return _apply(_track(camera_id, track_id), undo=True)


@ns.route("/recognitions/<int:recognition_id>/label")
class SightingLabel(Resource):
    @documented(ns, REVIEW, 400, 404, 422, 503, expect=correction_form)
    @ns.response(200, "Corrected", corrected)
    def post(self, recognition_id: int):
        """Say who one sighting is ('is') or is not ('not')."""
        return _apply(Target(recognition_id=recognition_id))

    @documented(ns, REVIEW, 400, 404, 503, expect=history)
    @ns.response(200, "The sighting's label history, newest first", change_page)
    def get(self, recognition_id: int):
        """The sighting's corrections and undos."""
        return _page(Target(recognition_id=recognition_id))


@ns.route("/recognitions/<int:recognition_id>/label/undo")
class UndoSightingLabel(Resource):
    @documented(ns, REVIEW, 400, 404, 409, 503)
    @ns.response(200, "Undone", corrected)
    def post(self, recognition_id: int):
        """Undo the sighting's newest correction still standing."""
        return _apply(Target(recognition_id=recognition_id), undo=True)


@ns.route("/label-changes")
class LabelChanges(Resource):
    @documented(ns, REVIEW, 400, 503, expect=history)
    @ns.response(200, "Every label change, newest first", change_page)
    def get(self):
        """The history of corrections (filter: person, from or to)."""
        return _page(None)


# ---- Many tracks at once: "these are all Y" (the console's bulk "This is <person>") -----------

MAX_BULK = 200  # tracks in one bulk correction: what the Live page shows at most

bulk_track = ns.model(
    "BulkTrack",
    {
        "camera_id": fields.String(required=True, description=params.ID_RULE),
        "track_id": fields.String(required=True, description=TRACK_ID_RULE),
    },
)
bulk_request = ns.model(
    "BulkCorrection",
    {
        "person_id": fields.String(required=True, description="who they all are"),
        "enrol": fields.Boolean(description="enrol their faces above the quality floor (false)"),
        "tracks": fields.List(
            fields.Nested(bulk_track), required=True, description=f"1 to {MAX_BULK}"
        ),
    },
)
bulk_corrected = ns.model(
    "BulkCorrected",
    {
        "changes": fields.List(
            fields.Nested(label_change), required=True, description="one a track"
        ),
        "tracks": fields.List(fields.Nested(schemas.track), required=True, description="now"),
    },
)
_BULK_FIELDS = {"person_id", "enrol", "tracks"}


def _bulk_target(item) -> Target | None:
    """A listed track (None: not an object); 400 for an invalid id."""
    if not isinstance(item, dict):
        return None
    camera, track = (item.get(k) for k in ("camera_id", "track_id"))
    return _track(camera if isinstance(camera, str) else None, track)


def _bulk_body() -> tuple[str, bool, list[Target]]:
    """(person, enrol, the tracks) of a bulk correction; 400 for anything else."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) - _BULK_FIELDS:
        raise BadRequest(
            f"send a JSON object with {', '.join(sorted(_BULK_FIELDS))}", code="invalid_json"
        )
    person = params.person_id(
        body.get("person_id") if isinstance(body.get("person_id"), str) else None
    )
    enrol = body.get("enrol", False)
    if not isinstance(enrol, bool):
        raise BadRequest("enrol must be true or false", code="invalid_parameter")
    tracks = body.get("tracks")
    if not isinstance(tracks, list) or not 1 <= len(tracks) <= MAX_BULK:
        raise BadRequest(f"tracks must list 1 to {MAX_BULK} tracks", code="invalid_json")
    targets = [_bulk_target(t) for t in tracks]
    if None in targets:
        raise BadRequest('each track is {"camera_id": ..., "track_id": ...}', code="invalid_json")
    if len(set(targets)) != len(targets):
        raise BadRequest("a track is listed twice", code="invalid_json")
    return person, enrol, targets


@ns.route("/corrections/bulk")
class BulkCorrection(Resource):
    @documented(ns, REVIEW, 400, 404, 422, 503, expect=bulk_request)
    @ns.response(200, "Corrected, every track", bulk_corrected)
    def post(self):
        """Say several tracks are all one person ('is'), all or none: one unknown track or
        person refuses the whole request. Each track gets its own change, to undo alone."""
        service = current_service()
        person, enrol, targets = _bulk_body()
        try:
            changes, tracks, events = service.db.correct_many(
                targets, "is", person, _who(), enrol=enrol, floor=service.settings.min_crop_quality
            )
        except CannotCorrect as error:
            raise Unprocessable(str(error), code="cannot_correct") from None
        service.send_track_events(events)
        quiet = service.settings.track_quiet_seconds
        return {
            "changes": [_change_json(c) for c in changes],
            "tracks": [track_json(t, quiet) for t in tracks],
        }
