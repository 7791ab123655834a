"""One recognition step, from an image to `Sighting`s: what every consumer (the HTTP routes, the
edge's store-results, the Spark job) records about a face it saw.

A sighting keeps what an operator needs later: the box and landmarks, the embedding (to search
by face and to group strangers), the decision (label, score, threshold) and a small JPEG of the
face to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from .analyzer import Face, FaceAnalyzer
from .classifier import UNKNOWN, FaceClassifier

THUMBNAIL_SIZE = 112  # px, the long side
THUMBNAIL_MARGIN = 0.2  # of the box's size, on each side: the hair and chin help a person
THUMBNAIL_QUALITY = 85


@dataclass(frozen=True)
class Sighting:
    box: tuple[float, float, float, float]  # left, top, right, bottom in image pixels
    landmarks: np.ndarray  # [5, 2]
    embedding: np.ndarray  # unit vector of the analyzer's embedding space
    label: str  # a person id, or "unknown"
    score: float  # similarity to the best candidate (0 without a model)
    threshold: float | None  # what naming needed (None without a model)
    thumbnail: bytes  # JPEG of the face (empty when not asked for)
    candidates: list[tuple[str, float]] = field(default_factory=list)  # (person, score), best first

    @property
    def known(self) -> bool:
        return self.label != UNKNOWN


def thumbnail(rgb: np.ndarray, box, size: int = THUMBNAIL_SIZE) -> bytes:
    """A JPEG of the face with some context, its long side `size` px (never enlarged)."""
    height, width = rgb.shape[:2]
    left, top, right, bottom = box
    grow_x, grow_y = (right - left) * THUMBNAIL_MARGIN, (bottom - top) * THUMBNAIL_MARGIN
    x1, y1 = int(max(left - grow_x, 0)), int(max(top - grow_y, 0))
    x2 = int(min(right + grow_x, width))
    y2 = int(min(bottom + grow_y, height))
    face = rgb[y1 : max(y2, y1 + 1), x1 : max(x2, x1 + 1)]
    scale = min(1.0, size / max(face.shape[:2]))
    if scale < 1.0:
        shape = (max(1, round(face.shape[1] * scale)), max(1, round(face.shape[0] * scale)))
        face = cv2.resize(face, shape, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(
        ".jpg", cv2.cvtColor(face, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, THUMBNAIL_QUALITY]
    )
    if not ok:  # pragma: no cover - OpenCV encodes any non-empty uint8 image
        raise ValueError("the face could not be encoded as JPEG")
    return jpeg.tobytes()


def sightings_of(
    rgb: np.ndarray,
    faces: list[Face],
    embeddings: np.ndarray,
    predictions: list | None,
    thumbnails: bool = True,
) -> list[Sighting]:
    """Sightings from detections, their embeddings and the classifier's predictions (None: no
    model yet, every face unknown)."""
    result = []
    for index, face in enumerate(faces):
        prediction = predictions[index] if predictions else None
        result.append(
            Sighting(
                box=tuple(float(v) for v in face.box),
                landmarks=face.landmarks,
                embedding=embeddings[index],
                label=prediction.label if prediction else UNKNOWN,
                score=prediction.score if prediction else 0.0,
                threshold=prediction.threshold if prediction else None,
                thumbnail=thumbnail(rgb, face.box) if thumbnails else b"",
                candidates=prediction.candidates if prediction else [],
            )
        )
    return result


def recognize(
    analyzer: FaceAnalyzer,
    classifier: FaceClassifier | None,
    rgb: np.ndarray,
    *,
    min_face_fraction: float = 0.0,
    still_enrolled: Callable[[set[str]], set[str]] | None = None,
    thumbnails: bool = True,
    max_faces: int | None = None,
) -> tuple[list[Sighting], int]:
    """Every face in the image, named by `classifier` when it was trained in the analyzer's
    embedding space (another space's model names nobody: `train` re-embeds); and how many faces
    were found. Only the `max_faces` largest are embedded and named: a crowd photo (or a
    hostile one with hundreds of faces) costs a bounded time.

    `min_face_fraction` > 0 (an edge crop) skips faces smaller than that share of the short
    side. `still_enrolled(names)` returns which named people still exist: anyone deleted since
    the model was trained is never named.
    """
    if classifier is not None and classifier.embedding_space != analyzer.embedding_space:
        classifier = None
    found = analyzer.detect(rgb, min_face_fraction)
    faces = found[:max_faces] if max_faces is not None else found
    embeddings = analyzer.embed(rgb, faces)
    predictions = None
    if classifier is not None and faces:
        predictions = classifier.predict(embeddings)
        named = {p.label for p in predictions if p.label != UNKNOWN}
        forgotten = named - still_enrolled(named) if named and still_enrolled else set()
        if forgotten:
            predictions = classifier.predict(embeddings, frozenset(forgotten))
    return sightings_of(rgb, faces, embeddings, predictions, thumbnails), len(found)
