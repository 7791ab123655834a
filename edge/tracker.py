"""Follow each face from frame to frame so the edge sends tracks, not frames (issue #22).

ByteTrack's association (Zhang et al. 2022) with a constant-velocity Kalman filter on the box
centre and size: tracks are predicted, matched to high-score detections by IoU (optimal
assignment), then the tracks still unmatched to low-score detections, so a face that blurs or
turns for a frame keeps its track. A confirmed track still without a face may then take back a
detection that looks like it close to its predicted centre (a face that re-emerges after another
crossed in front of it). A track that sees no detection for `max_gap` frames ends.
Appearance gates the match: a box whose colour (hue-saturation histogram of the face) is unlike
the track's last one is not the same face, which on the Hamilton clip stops a track jumping from
the singer to an audience member at a cut (docs/edge.md).
Only numpy and OpenCV: the edge image has no scipy and no torch, and with a handful of faces per
frame a small exact assignment in Python costs microseconds.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from edge.detector import Detection

Box = tuple[int, int, int, int]

# Noise of the motion model, as fractions of the face height (ByteTrack's weights).
_POSITION_NOISE = 1 / 20
_VELOCITY_NOISE = 1 / 160
_F = np.eye(8)
_F[:4, 4:] = np.eye(4)
_H = np.eye(4, 8)


def track_id_prefix() -> str:
    """Per-process prefix: start time in ms (base 36) and 24 random bits, so ids differ across
    restarts of the same camera even when the clock is set back."""
    millis, digits = int(time.time() * 1000), ""
    while millis:
        millis, rest = divmod(millis, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
    return f"{digits}{os.urandom(3).hex()}"


def appearance(patch: np.ndarray | None) -> np.ndarray:
    """Unit-norm square root of the face's 8x4 hue-saturation histogram (Bhattacharyya-ready)."""
    if patch is None:
        return np.zeros(32, np.float32)
    hsv = cv2.cvtColor(patch, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [8, 4], [0, 180, 0, 256]).ravel()
    return np.sqrt(hist / max(float(hist.sum()), 1.0))


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of `a` (n,4) with every box of `b` (m,4), corners."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    left = np.maximum(a[:, None, 0], b[None, :, 0])
    top = np.maximum(a[:, None, 1], b[None, :, 1])
    right = np.minimum(a[:, None, 2], b[None, :, 2])
    bottom = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def assign(cost: np.ndarray, max_cost: float) -> list[tuple[int, int]]:
    """Minimum-cost matching (Hungarian, shortest augmenting paths); pairs above `max_cost` are
    dropped. Same answer as scipy's linear_sum_assignment, which the edge image lacks."""
    rows, cols = cost.shape
    if not rows or not cols:
        return []
    transposed = rows > cols
    c = (cost.T if transposed else cost).tolist()
    n, m = (cols, rows) if transposed else (rows, cols)
    u, v, p, way = [0.0] * (n + 1), [0.0] * (m + 1), [0] * (m + 1), [0] * (m + 1)
    for i in range(1, n + 1):
        p[0], j0 = i, 0
        minv, used = [float("inf")] * (m + 1), [False] * (m + 1)
        while p[j0]:
            used[j0], i0, delta, j1 = True, p[j0], float("inf"), 0
            for j in range(1, m + 1):
                if not used[j]:
                    reduced = c[i0 - 1][j - 1] - u[i0] - v[j]
                    if reduced < minv[j]:
                        minv[j], way[j] = reduced, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
        while j0:
            j1 = way[j0]
            p[j0], j0 = p[j1], j1
    pairs = [(p[j] - 1, j - 1) for j in range(1, m + 1) if p[j]]
    pairs = [(b, a) for a, b in pairs] if transposed else pairs
    return sorted((r, k) for r, k in pairs if cost[r, k] <= max_cost)


