"""The one face a photo is of, or a 422 that says why there is none (enrolment, verification)."""

from __future__ import annotations

import numpy as np

from . import schemas
from .errors import Unprocessable


def photo_subject(
    analyzer, rgb: np.ndarray, what: str = "the image"
) -> tuple[np.ndarray, dict, int]:
    """(embedding, box of the face, number of faces found) of the face the photo is of."""
    faces, chosen, embedding = analyzer.subject(rgb)
    if not faces:
        raise Unprocessable(f"no face was found in {what}", code="no_face")
    if chosen is None:
        raise Unprocessable(
            f"{what} has {len(faces)} faces of similar size and distance from the centre: crop "
            "the photo to the person",
            code="several_faces",
        )
    height, width = rgb.shape[:2]
    return embedding, schemas.clip_box(faces[chosen].box, width, height), len(faces)
