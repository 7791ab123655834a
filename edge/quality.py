"""How good a face crop is for recognition, measured cheaply at the edge.

Four factors in [0, 1], multiplied so one bad factor sinks the crop (the frontal one weighs half):
- size: face width / `full_size` px (the cloud embeds at 112-160 px; smaller faces lose detail);
- sharpness: variance of the Laplacian of the face resized to 40x40 (motion blur, focus),
  squashed as v / (v + `sharpness_scale`);
- frontal: UltraFace gives no landmarks, so a proxy: the correlation of the face with its
  mirror image (a frontal face is nearly left/right symmetric, a profile is not);
- the detector's score.
About 30 us per face on one core (benchmarks/edge_tracks.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge.detector import Detection

# Every per-face measure (quality here, appearance in the tracker) works on one small copy of the
# face, made once: 40x40 keeps blur visible for faces up to ~160 px and costs ~10 us.
PATCH_SIDE = 40


def face_patch(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """The face inside `box` (clipped to the frame) resized to PATCH_SIDE square, BGR; None
    when nothing of it is inside the frame."""
    height, width = frame.shape[:2]
    left, top = max(0, box[0]), max(0, box[1])
    right, bottom = min(width, box[2]), min(height, box[3])
    if right - left < 2 or bottom - top < 2:
        return None
    side = (PATCH_SIDE, PATCH_SIDE)
    return cv2.resize(frame[top:bottom, left:right], side, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class Quality:
    size: float
    sharpness: float
    frontal: float
    score: float

    @property
    def total(self) -> float:
        # The symmetry proxy is rough (lighting and expression break it too), so it can at most
        # halve a crop's quality where size, blur and the detector's score can zero it.
        return self.size * self.sharpness * (0.5 + 0.5 * self.frontal) * self.score


def symmetry(gray: np.ndarray) -> float:
    """Pearson correlation of the face with its mirror image, clipped to [0, 1]."""
    face = gray.astype(np.float32).ravel()
    mirror = gray[:, ::-1].astype(np.float32).ravel()
    face -= face.mean()
    mirror -= mirror.mean()
    norm = float(face @ face)
    return max(0.0, float(face @ mirror) / norm) if norm > 0 else 0.0


class QualityMeter:
    """`measure(frame, detection, patch)` -> Quality of the face inside the detector's box."""

    def __init__(self, full_size: int = 112, sharpness_scale: float = 400.0):
        self.full_size, self.sharpness_scale = full_size, sharpness_scale

    def measure(
        self, frame: np.ndarray, detection: Detection, patch: np.ndarray | None = None
    ) -> Quality:
        if patch is None:
            patch = face_patch(frame, detection.box)
        if patch is None:
            return Quality(0.0, 0.0, 0.0, detection.score)
        gray = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY)
        deviation = float(cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_16S))[1][0, 0])
        variance = deviation * deviation
        return Quality(
            size=min(1.0, detection.width / self.full_size),
            sharpness=variance / (variance + self.sharpness_scale),
            frontal=symmetry(gray),
            score=detection.score,
        )
