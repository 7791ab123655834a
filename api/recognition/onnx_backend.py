"""The serving backend: MTCNN and Inception-ResNet-v1 on ONNX Runtime. Imports no torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import bundle
from .faces import crop_face, standardize
from .mtcnn import MTCNN, Detections
from .runtime import create_session

EMBED_BATCH = 16


class OnnxBackend:
    name = "onnx"

    def __init__(
        self,
        bundle_dir: Path,
        manifest: dict,
        threads: int = 1,
        margin: float = 0.0,
        min_face_size: int = 20,
    ):
        def session(name: str):
            return create_session(bundle.read_file(bundle_dir, name, manifest), threads)

        self.mtcnn = MTCNN(
            session(bundle.PNET),
            session(bundle.RNET),
            session(bundle.ONET),
            min_face_size=min_face_size,
        )
        self.facenet = session(bundle.FACENET_ONNX)
        self.margin = margin

    def detect(self, rgb: np.ndarray) -> Detections:
        return self.mtcnn.detect(rgb)

    def embed(self, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        crops = np.stack([crop_face(rgb, box, self.margin) for box in boxes])
        batches = [
            self.facenet.run(None, {"input": standardize(crops[i : i + EMBED_BATCH])})[0]
            for i in range(0, len(crops), EMBED_BATCH)
        ]
        return np.concatenate(batches).astype(np.float32)
