"""One recognition step, from an image to `Sighting`s: what every consumer (the HTTP routes, the
edge's store-results, the Spark job) records about a face it saw.

A sighting keeps what an operator needs later: the box and landmarks, the embedding (to search
by face and to group strangers) and its int8 codes (what storage keeps), the decision (label,
score, threshold) and a small JPEG of the face to look at. `recognize` answers a `Recognized`:
the sightings and everything storage needs to record them (model version, embedding space, who
of the named is still enrolled), so storage asks nothing again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from .analyzer import Face, FaceAnalyzer
from .classifier import UNKNOWN, FaceClassifier
from .gallery import encode
from .tracks import crop_quality

THUMBNAIL_SIZE = 112  # px, the long side
THUMBNAIL_MARGIN = 0.2  # of the box's size, on each side: the hair and chin help a person
THUMBNAIL_QUALITY = 85


@dataclass(frozen=True)
class Sighting:
    box: tuple[float, float, float, float]  # left, top, right, bottom in image pixels
    landmarks: np.ndarray  # [5, 2]
    embedding: np.ndarray  # unit vector of the analyzer's embedding space
    codes: bytes  # the embedding as int8 codes (recognition.gallery.encode): what storage keeps
    label: str  # a person id, or "unknown"
    score: float  # similarity to the best candidate (0 without a model)
    threshold: float | None  # what naming needed (None without a model)
    thumbnail: bytes  # JPEG of the face (empty when not asked for)
    candidates: list[tuple[str, float]] = field(default_factory=list)  # (person, score), best first
    probability: float = 1.0  # MTCNN's confidence that this is a face
    quality: float = 1.0  # recognition.tracks.crop_quality of the face (in the upload's pixels)
    below_floor: bool = False  # quality below the floor: left unknown, never named

    @property
    def known(self) -> bool:
        return self.label != UNKNOWN


@dataclass(frozen=True)
class Recognized:
    """One image's recognition: its sightings and what recording them needs."""

    sightings: list[Sighting]
    faces_found: int  # detected; only the `max_faces` largest became sightings
    model_version: str | None  # the model that named them (None: no model yet)
    embedding_space: str  # the analyzer's; a sighting's codes are of this space
    enrolled: frozenset[str]  # the people named who were still enrolled when named


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
    scale: float = 1.0,
    min_quality: float = 0.0,
) -> list[Sighting]:
    """Sightings from detections, their embeddings and the classifier's predictions (None: no
    model yet, every face unknown; a None among them: that face is unknown). `scale`: how much
    the image was shrunk from the upload (`images.decode_image`); boxes and landmarks are given
    in the upload's own pixels. A face whose quality is below `min_quality` is marked so."""
    result = []
    codes = encode(embeddings) if len(faces) else []
    for index, face in enumerate(faces):
        prediction = predictions[index] if predictions else None
        box = tuple(float(v) / scale for v in face.box)
        quality = crop_quality(box, face.probability)
        result.append(
            Sighting(
                box=box,
                landmarks=face.landmarks / scale,
                embedding=embeddings[index],
                codes=codes[index].tobytes(),
                label=prediction.label if prediction else UNKNOWN,
                score=prediction.score if prediction else 0.0,
                threshold=prediction.threshold if prediction else None,
                thumbnail=thumbnail(rgb, face.box) if thumbnails else b"",
                candidates=prediction.candidates if prediction else [],
                probability=face.probability,
                quality=quality,
                below_floor=quality < min_quality,
            )
        )
    return result


def face_quality(face: Face, scale: float = 1.0) -> float:
    """`crop_quality` of a detection in an image shrunk by `scale` from the upload."""
    return crop_quality([float(v) / scale for v in face.box], face.probability)


def _predict_enrolled(
    classifier: FaceClassifier,
    embeddings: np.ndarray,
    still_enrolled: Callable[[set[str]], set[str]] | None,
) -> tuple[list, frozenset[str]]:
    """Predictions that name only people still enrolled, and those people. Whoever was deleted
    since training is left out and the faces predicted again, until every name is checked."""
    checked: set[str] = set()
    enrolled: set[str] = set()
    while True:
        predictions = classifier.predict(embeddings, frozenset(checked - enrolled))
        new = {p.label for p in predictions if p.label != UNKNOWN} - checked
        alive = still_enrolled(new) & new if new and still_enrolled else new
        checked |= new
        enrolled |= alive
        if alive == new:  # nobody newly named was deleted: these predictions stand
            return predictions, frozenset(enrolled)


def recognize(
    analyzer: FaceAnalyzer,
    classifier: FaceClassifier | None,
    rgb: np.ndarray,
    *,
    model_version: str | None = None,
    scale: float = 1.0,
    min_face_fraction: float = 0.0,
    still_enrolled: Callable[[set[str]], set[str]] | None = None,
    thumbnails: bool = True,
    max_faces: int | None = None,
    min_quality: float = 0.0,
) -> Recognized:
    """Every face in the image, named by `classifier` (version `model_version`) when it was
    trained in the analyzer's embedding space (another space's model names nobody: `train`
    re-embeds). Only the `max_faces` largest are embedded and named: a crowd photo (or a
    hostile one with hundreds of faces) costs a bounded time.

    `min_face_fraction` > 0 (an edge crop) skips faces smaller than that share of the short
    side. `still_enrolled(names)` returns which named people still exist: anyone deleted since
    the model was trained is never named (without it, every named person counts as enrolled).
    A face whose `crop_quality` is below `min_quality` (FACEREC_MIN_CROP_QUALITY) names nobody.
    """
    if classifier is not None and classifier.embedding_space != analyzer.embedding_space:
        classifier = None
    found = analyzer.detect(rgb, min_face_fraction)
    faces = found[:max_faces] if max_faces is not None else found
    embeddings = analyzer.embed(rgb, faces)
    predictions, enrolled = None, frozenset()
    usable = [i for i, face in enumerate(faces) if face_quality(face, scale) >= min_quality]
    if classifier is not None and usable:
        named, enrolled = _predict_enrolled(classifier, embeddings[usable], still_enrolled)
        predictions = [None] * len(faces)
        for index, prediction in zip(usable, named, strict=True):
            predictions[index] = prediction
    return Recognized(
        sightings_of(rgb, faces, embeddings, predictions, thumbnails, scale, min_quality),
        faces_found=len(found),
        model_version=model_version,
        embedding_space=analyzer.embedding_space,
        enrolled=enrolled,
    )
