"""Which crops of a track go to the cloud: the first usable one at once, then only better ones.

The operator sees a person one round trip after the track is confirmed (its second frame, so a
lone false detection is never sent) and its crop is usable; after that a crop is
sent only when it beats the k-th best the track has sent by `margin` (while fewer than k were
sent, it must beat the best so far), so a track sends a handful of ever better shots and
nothing while the person just stands there. `resend_every` N >= 1 is the older policy instead:
every N-th frame of a track (1: every face of every frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.detector import Detection
from edge.quality import Quality, QualityMeter, face_patch
from edge.sources import is_photo_set
from edge.tracker import FaceTracker


@dataclass
class _Sent:
    qualities: list[float] = field(default_factory=list)
    last_frame: int = -1


@dataclass(eq=False)
class ShotSelector:
    """`choose(track_id, frame_index, quality)` -> send this crop?; `end(track_id)` forgets it."""

    best_k: int = 1
    margin: float = 0.25
    min_quality: float = 0.02
    resend_every: int = 0
    _tracks: dict[str, _Sent] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.best_k < 1 or self.resend_every < 0:
            raise ValueError("best_k must be at least 1 and resend_every at least 0")

    def threshold(self, track_id: str) -> float:
        """The quality a new crop of this track must exceed to be sent."""
        sent = sorted(self._tracks.get(track_id, _Sent()).qualities, reverse=True)
        if not sent:
            return self.min_quality
        bar = sent[self.best_k - 1] if len(sent) >= self.best_k else sent[0]
        return max(self.min_quality, bar * (1 + self.margin))

    def choose(self, track_id: str, frame_index: int, quality: float) -> bool:
        state = self._tracks.setdefault(track_id, _Sent())
        if self.resend_every:
            send = state.last_frame < 0 or frame_index - state.last_frame >= self.resend_every
        else:
            send = quality > self.threshold(track_id)
        if send:
            state.qualities.append(quality)
            state.last_frame = frame_index
        return send

    def end(self, track_id: str) -> int:
        """Forget a track that ended; how many of its crops were sent."""
        return len(self._tracks.pop(track_id, _Sent()).qualities)


@dataclass(frozen=True)
class Shot:
    """A crop worth sending: whose track it is, the face, and how good it is."""

    track_id: str
    detection: Detection
    quality: Quality


@dataclass(frozen=True)
class TrackEnd:
    """A track went quiet (or the stream stopped): the cloud may close its sighting."""

    track_id: str
    first_frame: int
    last_frame: int
    hits: int
    sent: int


class TrackShots:
    """Per frame: follow the faces, score them, pick the crops to send.

    `step(index, frame, detections)` -> (every (track, detection) of the frame, the shots to
    send, the tracks that ended). In best-shot mode only confirmed tracks send (a detection seen
    on one frame only is never uploaded); with `resend_every` every face counts, as before.
    """

    def __init__(self, tracker: FaceTracker, selector: ShotSelector, meter: QualityMeter):
        self.tracker, self.selector, self.meter = tracker, selector, meter
        self.ended = 0

    @classmethod
    def from_config(cls, config) -> TrackShots:
        tracker = FaceTracker(
            high_score=config.score_threshold,
            max_gap=config.track_gap,
            min_hits=1 if is_photo_set(config.source) else config.track_min_hits,
            min_similarity=config.track_similarity,
        )
        selector = ShotSelector(
            config.best_k, config.best_margin, config.min_quality, config.resend_every
        )
        return cls(tracker, selector, QualityMeter())

    def step(self, frame_index: int, frame, detections: list[Detection]):
        patches = [face_patch(frame, d.box) for d in detections]
        seen, ended = self.tracker.update(frame_index, detections, patches)
        patch_of = {id(d): p for d, p in zip(detections, patches, strict=True)}
        shots = []
        for track, detection in seen:
            if not (track.confirmed or self.selector.resend_every):
                continue
            quality = self.meter.measure(frame, detection, patch_of[id(detection)])
            if self.selector.choose(track.id, frame_index, quality.total):
                shots.append(Shot(track.id, detection, quality))
        return seen, shots, self._ends(ended)

    def summary(self) -> str:
        """One line for the daemon's summary."""
        tracker = self.tracker
        return (
            f"tracks: {tracker.started - tracker.dropped} ({tracker.dropped} unconfirmed "
            f"dropped), {self.ended} ended after sending"
        )

    def finish(self) -> list[TrackEnd]:
        return self._ends(self.tracker.finish())

    def _ends(self, tracks) -> list[TrackEnd]:
        """Ends of the tracks that sent something (the cloud never heard of the others)."""
        ends = [
            TrackEnd(t.id, t.first_frame, t.last_frame, t.hits, self.selector.end(t.id))
            for t in tracks
        ]
        ends = [e for e in ends if e.sent]
        self.ended += len(ends)
        return ends
