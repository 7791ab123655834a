"""Cut aligned face crops the way facenet-pytorch's `extract_face` does, ready for the embedder."""

from __future__ import annotations

import cv2
import numpy as np

FACE_SIZE = 160


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
