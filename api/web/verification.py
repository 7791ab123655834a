"""`POST /face-recognition/verify`: is this the same person? (1:1, against a photo or an enrolee)

A single comparison needs the threshold for a gallery of one: the similarity that 1% of
(stranger, person) pairs reach (`FACEREC_FALSE_ACCEPT_RATE`), not the stricter one a search
over thousands of people needs.
"""

from __future__ import annotations

from flask import request
from flask_restx import Resource, fields
from werkzeug.datastructures import FileStorage

from api.recognition import load_image
from api.recognition.calibration import decision_threshold
from api.storage import NotFound

from . import params, schemas
from .auth import RECOGNIZE, requires
from .errors import BadRequest, Conflict
from .recognition import ns
from .service import current_service
from .subjects import photo_subject

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
    @requires(RECOGNIZE)
    @ns.expect(verify_form)
    @ns.response(200, "Compared", verdict)
    @schemas.errors(ns, 400, 401, 403, 404, 409, 413, 422, 503)
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
