"""The reference backend: facenet-pytorch's own MTCNN, extract_face and InceptionResnetV1.

Used by parity tests and benchmarks (FACEREC_BACKEND=torch); the serving path never imports it.
It loads the bundle's converted CASIA weights, so both backends run the same network, and it
embeds as the `casia` network: the same name, calibration and embedding space as on ONNX Runtime.
"""

from __future__ import annotations

import io

import numpy as np

from . import bundle
from .networks import casia
from .networks.mtcnn import Detections


class TorchBackend(bundle.BundleBackend):
    def __post_init__(self):
        import torch
        from facenet_pytorch import MTCNN, InceptionResnetV1

        if self.threads:
            torch.set_num_threads(self.threads)
        self.mtcnn = MTCNN(keep_all=True, min_face_size=self.min_face_size, device="cpu")
        weights = np.load(io.BytesIO(self.read(casia.WEIGHTS)))
        self.facenet = InceptionResnetV1(classify=False).eval()
        self.facenet.load_state_dict(
            {k: torch.from_numpy(weights[k]) for k in weights.files}, strict=True
        )

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

    def embedder(self, name: str) -> CasiaReference:
        """The reference runs the design's CASIA network only; the registry
        (recognition/networks/) refuses any other FACEREC_EMBEDDER before this is reached."""
        if name != casia.NETWORK.name:
            raise ValueError(f"the torch reference backend has no {name!r} embedder; use casia")
        return CasiaReference(self.facenet, self.margin)


class CasiaReference:
    """facenet-pytorch's `extract_face` + InceptionResnetV1: the `casia` embedder in torch."""

    name = casia.NETWORK.name
    dim = casia.NETWORK.dim

    def __init__(self, facenet, margin: float):
        self.facenet = facenet
        self.margin = margin

    def embed(self, rgb: np.ndarray, boxes: np.ndarray, landmarks=None) -> np.ndarray:
        import torch
        from facenet_pytorch import extract_face
        from facenet_pytorch.models.mtcnn import fixed_image_standardization

        size = casia.FACE_SIZE
        faces = [
            fixed_image_standardization(extract_face(rgb, box, size, self.margin)) for box in boxes
        ]
        with torch.no_grad():
            return self.facenet(torch.stack(faces)).numpy().astype(np.float32)
