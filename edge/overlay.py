"""What `facerec-edge --rtmp-url` draws: every face of a frame with its track's latest answer.

Answers come back from the uploader thread frames later, and a track sends only its best shots,
so each face shows the last answer given for any crop of its track (issue #22: the answer
follows the person, not the box it was cropped from). That answer is the cloud's decision over
all the track's crops, so the label holds steady while one blurred crop scores low.
"""

from __future__ import annotations

import threading

import numpy as np

from edge.detector import Detection
from edge.drawing import draw_face, label_color

WAITING = "..."


def track_label(answer: dict) -> str | None:
    faces = answer.get("faces") or []
    decided = [face["track"]["label"] for face in faces if face.get("track")]
    if decided:
        return decided[0]
    return faces[0]["top_prediction"]["label"] if faces else None


class AnswerBoard:
    """The latest label per track id, written by the uploader thread, read by the frame loop."""

    def __init__(self, max_tracks: int = 1000):
        self.max_tracks = max_tracks
        self._answers: dict[str, str] = {}
        self._lock = threading.Lock()

    def record(self, track_id: str, answer: dict) -> None:
        """Keep the track's decision (the `track` the cloud's answer gives the crop's subject:
        every crop of the track judged together), else the crop's largest face's label."""
        label = track_label(answer)
        if label is None:
            return
        with self._lock:
            self._answers.pop(track_id, None)
            self._answers[track_id] = label
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
