"""Response models for the spec (Swagger 2.0), and the decorator that documents error answers."""

from __future__ import annotations

from flask_restx import Model, fields, reqparse
from werkzeug.datastructures import FileStorage

ERROR_DESCRIPTIONS = {
    400: "Bad request: a parameter, id or the image is invalid",
    401: "Missing or unknown API key (X-API-Key)",
    403: "The API key lacks the scope this needs",
    404: "Not found",
    409: "Conflict",
    413: "The upload is larger than the limit",
    414: "The request line (path and query string) is longer than the server reads",
    422: "The image holds no face, or several, or its face is below the quality floor",
    429: "Too many open streams for this API key; see Retry-After",
    503: "Unavailable: the database is down or the networks are still loading; retry",
    507: "The model store is full",
}


def nullable(field_class, **kwargs):
    """A field that may be null (Swagger 2.0 spells it `x-nullable`)."""
    field = field_class(**kwargs)
    plain = field.schema
    field.schema = lambda: {**plain(), "x-nullable": True}
    return field


error = Model(
    "Error",
    {
        "error": fields.String(required=True, description="short machine-readable code"),
        "message": fields.String(required=True, description="what went wrong, for people"),
    },
)


def errors(namespace, *statuses: int):
    """Document the JSON error answers an operation can give; 414 on every one, since the
    server itself answers it for any request line over its limit (gunicorn.conf.py)."""

    def decorate(target):
        for status in sorted({*statuses, 414}):
            target = namespace.response(status, ERROR_DESCRIPTIONS[status], error)(target)
        return target

    return decorate


def paging_arguments(parser, most: int) -> None:
    """Document a listing's `page` and `per_page` (documentation; parsing is `params.paging`)."""
    parser.add_argument("page", type=int, location="args", default=1, help="from 1")
    parser.add_argument("per_page", type=int, location="args", default=50, help=f"1 to {most}")


def listing_filters(since: str, until: str, most: int):
    """A listing's query string (person, camera, time, page): `since` and `until` their help."""
    parser = reqparse.RequestParser()
    parser.add_argument("person", location="args", help="a person id, or 'unknown' for strangers")
    parser.add_argument("camera", location="args", help="a camera id")
    parser.add_argument("since", location="args", help=since)
    parser.add_argument("until", location="args", help=until)
    paging_arguments(parser, most)
    return parser


def image_form(*extra: tuple[str, type, bool, str]):
    """A multipart form with the file field `image` (documentation; parsing is in params)."""
    parser = reqparse.RequestParser()
    parser.add_argument(
        "image", type=FileStorage, location="files", required=True, help="a JPEG or PNG"
    )
    for name, kind, required, help_text in extra:
        parser.add_argument(name, type=kind, location="form", required=required, help=help_text)
    return parser


person = Model(
    "Person",
    {
        "id_name": fields.String(required=True),
        "number_of_images": fields.Integer(required=True),
    },
)
dataset = Model("Dataset", {"face_ids": fields.List(fields.Nested(person), required=True)})
people = Model("People", {"people": fields.List(fields.Nested(person), required=True)})
created_person = Model("CreatedPerson", {"id_name": fields.String(required=True)})
SIDES = ("left", "top", "right", "bottom")
box = Model("BoundingBox", {side: fields.Integer(required=True) for side in SIDES})


def clip_box(box, width: int, height: int) -> dict:
    """A face box (which MTCNN may extend past the image) as whole pixels inside the image."""
    left, top, right, bottom = box
    return {
        "left": int(round(min(max(left, 0), width))),
        "top": int(round(min(max(top, 0), height))),
        "right": int(round(min(max(right, 0), width))),
        "bottom": int(round(min(max(bottom, 0), height))),
    }


added_image = Model(
    "AddedImage",
    {
        "id_name": fields.String(required=True),
        "image_id": fields.Integer(required=True),
        "created": fields.Boolean(required=True, description="false: the same image was there"),
        "number_of_images": fields.Integer(required=True),
        "face": fields.Nested(box, required=True, description="the face enrolled"),
        "faces_found": fields.Integer(required=True, description="bystanders included"),
        "quality": fields.Float(
            required=True,
            description="the face's quality (0-1, as a sighting's); below "
            "FACEREC_MIN_CROP_QUALITY the image is refused (422 low_quality)",
        ),
    },
)
enrolment_image = Model(
    "EnrolmentImage",
    {
        "image_id": fields.Integer(required=True),
        "size_bytes": fields.Integer(required=True),
        "created_at": fields.DateTime(required=True),
        "quality": nullable(
            fields.Float, required=True, description="null: enrolled before qualities were kept"
        ),
    },
)
enrolment_images = Model(
    "EnrolmentImages",
    {
        "id_name": fields.String(required=True),
        "images": fields.List(fields.Nested(enrolment_image), required=True),
    },
)
deleted = Model("Deleted", {"deleted": fields.String(required=True)})

job = Model(
    "TrainingJob",
    {
        "id": fields.Integer(required=True),
        "kind": fields.String(required=True, enum=["train", "optimized-train"]),
        "state": fields.String(required=True, enum=["queued", "running", "succeeded", "failed"]),
        "created_at": nullable(fields.DateTime, required=True),
        "started_at": nullable(fields.DateTime, required=True),
        "finished_at": nullable(fields.DateTime, required=True),
        "model_version": nullable(fields.String, required=True),
        "error": nullable(fields.String, required=True),
    },
)
model = Model(
    "ActiveModel",
    {
        "model_version": nullable(fields.String, required=True, description="null: untrained"),
        "people": fields.List(fields.String, required=True),
        "trained_at": nullable(fields.DateTime, required=True),
        "versions": fields.List(fields.String, required=True, description="kept, oldest first"),
    },
)