class _Kalman:
    """Constant velocity on (cx, cy, w, h); noise scales with the face's height."""

    def __init__(self, box: Box):
        self.x = np.zeros(8)
        self.x[:4] = _measure(box)
        h = self.x[3]
        std = [2 * _POSITION_NOISE * h] * 4 + [10 * _VELOCITY_NOISE * h] * 4
        self.P = np.diag(np.square(std))

    def predict(self) -> None:
        h = self.x[3]
        q = np.square([_POSITION_NOISE * h] * 4 + [_VELOCITY_NOISE * h] * 4)
        self.x = _F @ self.x
        self.P = _F @ self.P @ _F.T + np.diag(q)

    def update(self, box: Box) -> None:
        r = np.diag(np.square([_POSITION_NOISE * self.x[3]] * 4))
        s = self.P[:4, :4] + r
        gain = np.linalg.solve(s, self.P[:4]).T
        self.x = self.x + gain @ (_measure(box) - self.x[:4])
        self.P = self.P - gain @ self.P[:4]

    def box(self) -> np.ndarray:
        cx, cy, w, h = self.x[:4]
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def _measure(box: Box) -> np.ndarray:
    left, top, right, bottom = box
    return np.array([(left + right) / 2, (top + bottom) / 2, right - left, bottom - top], float)


@dataclass(eq=False)
class Track:
    """One face followed across frames. `hits`: frames with a detection; `confirmed` once it was
    seen on `min_hits` frames in a row (a lone false detection never becomes a track)."""

    id: str
    first_frame: int
    last_frame: int
    detection: Detection
    hits: int = 1
    confirmed: bool = False
    kalman: _Kalman | None = field(default=None, repr=False)
    look: np.ndarray | None = field(default=None, repr=False)

    @property
    def box(self) -> Box:
        return self.detection.box


