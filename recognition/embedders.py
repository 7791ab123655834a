"""The networks that turn a detected face into a unit vector, all on ONNX Runtime.

- `casia`: Inception-ResNet-v1 trained on CASIA-WebFace (the design's FaceNet), 512-d, on a
  160 px box crop with a margin, as facenet-pytorch feeds it.
- `sface`: OpenCV Zoo's SFace, 128-d, on a 112 px chip aligned to the ArcFace template.
- `dlib`: dlib's ResNet v1, 128-d, on a 150 px chip aligned to dlib's template.
- `sface+dlib`: both, each unit vector weighted equally (256-d): on LFW it names more of the
  enrolled people at the same stranger rejection than either alone, for ~4 ms more per face.

Which one serves is `FACEREC_EMBEDDER`; docs/recognition.md gives the measurements behind the
default. Every embedder answers L2-normalised float32 rows, so cosine similarity is a dot product.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import bundle
from .align import ARCFACE_112, DLIB_150, align_face
from .faces import crop_face, standardize

BATCH = 16


@dataclass(frozen=True)
class EmbedderSpec:
    name: str
    bundle_file: str
    dim: int
    template: np.ndarray | None = None  # None: a box crop (casia) instead of an aligned chip
    size: int = 160


EMBEDDERS = {
    "casia": EmbedderSpec("casia", bundle.FACENET_ONNX, 512),
    "sface": EmbedderSpec("sface", bundle.SFACE_ONNX, 128, ARCFACE_112, 112),
    "dlib": EmbedderSpec("dlib", bundle.DLIB_ONNX, 128, DLIB_150, 150),
}
FUSIONS = {"sface+dlib": ("sface", "dlib")}
DEFAULT_EMBEDDER = "sface+dlib"


def spec(name: str) -> EmbedderSpec:
    try:
        return EMBEDDERS[name]
    except KeyError:
        known = sorted([*EMBEDDERS, *FUSIONS])
        raise ValueError(f"unknown embedder {name!r}: use one of {known}") from None


def networks(name: str) -> list[EmbedderSpec]:
    """The networks an embedder runs: one, or the parts of a fusion."""
    return [spec(part) for part in FUSIONS.get(name, (name,))]


def normalize(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


class OnnxEmbedder:
    """One embedding network and the way its input is cut from the image."""

    def __init__(self, spec: EmbedderSpec, session, margin: float = 32.0):
        self.spec = spec
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.margin = margin

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def dim(self) -> int:
        return self.spec.dim

    def chips(self, rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The network's input: NCHW float32, one per face."""
        if self.spec.template is None:
            crops = np.stack([crop_face(rgb, box, self.margin) for box in boxes])
            return standardize(crops)
        chips = np.stack(
            [align_face(rgb, points, self.spec.template, self.spec.size) for points in landmarks]
        )
        return chips.astype(np.float32).transpose(0, 3, 1, 2).copy()  # RGB 0..255

    def embed(self, rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """[len(boxes), dim] unit vectors."""
        if len(boxes) == 0:
            return np.zeros((0, self.dim), np.float32)
        chips = self.chips(rgb, boxes, landmarks)
        rows = [
            self.session.run(None, {self.input_name: chips[i : i + BATCH]})[0]
            for i in range(0, len(chips), BATCH)
        ]
        return normalize(np.concatenate(rows))


class FusedEmbedder:
    """Several embedders' unit vectors side by side, renormalised: cosine similarity becomes
    the mean of the parts' similarities."""

    def __init__(self, name: str, parts: list[OnnxEmbedder]):
        self.name = name
        self.parts = parts
        self.dim = sum(part.dim for part in parts)

    def embed(self, rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return normalize(np.hstack([part.embed(rgb, boxes, landmarks) for part in self.parts]))


def load_embedder(
    name: str, session_for: Callable[[str], object], margin: float = 32.0
) -> OnnxEmbedder | FusedEmbedder:
    """`session_for(bundle_file)` opens a verified ONNX Runtime session on a bundle file."""
    parts = [OnnxEmbedder(part, session_for(part.bundle_file), margin) for part in networks(name)]
    return parts[0] if name not in FUSIONS else FusedEmbedder(name, parts)