prediction = Model(
    "Prediction",
    {
        "label": fields.String(required=True, description='a person id, or "unknown"'),
        "score": fields.Float(
            required=True,
            description="cosine similarity to the best candidate's nearest enrolled face",
        ),
        "threshold": nullable(
            fields.Float,
            required=True,
            description="the score needed to be named (null: no trained model)",
        ),
    },
)
candidate = Model(
    "Candidate",
    {"label": fields.String(required=True), "score": fields.Float(required=True)},
)
track_decision = Model(
    "TrackDecision",
    {
        "id": fields.String(required=True, description="the track id (the edge's, or generated)"),
        "label": fields.String(required=True, description='a person id, or "unknown"'),
        "score": fields.Float(required=True, description="the track's mean face vs the person"),
        "threshold": nullable(
            fields.Float,
            required=True,
            description="what naming a track of this many faces needs (null: no trained model)",
        ),
        "faces": fields.Integer(required=True, description="the crops the decision averaged"),
    },
)
face = Model(
    "RecognizedFace",
    {
        "top_prediction": fields.Nested(prediction, required=True),
        "track": fields.Nested(
            track_decision,
            required=False,
            description="on the crop's subject, when it belongs to a track: the decision over "
            "every crop of the track received so far",
        ),
        "bounding_box": fields.Nested(box, required=True),
        "quality": fields.Float(
            required=True,
            description="0-1: face size vs the 112 px chip x detector confidence",
        ),
        "below_quality_floor": fields.Boolean(
            required=True,
            description="quality below FACEREC_MIN_CROP_QUALITY: answered unknown, never named, "
            "and no evidence for its track",
        ),
        "all_predictions": fields.List(
            fields.Nested(candidate),
            required=True,
            description="the candidate people, best first (empty unless include_predictions)",
        ),
    },
)
recognition_result = Model(
    "RecognitionResult",
    {
        "faces": fields.List(fields.Nested(face), required=True),
        "faces_not_processed": fields.Integer(
            required=True,
            description="faces found beyond FACEREC_MAX_FACES (the largest are processed)",
        ),
        "model_version": nullable(fields.String, required=True),
    },
)
dry_run = Model("DryRun", {"received_bytes": fields.Integer(required=True)})

stored_box = Model("StoredBox", {side: fields.Float(required=True) for side in SIDES})
recognition = Model(
    "Recognition",
    {
        "id": fields.Integer(required=True),
        "label": fields.String(required=True),
        "person_id": nullable(fields.String, required=True, description="null for strangers"),
        "confidence": fields.Float(required=True, description="the same as score (older name)"),
        "score": fields.Float(required=True, description="similarity to the best candidate"),
        "threshold": nullable(
            fields.Float, required=True, description="what naming needed (null: no model)"
        ),
        "camera_id": nullable(fields.String, required=True),
        "location_id": nullable(fields.String, required=True),
        "bounding_box": fields.Nested(stored_box, required=True),
        "model_version": nullable(fields.String, required=True),
        "recognized_at": fields.DateTime(required=True),
        "face_url": nullable(
            fields.String,
            required=True,
            description="GET it (review or admin key) for the face's JPEG; null: none kept",
        ),
    },
)


def page_of(name: str, key: str, item: Model) -> Model:
    """A listing's page: the items under `key`, with the paging fields."""
    return Model(
        name,
        {
            key: fields.List(fields.Nested(item), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(required=True),
            "pages": fields.Integer(required=True),
        },
    )


recognition_page = page_of("RecognitionPage", "recognitions", recognition)
location = Model(
    "LastKnownLocation",
    {
        "id_name": fields.String(required=True),
        "location_id": nullable(fields.String, required=True, description="null: never seen"),
        "camera_id": nullable(fields.String, required=True),
        "recognized_at": nullable(fields.DateTime, required=True),
    },
)
health = Model("Health", {"status": fields.String(required=True)})
readiness = Model(
    "Readiness",
    {
        "ready": fields.Boolean(required=True),
        "analyzer": fields.String(required=True, enum=["loading", "loaded", "failed"]),
        "model_version": nullable(fields.String, required=True),
        "database": fields.String(required=True, enum=["up", "down"]),
    },
)


track = Model(
    "Track",
    {
        "id": fields.String(required=True, description="the track id, unique per camera"),
        "camera_id": fields.String(required=True),
        "location_id": nullable(fields.String, required=True),
        "first_seen_at": fields.DateTime(required=True),
        "last_seen_at": fields.DateTime(required=True),
        "ended": fields.Boolean(
            required=True, description="closed by the edge, or quiet FACEREC_TRACK_QUIET_SECONDS"
        ),
        "crops": fields.Integer(required=True, description="crops recorded for it"),
        "label": fields.String(required=True, description='a person id, or "unknown"'),
        "person_id": nullable(fields.String, required=True),
        "score": fields.Float(required=True),
        "threshold": nullable(fields.Float, required=True),
        "faces": fields.Integer(required=True, description="the best crops the decision averaged"),
        "model_version": nullable(fields.String, required=True),
        "face_url": nullable(fields.String, required=True, description="its best face"),
    },
)
track_page = page_of("TrackPage", "tracks", track)


def register(api) -> None:
    """Every model of this module goes into the spec's definitions."""
    for value in list(globals().values()):
        if isinstance(value, Model):
            api.add_model(value.name, value)
