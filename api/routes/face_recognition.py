"""`/face-recognition`: who is in this image? Optionally recorded, or just received (dry run).
And `verify`: is this the same person? (1:1, against a photo or an enrolee)

A single comparison needs the threshold for a gallery of one: the similarity that 1% of
(stranger, person) pairs reach (`FACEREC_FALSE_ACCEPT_RATE`), not the stricter one a search
over thousands of people needs.
"""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields, inputs
from werkzeug.datastructures import FileStorage

from api import metrics, params, schemas, tracking
from api.auth import RECOGNIZE
from api.errors import BadRequest, Conflict
from api.memory import release_memory
from api.routes._shared import documented
from api.service import current_service
from api.subjects import photo_subject
from recognition import UNKNOWN, load_image, sighting
from recognition.calibration import decision_threshold
from recognition.images import decode_image
from recognition.sighting import Sighting
from storage import DatabaseUnavailable, NotFound

BIG_IMAGE_VALUES = 4_000_000 * 3  # an image above ~4 Mpx hands its memory back afterwards

ns = Namespace(
    "face-recognition", description="Recognise the faces in an image", path="/face-recognition"
)

PREDICTIONS_FIELD = (
    "include_predictions",
    inputs.boolean,
    False,
    "list the candidate people with their scores",
)
CROP_FIELD = (
    "crop",
    inputs.boolean,
    False,
    "the image is an edge crop holding one face that fills most of it: faces smaller than "
    "FACEREC_CROP_MIN_FACE_FRACTION (default 1/3) of its short side are not looked for, "
    "which makes detection cheaper. Leave false for whole photos",
)
TRACK_FIELD = (
    "track_id",
    str,
    False,
    f"the edge's track this crop belongs to ({tracking.TRACK_ID_RULE}): crops with the same "
    "camera_id and track_id are one person passing the camera, decided together (the answer's "
    "subject face carries the track's decision). Without it each crop is a track of its own",
)
get_results_form = schemas.image_form(
    PREDICTIONS_FIELD,
    CROP_FIELD,
    TRACK_FIELD,
    ("camera_id", str, False, "with track_id: the camera whose recorded track to include"),
)
store_results_form = schemas.image_form(
    PREDICTIONS_FIELD,
    CROP_FIELD,
    TRACK_FIELD,
    ("camera_id", str, True, params.ID_RULE),
    ("location_id", str, True, params.ID_RULE),
)


def _still_enrolled(names: set[str]) -> set[str]:
    """Who of these is still enrolled: a DELETE takes effect at once on every replica, before
    a model without them is published."""
    try:
        return current_service().db.existing_people(names)
    except DatabaseUnavailable:
        # No delete can commit while the database is down; the last ones are already out of
        # the model files (ModelStore.forget), which this worker reloads.
        return names


def _answer(seen: Sighting, width: int, height: int, include: bool) -> dict:
    return {
        "top_prediction": {"label": seen.label, "score": seen.score, "threshold": seen.threshold},
        "bounding_box": schemas.clip_box(seen.box, width, height),
        "quality": seen.quality,
        "below_quality_floor": seen.below_floor,
        "all_predictions": [{"label": p, "score": s} for p, s in seen.candidates]
        if include
        else [],
    }


def recognize(record: bool = False) -> dict:
    """Detect, embed and classify the uploaded image; with `record`, store each face (and the
    subject's track) for the form's camera and location. The answer."""
    service, form = current_service(), request.form
    include = params.boolean(form, "include_predictions")
    crop = params.boolean(form, "crop")
    camera_id = params.required_id(form, "camera_id") if record else None
    location_id = params.required_id(form, "location_id") if record else None
    key = tracking.requested_track_id(form)
    if record:  # nothing can be recorded while the database is known down: no work for a 503
        service.db.breaker.raise_if_open()
    settings = service.settings
    rgb, scale = decode_image(
        params.uploaded_image(), settings.max_image_pixels, settings.max_decoded_side
    )
    snapshot = service.model()  # once: this request ends on the model it started with
    seen = sighting.recognize(
        service.analyzers.get(),
        snapshot.classifier,
        rgb,
        model_version=snapshot.version,
        scale=scale,
        min_face_fraction=settings.crop_min_face_fraction if crop else 0.0,
        still_enrolled=_still_enrolled,
        thumbnails=record,
        max_faces=settings.max_faces,
        min_quality=settings.min_crop_quality,
    )
    height, width = (round(side / scale) for side in rgb.shape[:2])
    if rgb.size > BIG_IMAGE_VALUES or seen.faces_found > len(seen.sightings):
        release_memory()
    answers = [_answer(s, width, height, include) for s in seen.sightings]
    metrics.count_faces([s.label for s in seen.sightings], UNKNOWN)
    track_crop = (
        tracking.crop_of(seen, rgb, scale, key, settings.min_crop_quality)
        if (record or key)
        else None
    )
    if record:
        _record(service, snapshot, seen, track_crop, answers, camera_id, location_id)
    elif track_crop is not None:
        camera = params.optional_id(form, "camera_id")
        answers[track_crop.subject]["track"] = tracking.preview(
            service, snapshot, seen, track_crop, camera
        )
    body = {"faces": answers, "faces_not_processed": seen.faces_found - len(seen.sightings)}
    return {**body, "model_version": snapshot.version}


