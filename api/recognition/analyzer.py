"""`FaceAnalyzer`: find faces in an image and describe each with a 512-d embedding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from . import bundle

# Detection runs on a copy no larger than this (long side); boxes are mapped back. Keeps a
# 6000x6000 upload from spending seconds on a pyramid no surveillance face needs.
MAX_DETECTION_SIDE = 2400


@dataclass(frozen=True)
class Face:
    """One detected face: box (left, top, right, bottom) in image pixels, MTCNN probability."""

    box: tuple[float, float, float, float]
    probability: float
    landmarks: np.ndarray  # [5, 2]: eyes, nose, mouth corners


def _backend_class(name: str):
    if name == "onnx":
        from .onnx_backend import OnnxBackend

        return OnnxBackend
    if name == "torch":
        from .torch_backend import TorchBackend

        return TorchBackend
    raise ValueError(f"unknown backend {name!r}: use 'onnx' or 'torch'")


class FaceAnalyzer:
    """Detection (MTCNN) + embedding (Inception-ResNet-v1, CASIA-WebFace) from a model bundle."""

    def __init__(self, backend, bundle_version: str):
        self.backend = backend
        self.bundle_version = bundle_version

    @classmethod
    def from_bundle(
        cls,
        bundle_dir: Path | str,
        backend: str = "onnx",
        threads: int = 1,
        margin: float = 32.0,
        min_face_size: int = 20,
    ) -> FaceAnalyzer:
        """`min_face_size` (px) is MTCNN's smallest face; 20 is facenet-pytorch's default."""
        bundle_dir = Path(bundle_dir)
        manifest = bundle.load_manifest(bundle_dir)
        implementation = _backend_class(backend)(
            bundle_dir, manifest, threads=threads, margin=margin, min_face_size=min_face_size
        )
        return cls(implementation, manifest["version"])

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an HxWx3 uint8 RGB image, largest first."""
        scale = min(1.0, MAX_DETECTION_SIDE / max(rgb.shape[:2]))
        small = rgb
        if scale < 1.0:
            size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        found = self.backend.detect(small)
        return [
            Face(tuple(float(v) / scale for v in box), float(p), points / scale)
            for box, p, points in zip(
                found.boxes, found.probabilities, found.landmarks, strict=True
            )
        ]

    def embed(self, rgb: np.ndarray, faces: list[Face]) -> np.ndarray:
        """[len(faces), 512] float32 L2-normalised embeddings, one per face."""
        if not faces:
            return np.zeros((0, 512), np.float32)
        return self.backend.embed(rgb, np.array([f.box for f in faces], np.float32))

    def analyze(self, rgb: np.ndarray) -> tuple[list[Face], np.ndarray]:
        faces = self.detect(rgb)
        return faces, self.embed(rgb, faces)
