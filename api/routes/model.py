"""`/model`: train, inspect and roll back the classifier every replica serves."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource

from api import params, schemas
from api.auth import ADMIN
from api.errors import BadRequest, Conflict, model_store_error
from api.routes._shared import documented
from api.service import current_service
from storage import NotFound
from storage.model_store import VersionMoved
from workers.trainer import TrainingBusy

ns = Namespace("model", description="Training jobs and the active classifier", path="/model")

wait_parser = schemas.reqparse.RequestParser()
wait_parser.add_argument(
    "wait", type=bool, location="args", help="block until the job is done (answers 200)"
)
rollback_parser = schemas.reqparse.RequestParser()
rollback_parser.add_argument(
    "from",
    location="args",
    help="the version you expect to leave (GET /model's model_version): a repeat or a "
    "concurrent twin then rolls back once. Without it, every call goes back one more version.",
)


def _active_model() -> dict:
    service = current_service()
    snapshot = service.model()
    return {
        "model_version": snapshot.version,
        "people": list(snapshot.classifier.labels) if snapshot.classifier else [],
        "trained_at": snapshot.metadata.get("trained_at"),
        "versions": service.store.versions(),
    }


def job_json(job: dict) -> dict:
    return {
        **job,
        **{key: params.iso(job[key]) for key in ("created_at", "started_at", "finished_at")},
    }


def _start(kind: str):
    wait = params.boolean(request.args, "wait")
    service = current_service()
    try:
        job = service.start_training(kind)
    except TrainingBusy as error:
        raise Conflict(str(error), code="training_in_progress") from None
    if not wait:
        return job_json(service.db.get_job(job.id)), 202
    job.join()
    return job_json(service.db.get_job(job.id)), 200


def _training(summary: str):
    """An admin's training route: 202 at once, or 200 when done (?wait=true)."""

    def decorate(method):
        method.__doc__ = summary
        method = ns.response(202, "Started; poll /model/jobs/<id>", schemas.job)(method)
        method = ns.response(200, "Finished (with ?wait=true)", schemas.job)(method)
        return documented(ns, ADMIN, 400, 409, 503, expect=wait_parser)(method)

    return decorate


@ns.route("")
class ActiveModel(Resource):
    @documented(ns, ADMIN)
    @ns.response(200, "The version this worker serves", schemas.model)
    def get(self):
        """The active model version, its people and when it was trained."""
        return _active_model()


@ns.route("/train")
class Train(Resource):
    @_training("Re-embed every stored image with the current networks, then fit.")
    def post(self):
        return _start("train")


@ns.route("/optimized-train")
class OptimizedTrain(Resource):
    @_training("Fit from the embeddings already stored (fast).")
    def post(self):
        return _start("optimized-train")


MAX_JOB_ID = 2**31 - 1  # the database's INT column


@ns.route("/jobs/<int:job_id>")
@ns.param("job_id", "the job's id", minimum=1, maximum=MAX_JOB_ID)
class Job(Resource):
    @documented(ns, ADMIN, 404, 503)
    @ns.response(200, "The job", schemas.job)
    def get(self, job_id):
        """A training job's state."""
        if not 1 <= job_id <= MAX_JOB_ID:  # no such row, and too big to even ask the database
            raise NotFound(f"no job {job_id}")
        return job_json(current_service().db.get_job(job_id))


@ns.route("/rollback")
class Rollback(Resource):
    @documented(ns, ADMIN, 400, 409, 503, 507, expect=rollback_parser)
    @ns.response(200, "The previous version is active again", schemas.model)
    def post(self):
        """Make the version published before the current one active again."""
        service = current_service()
        leaving = request.args.get("from")
        if leaving is not None and not leaving:
            raise BadRequest("`from` names a model version", code="bad_version")
        try:
            service.store.rollback(leaving)
        except NotFound as error:
            raise Conflict(str(error), code="no_previous_model") from None
        except VersionMoved as error:
            raise Conflict(str(error), code="model_changed") from None
        except OSError as error:
            raise model_store_error(error) from None
        service.watcher.refresh()
        return _active_model()
