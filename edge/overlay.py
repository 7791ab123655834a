"""What `facerec-edge --rtmp-url` draws: every face of a frame with the latest answer for it.

Answers come back from the uploader thread frames later, and a face is sent only every
`--resend-every` frames, so each face shows the last answer given for a box that overlaps it.
"""

from __future__ import annotations

import threading

import numpy as np

from edge.detector import Detection
from edge.drawing import draw_face, label_color
from edge.throttle import iou

WAITING = "..."


class AnswerBoard:
    """The latest label per face box, written by the uploader thread, read by the frame loop."""

    def __init__(self, min_iou: float = 0.3, max_age_frames: int = 50):
        self.min_iou = min_iou
        self.max_age_frames = max_age_frames
        self._answers: list[tuple[tuple[int, int, int, int], str, int]] = []
        self._lock = threading.Lock()

    def record(self, box: tuple[int, int, int, int], frame_index: int, answer: dict) -> None:
        """Keep the answer for the face cropped from `box`; its largest face is the subject."""
        faces = answer.get("faces") or []
        if not faces:
            return
        label = faces[0]["top_prediction"]["label"]
        with self._lock:
            self._answers = [a for a in self._answers if iou(a[0], box) < self.min_iou]
            self._answers.append((box, label, frame_index))

    def label_for(self, box: tuple[int, int, int, int], frame_index: int) -> str | None:
        with self._lock:
            recent = [a for a in self._answers if frame_index - a[2] <= self.max_age_frames]
            self._answers = recent
        best = max(recent, key=lambda a: iou(a[0], box), default=None)
        return best[1] if best is not None and iou(best[0], box) >= self.min_iou else None

    def annotate(
        self, frame: np.ndarray, detections: list[Detection], frame_index: int
    ) -> np.ndarray:
        annotated = frame.copy()
        for detection in detections:
            label = self.label_for(detection.box, frame_index)
            draw_face(annotated, detection.box, label or WAITING, label_color(label))
        return annotated