@dataclass(eq=False)
class FaceTracker:
    """`update(frame_index, detections, patches)` -> (the (track, detection) pairs of this frame,
    tentative tracks included, and the tracks that ended). `finish()` ends the rest.

    `patches`: each detection's `edge.quality.face_patch`; without them the appearance gate is
    off (IoU and motion only). `prefix` of the track ids: `track_id_prefix()` unless given.
    """

    high_score: float = 0.7
    max_gap: int = 30
    match_iou: float = 0.2
    low_match_iou: float = 0.5
    min_hits: int = 2
    min_similarity: float = 0.85
    prefix: str | None = None
    rematch_similarity: float = 0.95
    rematch_distance: float = 1.0
    tracks: list[Track] = field(default_factory=list, init=False)
    # Tracks begun, and tentative ones dropped unconfirmed (started - dropped = real tracks).
    started: int = field(default=0, init=False)
    dropped: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.prefix = self.prefix or track_id_prefix()
        self._counter = itertools.count(1)

    def _match(self, tracks, detections, looks, min_iou):
        """Pairs (track, detection) by IoU against the predicted boxes, and what is left over."""
        if not tracks or not detections:
            return [], list(tracks), list(range(len(detections)))
        boxes = np.array([t.kalman.box() for t in tracks])
        cost = 1.0 - iou_matrix(boxes, np.array([d.box for d in detections], float))
        if (
            looks is not None
            and self.min_similarity > 0
            and all(t.look is not None for t in tracks)
        ):
            similarity = np.array([t.look for t in tracks]) @ np.array(looks).T
            cost[similarity < self.min_similarity] = 1.0
        pairs = assign(cost, 1.0 - min_iou)
        matched_t, matched_d = {r for r, _ in pairs}, {c for _, c in pairs}
        return (
            [(tracks[r], c) for r, c in pairs],
            [t for i, t in enumerate(tracks) if i not in matched_t],
            [i for i in range(len(detections)) if i not in matched_d],
        )

    def _new_track(self, frame_index: int, detection: Detection, look) -> Track:
        self.started += 1
        track = Track(f"{self.prefix}-{next(self._counter)}", frame_index, frame_index, detection)
        track.kalman, track.look = _Kalman(detection.box), look
        track.confirmed = self.min_hits <= 1
        return track

    def _continue(self, track: Track, frame_index: int, detection: Detection, look) -> None:
        consecutive = track.last_frame == frame_index - 1
        track.hits = track.hits + 1 if consecutive or track.confirmed else 1
        track.confirmed = track.confirmed or track.hits >= self.min_hits
        track.last_frame, track.detection, track.look = frame_index, detection, look
        track.kalman.update(detection.box)

    def update(self, frame_index: int, detections: list[Detection], patches=None):
        for track in self.tracks:
            if track.last_frame < frame_index - 1:
                track.kalman.x[6:] = 0  # a lost face keeps its size (ByteTrack)
            track.kalman.predict()
        looks = [appearance(p) for p in patches] if patches is not None else None
        high_i = [i for i, d in enumerate(detections) if d.score >= self.high_score]
        low_i = [i for i, d in enumerate(detections) if d.score < self.high_score]
        high, low = [detections[i] for i in high_i], [detections[i] for i in low_i]
        high_looks = [looks[i] for i in high_i] if looks is not None else None
        low_looks = [looks[i] for i in low_i] if looks is not None else None
        pairs, unmatched, new = self._match(self.tracks, high, high_looks, self.match_iou)
        # Only faces seen on the previous frame may continue on a weak detection (ByteTrack).
        recent = [t for t in unmatched if t.last_frame == frame_index - 1 and t.confirmed]
        low_pairs, _, _ = self._match(recent, low, low_looks, self.low_match_iou)
        taken = {id(t) for t, _ in low_pairs}
        lost = [t for t in unmatched if t.confirmed and id(t) not in taken]
        found_again, new = self._rematch(lost, high, high_looks, new)
        pairs += found_again
        for track, i in pairs:
            self._continue(track, frame_index, high[i], high_looks and high_looks[i])
        for track, i in low_pairs:
            self._continue(track, frame_index, low[i], low_looks and low_looks[i])
        for i in new:
            look = high_looks[i] if high_looks is not None else None
            self.tracks.append(self._new_track(frame_index, high[i], look))
        ended = self._expire(frame_index)
        return [(t, t.detection) for t in self.tracks if t.last_frame == frame_index], ended

    def _rematch(self, lost, detections, looks, left):
        """A track that lost its face (hidden by a crossing face, say) takes back a detection that
        looks like it (similarity >= `rematch_similarity`) with its centre within
        `rematch_distance` face heights of the predicted one, though the boxes hardly overlap."""
        if looks is None or not lost or not left or any(t.look is None for t in lost):
            return [], left
        boxes = np.array([t.kalman.box() for t in lost])
        found = np.array([detections[i].box for i in left], float)
        centres = (boxes[:, None, :2] + boxes[:, None, 2:]) / 2
        distance = np.linalg.norm(centres - (found[None, :, :2] + found[None, :, 2:]) / 2, axis=2)
        cost = distance / np.maximum(boxes[:, 3:4] - boxes[:, 1:2], 1.0)
        similarity = np.array([t.look for t in lost]) @ np.array([looks[i] for i in left]).T
        cost[similarity < self.rematch_similarity] = 1e6
        pairs = assign(cost, self.rematch_distance)
        used = {c for _, c in pairs}
        return [(lost[r], left[c]) for r, c in pairs], [
            i for k, i in enumerate(left) if k not in used
        ]

    def _expire(self, frame_index: int) -> list[Track]:
        """Tentative tracks die after one miss; confirmed ones after `max_gap` quiet frames."""
        ended, alive = [], []
        for track in self.tracks:
            gap = frame_index - track.last_frame
            dead = gap > self.max_gap or (not track.confirmed and gap >= 1)
            (ended if dead else alive).append(track)
        self.tracks = alive
        self.dropped += sum(not t.confirmed for t in ended)
        return ended

    def finish(self) -> list[Track]:
        """The stream stopped: every track ends now."""
        ended, self.tracks = self.tracks, []
        self.dropped += sum(not t.confirmed for t in ended)
        return ended
