"""Duplicate and look-alike warnings at enrolment, and the look-alikes of a person (issue 23).

An enrolment face is compared with every enrolled face of other people: the serving model's
gallery, and the faces stored since it was trained (the newest RECENT_FACES of the serving
embedder's space, exactly), so a twin enrolled twice before any training is caught too. It warns
at the threshold calibrated for the model's size so that at most FACEREC_LOOKALIKE_WARNING_RATE
(0.5%) of different people warn: the 1:1 threshold would warn for 98.7% of them at 1,000 people
(benchmarks/lookalikes.py). Warnings never refuse an enrolment.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from flask_restx import Model, fields

from recognition.calibration import decision_threshold, threshold_for
from recognition.lookalikes import look_alikes, own_faces
from storage import NotFound

from . import schemas

RECENT_FACES = 2000  # faces stored since the last training compared exactly, newest first

warning = Model(
    "LookAlikeWarning",
    {
        "looks_like": fields.String(required=True, description="another enrolled person"),
        "score": fields.Float(required=True, description="similarity to their nearest face"),
        "threshold": fields.Float(
            required=True, description="the warning threshold (FACEREC_LOOKALIKE_WARNING_RATE)"
        ),
    },
)
warnings_field = fields.List(
    fields.Nested(warning),
    required=True,
    description="other people the face looks like (a duplicate enrolment?), best first; "
    "the enrolment is stored anyway",
)
checked = Model(  # what enrolment would answer, without what storing gives
    "LookAlikeCheck",
    {
        **{k: schemas.added_image[k] for k in ("id_name", "face", "faces_found", "quality")},
        "warnings": warnings_field,
    },
)
look_alike = Model(
    "LookAlike",
    {
        "person_id": fields.String(required=True),
        "score": fields.Float(required=True, description="best similarity of two of their faces"),
        "above_threshold": fields.Boolean(required=True, description="score >= threshold (1:1)"),
        "warned": fields.Boolean(required=True, description="score >= warning_threshold"),
    },
)
person_look_alikes = Model(
    "PersonLookAlikes",
    {
        "id_name": fields.String(required=True),
        "model_version": schemas.nullable(fields.String, required=True),
        "threshold": fields.Float(required=True, description="the 1:1 (verify) threshold"),
        "warning_threshold": fields.Float(required=True, description="enrolment warnings'"),
        "look_alikes": fields.List(fields.Nested(look_alike), required=True),
    },
)


def _compared(service, space: str):
    """(the serving classifier of this space or None, the faces it does not hold yet as
    (vectors, people), its version)."""
    snapshot = service.model()
    classifier = snapshot.classifier
    if classifier is not None and classifier.embedding_space != space:
        classifier = None
    vectors, people, stored = service.db.recent_faces(space, RECENT_FACES)
    trained_at = snapshot.metadata.get("trained_at") if classifier is not None else None
    since = datetime.fromisoformat(trained_at) if isinstance(trained_at, str) else None
    labels = set(classifier.labels) if classifier is not None else set()
    keep = [
        i
        for i, (person, at) in enumerate(zip(people, stored, strict=True))
        if person not in labels or since is None or at > since
    ]
    return classifier, (vectors[keep], [people[i] for i in keep]), snapshot.version


def _warning_threshold(service, analyzer, classifier, extra_people) -> float:
    """Calibrated for every person the face was compared with."""
    people = set(classifier.labels if classifier is not None else ()) | set(extra_people)
    rate = service.settings.lookalike_warning_rate
    return threshold_for(analyzer.embedder.name, max(len(people), 1), rate)


def enrolment_warnings(service, analyzer, embeddings: np.ndarray, person_id: str) -> list[dict]:
    """The other people these faces (one person's) look like at the warning threshold."""
    classifier, extra, _ = _compared(service, analyzer.embedding_space)
    found = look_alikes(classifier, np.atleast_2d(embeddings), person_id, extra)
    threshold = _warning_threshold(service, analyzer, classifier, extra[1])
    near = [(person, score) for person, score in found if score >= threshold]
    alive = service.db.existing_people(p for p, _ in near) if near else set()
    return [
        {"looks_like": person, "score": score, "threshold": threshold}
        for person, score in near
        if person in alive  # deleted since the model was trained
    ]


def of_person(service, analyzer, person_id: str, limit: int) -> dict:
    """The people whose faces come nearest the person's own (model and newer faces)."""
    if not service.db.person_exists(person_id):
        raise NotFound(f"no person {person_id!r}")
    classifier, (vectors, people), version = _compared(service, analyzer.embedding_space)
    mine, dim = np.array([p == person_id for p in people], bool), analyzer.embedder.dim
    queries = np.concatenate([own_faces(classifier, person_id).reshape(-1, dim),
                              vectors[mine].reshape(-1, dim)])  # fmt: skip
    others = (vectors[~mine], [p for p, own in zip(people, mine, strict=True) if not own])
    found = look_alikes(classifier, queries, person_id, others, limit) if len(queries) else []
    alive = service.db.existing_people(p for p, _ in found) if found else set()
    settings = service.settings
    one_to_one = decision_threshold(
        analyzer.embedder.name, 1, settings.false_accept_rate, settings.match_threshold
    )
    warn = _warning_threshold(service, analyzer, classifier, people)
    rows = [
        {"person_id": p, "score": s, "above_threshold": s >= one_to_one, "warned": s >= warn}
        for p, s in found
        if p in alive
    ]
    return {
        "id_name": person_id,
        "model_version": version,
        "threshold": one_to_one,
        "warning_threshold": warn,
        "look_alikes": rows,
    }


def register(namespace) -> None:
    """This module's models go into the spec's definitions (through the namespace using them)."""
    for model in (warning, checked, look_alike, person_look_alikes):
        namespace.add_model(model.name, model)
