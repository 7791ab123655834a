"""`/dataset`: the people the system should know, and their enrolment images."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource

from api import look_alike_warnings as lookalikes
from api import params, schemas
from api.auth import ADMIN, RECOGNIZE, REVIEW
from api.errors import model_store_error
from api.rendering import people_counts
from api.routes._shared import PERSON_PATH, documented, person_route
from api.service import current_service
from api.subjects import enrolment_subject
from recognition import load_image
from storage import NotFound

ns = Namespace("dataset", description="People and their enrolment images", path="/dataset")
lookalikes.register(ns)
added_image = ns.clone(
    "AddedImageWithWarnings", schemas.added_image, {"warnings": lookalikes.warnings_field}
)
look_alikes_parser = ns.parser()
look_alikes_parser.add_argument("limit", type=int, default=10, location="args", help="1-50")


def people_counted(namespace, key: str, model, summary: str):
    """The GET of /dataset and of /database/people, one list under two names (`key`): every
    person with the number of their images."""

    def get(self):
        return {key: people_counts(current_service().db)}

    get.__doc__ = summary
    get = namespace.response(200, "Every person with the number of their images", model)(get)
    return documented(namespace, RECOGNIZE, 503)(get)


@ns.route("")
class Dataset(Resource):
    get = people_counted(
        ns, "face_ids", schemas.dataset, "List the people and how many images each has."
    )


@person_route(ns, f"/{PERSON_PATH}")
class Person(Resource):
    @documented(ns, ADMIN, 400, 409, 503)
    @ns.response(201, "Created", schemas.created_person)
    def post(self, person_id):
        """Create a person (409 if the id exists)."""
        current_service().db.add_person(params.person_id(person_id))
        return {"id_name": person_id}, 201

    @documented(ns, ADMIN, 400, 404, 503, 507)
    @ns.response(200, "Deleted with every image, embedding and recognition", schemas.deleted)
    def delete(self, person_id):
        """Remove a person with all their images, embeddings and recognitions.

        Every kept model version is rewritten without them first (no rollback can bring them
        back), then the database forgets them; replicas stop naming them at once (the
        recognition routes check that a named person still exists).
        """
        service = current_service()
        if not service.db.person_exists(params.person_id(person_id)):
            raise NotFound(f"no person {person_id!r}")
        try:
            service.store.forget(person_id)
        except OSError as error:  # nothing deleted yet: the client may retry
            raise model_store_error(error) from None
        service.db.delete_person(person_id)
        service.watcher.refresh()  # this worker serves the rewritten model at once; others poll
        return {"deleted": person_id}


@person_route(ns, f"/{PERSON_PATH}/image")
class PersonImage(Resource):
    @documented(ns, ADMIN, 400, 404, 413, 422, 503, expect=schemas.image_form())
    @ns.response(201, "Stored with its embedding", added_image)
    @ns.response(200, "The same image was already stored; nothing new", added_image)
    def post(self, person_id):
        """Add an image of the person: the face it is of is detected, embedded and stored.

        A photo with bystanders enrols the face that clearly dominates it (largest by a margin,
        else nearest the centre); the answer gives its box and quality. 422 when there is no
        face, when two faces are equally plausible, or when the face's quality is below
        FACEREC_MIN_CROP_QUALITY (`low_quality`). `warnings`: other enrolled people the face
        looks like (a duplicate enrolment?); the image is stored anyway.
        """
        service = current_service()
        params.person_id(person_id)
        data = params.uploaded_image()
        rgb = load_image(data, service.settings.max_image_pixels)
        if not service.db.person_exists(person_id):
            raise NotFound(f"no person {person_id!r}: create them first")
        analyzer = service.analyzers.get()
        embedding, face, faces_found, quality = enrolment_subject(
            analyzer, rgb, service.settings.min_crop_quality
        )
        image_id, created = service.db.add_image(
            person_id, data, embedding, analyzer.embedding_space, quality
        )
        body = {
            "id_name": person_id,
            "image_id": image_id,
            "created": created,
            "number_of_images": current_service().db.count_images(person_id),
            "face": face,
            "faces_found": faces_found,
            "quality": quality,
            "warnings": lookalikes.enrolment_warnings(service, analyzer, embedding, person_id),
        }
        return body, 201 if created else 200


@person_route(ns, f"/{PERSON_PATH}/look-alike-check")
class LookAlikeCheck(Resource):
    @documented(ns, ADMIN, 400, 413, 422, 503, expect=schemas.image_form())
    @ns.response(200, "Checked; nothing stored", lookalikes.checked)
    def post(self, person_id):
        """What enrolling this photo for the person would warn, without storing it: the other
        enrolled people its face looks like (a duplicate enrolment?). The person need not
        exist yet; the face is refused (422) as enrolment would refuse it."""
        service = current_service()
        params.person_id(person_id)
        rgb = load_image(params.uploaded_image(), service.settings.max_image_pixels)
        analyzer = service.analyzers.get()
        embedding, face, faces_found, quality = enrolment_subject(
            analyzer, rgb, service.settings.min_crop_quality
        )
        warnings = lookalikes.enrolment_warnings(service, analyzer, embedding, person_id)
        body = {"id_name": person_id, "face": face, "faces_found": faces_found}
        return {**body, "quality": quality, "warnings": warnings}


@person_route(ns, f"/{PERSON_PATH}/look-alikes")
class PersonLookAlikes(Resource):
    @documented(ns, REVIEW, 400, 404, 503, expect=look_alikes_parser)
    @ns.response(200, "The people most like this one, best first", lookalikes.person_look_alikes)
    def get(self, person_id):
        """The people the model most confuses with this one: for each, the best similarity
        between a face of theirs and a face of this person's, with the 1:1 threshold."""
        limit = params.integer(request.args, "limit", 10, 1, 50)
        service = current_service()
        analyzer = service.analyzers.get()
        return lookalikes.of_person(service, analyzer, params.person_id(person_id), limit)


@person_route(ns, f"/{PERSON_PATH}/images")
class PersonImages(Resource):
    @documented(ns, RECOGNIZE, 400, 404, 503)
    @ns.response(200, "The person's enrolment images, oldest first", schemas.enrolment_images)
    def get(self, person_id):
        """List the person's enrolment images with the quality of each one's face."""
        images = current_service().db.person_images(params.person_id(person_id))
        rows = [{**image, "created_at": params.iso(image["created_at"])} for image in images]
        return {"id_name": person_id, "images": rows}
