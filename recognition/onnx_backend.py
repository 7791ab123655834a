"""The serving backend: MTCNN and the embedders on ONNX Runtime. Imports no torch."""

from __future__ import annotations

import numpy as np

from . import bundle, networks
from .networks.embedder import Embedder
from .networks.mtcnn import MTCNN, NETWORK, Detections
from .runtime import create_session


class OnnxBackend(bundle.BundleBackend):
    def __post_init__(self):
        self.mtcnn = MTCNN(*map(self.session, NETWORK.files), min_face_size=self.min_face_size)

    def session(self, name: str):
        """An ONNX Runtime session on a bundle file whose checksum holds."""
        return create_session(self.read(name), self.threads)

    def detect(self, rgb: np.ndarray, min_face_fraction: float = 0.0) -> Detections:
        return self.mtcnn.detect(rgb, min_face_fraction)

    def embedder(self, name: str) -> Embedder:
        return networks.load_embedder(name, self.session, self.margin)
