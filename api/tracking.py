"""How an upload joins its track: which face is the track's person, how good a face it is,
whether it is grey, and who decides (recognition.tracks.TrackJudge with the serving model).

An edge sends `track_id` with each crop of one person passing its camera; crops with the same
`camera_id` and `track_id` are one track. Without it, each recorded crop is a track of its own,
so clients that know nothing of tracks keep working.
"""

from __future__ import annotations

import contextlib
import re
import uuid

import numpy as np

from api.errors import BadRequest
from api.params import valid_id
from recognition.subject import choose_subject
from recognition.tracks import (
    TrackDecision,
    TrackJudge,
    decide_enrolled,
    is_grey,
    undecided,
)
from storage import DatabaseUnavailable, TrackCropInfo

TRACK_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
TRACK_ID_RULE = "1-64 characters: letters, digits, '.', '_', ':', '-'"


def valid_track_id(value, what: str = "track_id") -> str:
    if not isinstance(value, str) or not TRACK_ID_PATTERN.fullmatch(value):
        raise BadRequest(f"{what} {value!r} is not a valid track id ({TRACK_ID_RULE})")
    return value


def track_key(camera_id: str, track_id: str) -> tuple[str, str]:
    """A track named in a route's path, (camera_id, track_id), checked."""
    return valid_id(camera_id, "camera_id"), valid_track_id(track_id)


def requested_track_id(form) -> str | None:
    raw = form.get("track_id")
    return None if raw is None else valid_track_id(raw)


def crop_of(
    seen, rgb: np.ndarray, scale: float, key: str | None, floor: float = 0.0
) -> TrackCropInfo | None:
    """The track's part of an upload: its subject face (None when no face clearly is the
    subject, e.g. two people side by side in one crop), that face's quality and greyness, and
    the quality floor below which a crop is no evidence (FACEREC_MIN_CROP_QUALITY)."""
    height, width = (round(side / scale) for side in rgb.shape[:2])
    subject = choose_subject([s.box for s in seen.sightings], width, height)
    if subject is None:
        return None
    face = seen.sightings[subject]
    return TrackCropInfo(
        key=key or f"crop-{uuid.uuid4().hex[:16]}",
        subject=subject,
        quality=face.quality,
        grey=is_grey(rgb),
        single=key is None,
        floor=floor,
    )


def decider(service, snapshot, space: str, own=None):
    """`decide(embeddings, grey, forgotten, qualities)` with the request's model, or `undecided`
    when no model of this embedding space is trained yet. With `own` (the crop's subject
    `Sighting`), a track of that crop alone takes the crop's own decision
    (`TrackJudge.deciding`)."""
    classifier = snapshot.classifier
    if classifier is None or classifier.embedding_space != space:
        return lambda embeddings, _grey, _forgotten=frozenset(), _qualities=None: undecided(
            len(embeddings)
        )
    settings = service.settings
    judge = TrackJudge(
        classifier,
        settings.false_accept_rate,
        settings.match_threshold,
        settings.track_false_accept_rate,
    )
    return judge.decide if own is None else judge.deciding(own)


def preview(service, snapshot, seen, crop: TrackCropInfo, camera_id: str | None) -> dict:
    """get-results: the track's decision over its recorded crops and this one (when above the
    quality floor); nothing written. Like recognition itself it needs no database: while it is
    down, this crop decides alone."""
    subject = seen.sightings[crop.subject]
    own = subject.embedding[None]
    stored, qualities, grey = np.zeros((0, own.shape[1]), np.float32), np.zeros(0), False
    if camera_id is not None:
        with contextlib.suppress(DatabaseUnavailable):
            stored, qualities, grey = service.db.track_evidence(
                camera_id, crop.key, seen.embedding_space, crop.floor
            )
    kept = int(not subject.below_floor)
    evidence = np.vstack([stored.reshape(-1, own.shape[1]), own[:kept]])
    qualities = np.append(qualities, [crop.quality][:kept])
    best = np.argsort(-qualities, kind="stable")  # the best first, as a stored crop joins
    decide = decider(service, snapshot, seen.embedding_space, subject)
    decision = decide_enrolled(
        decide, evidence[best], grey or crop.grey, lambda label: _enrolled(service, seen, label),
        qualities[best],
    )  # fmt: skip
    return decision_json(crop.key, decision)


def _enrolled(service, seen, label: str) -> bool:
    """Whether `label` is still enrolled; while the database is down, yes (no delete commits)."""
    if label in seen.enrolled:
        return True
    try:
        return bool(service.db.existing_people({label}))
    except DatabaseUnavailable:
        return True


def decision_json(key: str, decision: TrackDecision) -> dict:
    return {
        "id": key,
        "label": decision.label,
        "score": decision.score,
        "threshold": decision.threshold,
        "faces": decision.faces,
    }


def track_decision_json(track: dict) -> dict:
    """The `track` of a recorded crop's answer, from the stored track."""
    return {key: track[key] for key in ("id", "label", "score", "threshold", "faces")}
