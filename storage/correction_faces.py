"""The faces a correction acts on: a track's best crops (or a sighting's face), which "not X"
keeps as X's negatives and "is Y" (with enrol) turns into Y's enrolment images."""

from __future__ import annotations

import hashlib

import numpy as np
from sqlalchemy import insert, select

from recognition.gallery import decode
from recognition.tracks import TRACK_EVIDENCE

from .models import Embedding, Image, ImageQuality, Recognition, SightingThumbnail
from .operator_models import LabelChangeImage, PersonNegative
from .transactions import utc_now


def target_faces(session, target, track, floor: float) -> list:
    """The target's faces, best first: (recognition_id, quality, code, space), the best
    TRACK_EVIDENCE of a track at or above `floor`; a sighting's own face."""
    query = (
        select(
            Recognition.id.label("recognition_id"),
            Recognition.quality,
            Recognition.code,
            Recognition.embedding_space,
        )
        .where(Recognition.code.is_not(None))
        .order_by(Recognition.quality.desc(), Recognition.id)
    )
    if track is None:
        return session.execute(query.where(Recognition.id == target.recognition_id)).all()
    query = query.where(Recognition.track_id == track.id, Recognition.quality >= floor)
    return session.execute(query.limit(TRACK_EVIDENCE)).all()


def enrol_faces(session, change_id: int, person: str, crops: list, floor: float) -> int:
    """Make enrolment images of `person` from the crops at or above `floor` that have a kept
    face (their thumbnail, their embedding): how many were new."""
    good = {c.recognition_id: c for c in crops if c.quality is not None and c.quality >= floor}
    thumbnails = session.execute(
        select(SightingThumbnail.recognition_id, SightingThumbnail.jpeg).where(
            SightingThumbnail.recognition_id.in_(list(good))
        )
    ).all()
    made = 0
    for recognition_id, jpeg in thumbnails:
        crop, digest, now = good[recognition_id], hashlib.sha256(jpeg).hexdigest(), utc_now()
        if session.scalar(
            select(Image.id).where(Image.person_id == person, Image.sha256 == digest)
        ):
            continue
        image_id = session.execute(
            insert(Image).values(
                person_id=person, sha256=digest, data=jpeg, size_bytes=len(jpeg), created_at=now
            )
        ).inserted_primary_key[0]
        vector = decode(np.frombuffer(crop.code, np.int8)[None])[0].astype("<f4").tobytes()
        session.execute(
            insert(Embedding).values(
                image_id=image_id, vector=vector, bundle_version=crop.embedding_space,
                created_at=now,
            )
        )  # fmt: skip
        session.execute(insert(ImageQuality).values(image_id=image_id, quality=crop.quality))
        session.execute(insert(LabelChangeImage).values(change_id=change_id, image_id=image_id))
        made += 1
    return made


def keep_negatives(session, change_id: int, person: str, crops: list) -> int:
    if crops:
        session.execute(
            insert(PersonNegative),
            [
                {"change_id": change_id, "person_id": person, "code": c.code,
                 "embedding_space": c.embedding_space}
                for c in crops
            ],
        )  # fmt: skip
    return len(crops)
