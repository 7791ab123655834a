"""Do not send the same face on every frame: a face that stays put is sent again every N frames.

Faces are followed from frame to frame by box overlap (IoU), which is enough for a fixed camera
at full frame rate. A new face, or one that moved away from every recent box, is sent at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.detector import Detection


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@dataclass
class _Track:
    box: tuple[int, int, int, int]
    last_seen: int
    last_sent: int


class ResendThrottle:
    """`select(frame_index, detections)` -> the detections worth sending now.

    `every` 1 sends every face on every frame (the throttle is off).
    """

    def __init__(self, every: int = 1, min_iou: float = 0.3, forget_after: int = 5):
        if every < 1:
            raise ValueError("resend interval must be at least 1 frame")
        self.every, self.min_iou, self.forget_after = every, min_iou, forget_after
        self._tracks: list[_Track] = []

    def select(self, frame_index: int, detections: list[Detection]) -> list[Detection]:
        if self.every == 1:
            return detections
        self._tracks = [t for t in self._tracks if frame_index - t.last_seen <= self.forget_after]
        chosen, free = [], list(self._tracks)
        for detection in detections:
            track = max(free, key=lambda t: iou(t.box, detection.box), default=None)
            if track is None or iou(track.box, detection.box) < self.min_iou:
                self._tracks.append(_Track(detection.box, frame_index, frame_index))
                chosen.append(detection)
                continue
            free.remove(track)
            track.box, track.last_seen = detection.box, frame_index
            if frame_index - track.last_sent >= self.every:
                track.last_sent = frame_index
                chosen.append(detection)
        return chosen
