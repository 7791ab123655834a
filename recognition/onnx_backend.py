"""The serving backend: MTCNN and the embedders on ONNX Runtime. Imports no torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import bundle, networks
from .networks.embedder import Embedder
from .networks.mtcnn import MTCNN, NETWORK, Detections
from .runtime import create_session


class OnnxBackend:
    def __init__(
        self,
        bundle_dir: Path,
        manifest: dict,
        threads: int = 1,
        margin: float = 0.0,
        min_face_size: int = 20,
    ):
        self.bundle_dir = bundle_dir
        self.manifest = manifest
        self.threads = threads
        self.margin = margin
        self.mtcnn = MTCNN(*map(self.session, NETWORK.files), min_face_size=min_face_size)

    def session(self, name: str):
        """An ONNX Runtime session on a bundle file whose checksum holds."""
        return create_session(bundle.read_file(self.bundle_dir, name, self.manifest), self.threads)

    def detect(self, rgb: np.ndarray, min_face_fraction: float = 0.0) -> Detections:
        return self.mtcnn.detect(rgb, min_face_fraction)

    def embedder(self, name: str) -> Embedder:
        return networks.load_embedder(name, self.session, self.margin)
