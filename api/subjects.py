"""The one face a photo is of, or a 422 that says why there is none (enrolment, verification)."""

from __future__ import annotations

import numpy as np

from recognition.sighting import face_quality

from . import schemas
from .errors import Unprocessable


def _subject(analyzer, rgb: np.ndarray, what: str):
    """(the subject's detection, its embedding, every face found), or a 422."""
    faces, chosen, embedding = analyzer.subject(rgb)
    if not faces:
        raise Unprocessable(f"no face was found in {what}", code="no_face")
    if chosen is None:
        raise Unprocessable(
            f"{what} has {len(faces)} faces of similar size and distance from the centre: crop "
            "the photo to the person",
            code="several_faces",
        )
    return faces[chosen], embedding, faces


def photo_subject(
    analyzer, rgb: np.ndarray, what: str = "the image"
) -> tuple[np.ndarray, dict, int]:
    """(embedding, box of the face, number of faces found) of the face the photo is of."""
    face, embedding, faces = _subject(analyzer, rgb, what)
    height, width = rgb.shape[:2]
    return embedding, schemas.clip_box(face.box, width, height), len(faces)


def enrolment_subject(
    analyzer, rgb: np.ndarray, min_quality: float
) -> tuple[np.ndarray, dict, int, float]:
    """`photo_subject` and the face's quality (as a sighting's); a 422 `low_quality` when it is
    below `min_quality` (FACEREC_MIN_CROP_QUALITY): a face too poor to name anyone by is too
    poor to enrol."""
    face, embedding, faces = _subject(analyzer, rgb, "the image")
    quality = face_quality(face)
    if quality < min_quality:
        raise Unprocessable(
            f"the face is too small or unclear to enrol: quality {quality:.2f} is below "
            f"{min_quality:.2f} (FACEREC_MIN_CROP_QUALITY); send a larger, sharper photo",
            code="low_quality",
        )
    height, width = rgb.shape[:2]
    return embedding, schemas.clip_box(face.box, width, height), len(faces), quality
