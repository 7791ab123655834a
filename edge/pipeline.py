"""Frame -> face crops ready to send: detect, filter by size, grow by a margin, shrink, JPEG-encode."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.crops import crop_face, encode_jpeg, limit_size
from edge.detector import Detection, UltraFaceDetector


@dataclass(frozen=True)
class FaceCrop:
    """One face to send: the detection (frame pixels), the grown box cropped, and its JPEG.

    `scale` is crop pixels per frame pixel (below 1 when the crop was shrunk).
    """

    detection: Detection
    crop_box: tuple[int, int, int, int]
    jpeg: bytes
    scale: float = 1.0

    def face_in_crop(self) -> tuple[float, float, float, float]:
        """Where the detected face lies inside the JPEG, in its pixels."""
        left, top = self.crop_box[:2]
        x1, y1, x2, y2 = self.detection.box
        return tuple(v * self.scale for v in (x1 - left, y1 - top, x2 - left, y2 - top))


class FaceCropper:
    """Turns frames into face crops.

    Faces narrower than `min_size` px are skipped (too small to recognise); crops whose face is
    wider than `max_size` px are shrunk so the face is `max_size` wide (the cloud embeds at 160 px,
    more pixels only cost bandwidth).
    """

    def __init__(
        self,
        detector: UltraFaceDetector,
        margin: float = 0.25,
        jpeg_quality: int = 90,
        min_size: int = 0,
        max_size: int | None = None,
    ):
        self.detector = detector
        self.margin = margin
        self.jpeg_quality = jpeg_quality
        self.min_size = min_size
        self.max_size = max_size

    def _shrink(self, crop: np.ndarray, face_width: int) -> np.ndarray:
        if not self.max_size or face_width <= self.max_size:
            return crop
        longer = round(max(crop.shape[:2]) * self.max_size / face_width)
        return limit_size(crop, longer)

    def crop(self, frame: np.ndarray, detection: Detection) -> FaceCrop:
        pixels, box = crop_face(frame, detection.box, self.margin)
        shrunk = self._shrink(pixels, detection.width)
        scale = shrunk.shape[1] / pixels.shape[1]
        return FaceCrop(detection, box, encode_jpeg(shrunk, self.jpeg_quality), scale)

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Detections big enough to be worth sending."""
        return [d for d in self.detector.detect(frame) if d.width >= self.min_size]

    def crops(self, frame: np.ndarray) -> list[FaceCrop]:
        return [self.crop(frame, detection) for detection in self.detect(frame)]
