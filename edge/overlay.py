"""What `facerec-edge --rtmp-url` draws: every face of a frame with its track's latest answer.

Answers come back from the uploader thread frames later, and a track sends only its best shots,
so each face shows the last answer given for any crop of its track (issue #22: the answer
follows the person, not the box it was cropped from).
"""

from __future__ import annotations

import threading

import numpy as np

from edge.detector import Detection
from edge.drawing import draw_face, label_color

WAITING = "..."


class AnswerBoard:
    """The latest label per track id, written by the uploader thread, read by the frame loop."""

    def __init__(self, max_tracks: int = 1000):
        self.max_tracks = max_tracks
        self._answers: dict[str, str] = {}
        self._lock = threading.Lock()

    def record(self, track_id: str, answer: dict) -> None:
        """Keep the answer for the track's crop; the crop's largest face is the subject."""
        faces = answer.get("faces") or []
        if not faces:
            return
        with self._lock:
            self._answers.pop(track_id, None)
            self._answers[track_id] = faces[0]["top_prediction"]["label"]
            while len(self._answers) > self.max_tracks:  # oldest first: ended tracks go
                self._answers.pop(next(iter(self._answers)))

    def label_for(self, track_id: str) -> str | None:
        with self._lock:
            return self._answers.get(track_id)

    def annotate(self, frame: np.ndarray, faces: list[tuple[str, Detection]]) -> np.ndarray:
        """`faces`: (track id, detection) of this frame."""
        annotated = frame.copy()
        for track_id, detection in faces:
            label = self.label_for(track_id)
            draw_face(annotated, detection.box, label or WAITING, label_color(label))
        return annotated
