"""`FaceAnalyzer`: find faces in an image and describe each with an embedding (a unit vector)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from . import bundle, networks
from .networks import DEFAULT_EMBEDDER, Embedder
from .subject import choose_subject

# Detection runs on a copy no larger than this (long side); boxes are mapped back. Keeps a
# 6000x6000 upload from spending seconds on a pyramid no surveillance face needs.
MAX_DETECTION_SIDE = 2400


@dataclass(frozen=True)
class Face:
    """One detected face: box (left, top, right, bottom) in image pixels, MTCNN probability."""

    box: tuple[float, float, float, float]
    probability: float
    landmarks: np.ndarray  # [5, 2]: eyes, nose, mouth corners


class FaceAnalyzer:
    """Detection (MTCNN) + embedding (by default SFace + dlib's ResNet, fused; recognition/networks/)
    from a model bundle."""

    def __init__(self, backend, embedder: Embedder, bundle_version: str, embedding_space: str):
        self.backend = backend
        self.embedder = embedder
        self.bundle_version = bundle_version
        # Which network (name and weights) made an embedding: vectors of two spaces never mix,
        # and a bundle rebuilt with the same embedder keeps every stored embedding valid.
        self.embedding_space = embedding_space

    @classmethod
    def from_bundle(
        cls,
        bundle_dir: Path | str,
        backend: str = "onnx",
        threads: int = 1,
        margin: float = 32.0,
        min_face_size: int = 20,
        embedder: str = DEFAULT_EMBEDDER,
    ) -> FaceAnalyzer:
        """`min_face_size` (px) is MTCNN's smallest face; 20 is facenet-pytorch's default.
        `backend` and `embedder` are chosen through the registry (recognition/networks/): an
        unknown name, or an embedder the backend cannot run or no model could be trained
        with, is a ValueError before anything loads."""
        _, runner = networks.choose(embedder, backend)
        bundle_dir = Path(bundle_dir)
        manifest = bundle.load_manifest(bundle_dir)
        implementation = runner.load()(
            bundle_dir, manifest, threads=threads, margin=margin, min_face_size=min_face_size
        )
        chosen = implementation.embedder(embedder)
        space = networks.embedding_space(embedder, manifest)
        return cls(implementation, chosen, manifest["version"], space)

    def detect(self, rgb: np.ndarray, min_face_fraction: float = 0.0) -> list[Face]:
        """Faces in an HxWx3 uint8 RGB image, largest first.

        For an edge crop (one face filling most of the image) pass `min_face_fraction`, e.g.
        1/3: faces smaller than that share of the short side are not looked for, which spares
        MTCNN the large pyramid levels. Whole photos keep the default, 0 (min face size only)."""
        scale = min(1.0, MAX_DETECTION_SIDE / max(rgb.shape[:2]))
        small = rgb
        if scale < 1.0:
            size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        found = self.backend.detect(small, min_face_fraction)
        return [
            Face(tuple(float(v) / scale for v in box), float(p), points / scale)
            for box, p, points in zip(
                found.boxes, found.probabilities, found.landmarks, strict=True
            )
        ]

    def embed(self, rgb: np.ndarray, faces: list[Face]) -> np.ndarray:
        """[len(faces), dim] float32 L2-normalised embeddings, one per face."""
        if not faces:
            return np.zeros((0, self.embedder.dim), np.float32)
        boxes = np.array([f.box for f in faces], np.float32)
        landmarks = np.array([f.landmarks for f in faces], np.float32)
        return self.embedder.embed(rgb, boxes, landmarks)

    def subject(self, rgb: np.ndarray) -> tuple[list[Face], int | None, np.ndarray | None]:
        """Every face, the index of the one the photo is of (`choose_subject`; None when there
        is no face or no clear subject) and that face's embedding."""
        faces = self.detect(rgb)
        chosen = choose_subject([f.box for f in faces], rgb.shape[1], rgb.shape[0])
        if chosen is None:
            return faces, None, None
        return faces, chosen, self.embed(rgb, [faces[chosen]])[0]
