"""Face crops: grow the detector's box by a margin, clip it to the frame, JPEG-encode it."""

from __future__ import annotations

import cv2
import numpy as np


def grow_box(
    box: tuple[int, int, int, int], margin: float, frame_shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    """The box grown by `margin` of its width/height on every side, clipped to the frame.

    The cloud re-detects with MTCNN, which needs some context around the face to find it again.
    """
    left, top, right, bottom = box
    height, width = frame_shape[:2]
    dx = (right - left) * margin
    dy = (bottom - top) * margin
    return (
        max(0, int(round(left - dx))),
        max(0, int(round(top - dy))),
        min(width, int(round(right + dx))),
        min(height, int(round(bottom + dy))),
    )


def crop_face(
    frame: np.ndarray, box: tuple[int, int, int, int], margin: float = 0.25
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The face's pixels with context, and the grown box they came from (in frame pixels)."""
    grown = grow_box(box, margin, frame.shape)
    left, top, right, bottom = grown
    return frame[top:bottom, left:right], grown


def limit_size(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """Shrink an image so its longer side is at most `max_side` (never enlarges)."""
    if not max_side:
        return image
    longer = max(image.shape[:2])
    if longer <= max_side:
        return image
    scale = max_side / longer
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def encode_jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes of a BGR image."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be between 1 and 100, got {quality}")
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"could not JPEG-encode an image of shape {image.shape}")
    return buffer.tobytes()