def _record(service, snapshot, seen, track_crop, answers, camera_id, location_id) -> None:
    """Store the faces (503 while the database is down); the subject's answer gets its track,
    and the track events written with it go to the webhook (never one per crop)."""
    if track_crop is None:
        service.db.record_sightings(seen, camera_id=camera_id, location_id=location_id)
        return
    subject = seen.sightings[track_crop.subject]
    decide = tracking.decider(service, snapshot, seen.embedding_space, subject)
    _ids, track, events = service.db.record_track_sightings(
        seen, track_crop, decide, camera_id=camera_id, location_id=location_id
    )
    answers[track_crop.subject]["track"] = tracking.track_decision_json(track)
    service.send_track_events(events)


@ns.route("/get-results")
class GetResults(Resource):
    @documented(ns, RECOGNIZE, 400, 413, 503, expect=get_results_form)
    @ns.response(200, "The faces found, each with who it is", schemas.recognition_result)
    def post(self):
        """Recognise every face in the image; `unknown` for people the model does not know."""
        return recognize()


@ns.route("/store-results")
class StoreResults(Resource):
    @documented(ns, RECOGNIZE, 400, 413, 503, expect=store_results_form)
    @ns.response(200, "Recognised and recorded", schemas.recognition_result)
    def post(self):
        """Recognise like get-results and record each face with its thumbnail and embedding,
        and the subject's face in its track (kept FACEREC_RETENTION_DAYS; 503 if the database
        is down)."""
        return recognize(record=True)


@ns.route("/dry-run")
class DryRun(Resource):
    @documented(ns, RECOGNIZE, 400, 413, expect=schemas.image_form())
    @ns.response(200, "Received; nothing else done", schemas.dry_run)
    def post(self):
        """Accept an upload and do nothing else (for bandwidth tests)."""
        return {"received_bytes": len(params.uploaded_image())}


verify_form = schemas.image_form(
    ("person_id", str, False, "an enrolled person, or send other_image")
)
verify_form.add_argument(
    "other_image", type=FileStorage, location="files", required=False, help="a second photo"
)
verdict = ns.model(
    "Verification",
    {
        "same": fields.Boolean(required=True, description="score >= threshold"),
        "score": fields.Float(required=True, description="cosine similarity of the two faces"),
        "threshold": fields.Float(required=True),
        "face": fields.Nested(schemas.box, required=True, description="the face compared"),
        "other_face": schemas.nullable(
            fields.Nested, model=schemas.box, required=True, description="null against a person"
        ),
        "person_id": schemas.nullable(fields.String, required=True),
    },
)


def _person_score(service, analyzer, embedding, person_id: str) -> float:
    """Best similarity to the person's enrolled faces in the serving model."""
    classifier = service.model().classifier
    if classifier is None or classifier.embedding_space != analyzer.embedding_space:
        raise Conflict("no model trained with this embedder yet: train first", code="no_model")
    if person_id not in classifier.labels or not service.db.person_exists(person_id):
        raise NotFound(f"no trained person {person_id!r} (enrolled since the last training?)")
    class_id = classifier.labels.index(person_id)
    return float(classifier.gallery.class_similarity(embedding[None], [[class_id]])[0, 0])


@ns.route("/verify")
class Verify(Resource):
    @documented(ns, RECOGNIZE, 400, 404, 409, 413, 422, 503, expect=verify_form)
    @ns.response(200, "Compared", verdict)
    def post(self):
        """Are two photos, or a photo and an enrolled person, the same person?"""
        service = current_service()
        person_id = params.optional_id(request.form, "person_id")
        if (person_id is None) == ("other_image" not in request.files):
            raise BadRequest("send either other_image or person_id", code="missing_field")
        limit = service.settings.max_image_pixels
        analyzer = service.analyzers.get()
        rgb = load_image(params.uploaded_image(), limit)
        embedding, face, _ = photo_subject(analyzer, rgb)
        other_face = None
        if person_id is None:
            other = load_image(params.uploaded_image("other_image"), limit)
            other_embedding, other_face, _ = photo_subject(analyzer, other, "other_image")
            score = float(embedding @ other_embedding)
        else:
            score = _person_score(service, analyzer, embedding, person_id)
        settings = service.settings
        threshold = decision_threshold(
            analyzer.embedder.name, 1, settings.false_accept_rate, settings.match_threshold
        )
        return {
            "same": score >= threshold,
            "score": score,
            "threshold": threshold,
            "face": face,
            "other_face": other_face,
            "person_id": person_id,
        }
