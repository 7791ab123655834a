"""The reference backend: facenet-pytorch's own MTCNN, extract_face and InceptionResnetV1.

Used by parity tests and benchmarks (FACEREC_BACKEND=torch); the serving path never imports it.
It loads the bundle's converted CASIA weights, so both backends run the same network.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from . import bundle
from .mtcnn import Detections


class TorchBackend:
    name = "torch"

    def __init__(
        self,
        bundle_dir: Path,
        manifest: dict,
        threads: int = 1,
        margin: float = 0.0,
        min_face_size: int = 20,
    ):
        import torch
        from facenet_pytorch import MTCNN, InceptionResnetV1

        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.min_face_size = min_face_size
        self.mtcnn = MTCNN(keep_all=True, min_face_size=min_face_size, device="cpu")
        weights = np.load(
            io.BytesIO(bundle.read_file(bundle_dir, bundle.FACENET_WEIGHTS, manifest))
        )
        self.facenet = InceptionResnetV1(classify=False).eval()
        self.facenet.load_state_dict(
            {k: torch.from_numpy(weights[k]) for k in weights.files}, strict=True
        )
        self.margin = margin

    def detect(self, rgb: np.ndarray, min_face_fraction: float = 0.0) -> Detections:
        smallest = self.min_face_size
        self.mtcnn.min_face_size = max(smallest, min_face_fraction * min(rgb.shape[:2]))
        try:
            boxes, probabilities, landmarks = self.mtcnn.detect(rgb, landmarks=True)
        finally:
            self.mtcnn.min_face_size = smallest
        if boxes is None:
            return Detections.empty()
        return Detections(
            boxes.astype(np.float32), probabilities.astype(np.float32), landmarks.astype(np.float32)
        )

    def embedder(self, name: str) -> TorchBackend:
        """The reference embeds with the design's CASIA network only (`FACEREC_EMBEDDER=casia`)."""
        if name != "casia":
            raise ValueError(f"the torch reference backend has no {name!r} embedder; use casia")
        return self

    dim = 512

    def embed(self, rgb: np.ndarray, boxes: np.ndarray, landmarks=None) -> np.ndarray:
        from facenet_pytorch import extract_face
        from facenet_pytorch.models.mtcnn import fixed_image_standardization

        faces = [
            fixed_image_standardization(extract_face(rgb, box, 160, self.margin)) for box in boxes
        ]
        with self.torch.no_grad():
            return self.facenet(self.torch.stack(faces)).numpy().astype(np.float32)
