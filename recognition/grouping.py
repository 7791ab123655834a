"""Group the faces nobody could name, one at a time, so a stranger seen again becomes one group.

Incremental and order-stable: a new face joins the group of the earlier unknown face it
resembles most, when that similarity reaches `join_threshold`; otherwise it starts a group of
its own. Groups never merge or split behind the operator's back, so their ids stay valid for
the console and the API. Linking to the nearest *face*, not to a group's mean, keeps a big group
from drifting into a generic face that attracts everyone (measured on LFW: with means, one group
swallowed most strangers). Cost per face is one matrix product over the earlier faces.

The threshold trades purity (one person per group) against fragmentation (groups per person);
benchmarks/unknowns.py and benchmarks/track_groups.py measure both on LFW. Where and when a
track was seen is evidence too: two tracks on one camera a few seconds apart are far more
often one person (who left the frame and came back) than two strangers who look alike, so
`Nearby` lets such tracks join at a looser threshold. The risk stays small because few tracks
are that near: a new track is compared loosely only with the tracks of its camera in the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Nearby:
    """Tracks on one camera within `seconds` of each other join at `threshold` (looser)."""

    threshold: float
    seconds: float


@dataclass(frozen=True)
class Seen:
    """Where and when a track was seen: its camera, first and last time (epoch seconds)."""

    camera: str
    start: float
    end: float


class FaceGroups:
    """Every grouped face (unit vectors) and its group; groups are numbered from 0."""

    def __init__(self, join_threshold: float, dim: int = 0, nearby: Nearby | None = None):
        self.join_threshold = float(join_threshold)
        self.nearby = nearby
        self.faces = np.zeros((0, dim), np.float32)
        self.groups = np.zeros(0, np.int64)
        self.cameras: list[str | None] = []
        self.spans = np.zeros((0, 2), np.float64)  # first and last seen; NaN: not known
        self.count = 0

    def add(self, embedding: np.ndarray, group: int, seen: Seen | None = None) -> None:
        """Record a face already in `group` (rebuilding the groups a database holds)."""
        embedding = np.asarray(embedding, np.float32).ravel()
        self.faces = np.vstack([self.faces.reshape(-1, len(embedding)), embedding[None]])
        self.groups = np.append(self.groups, group)
        self.cameras.append(None if seen is None else seen.camera)
        span = (np.nan, np.nan) if seen is None else (seen.start, seen.end)
        self.spans = np.vstack([self.spans, span])
        self.count = max(self.count, group + 1)

    def _thresholds(self, seen: Seen | None) -> np.ndarray | float:
        """Each earlier face's join threshold for a face seen at `seen`."""
        if self.nearby is None or seen is None:
            return self.join_threshold
        window = self.nearby.seconds
        near = (
            (np.array(self.cameras, dtype=object) == seen.camera)
            & (self.spans[:, 0] <= seen.end + window)
            & (self.spans[:, 1] >= seen.start - window)
        )
        loose = min(self.nearby.threshold, self.join_threshold)
        return np.where(near, loose, self.join_threshold)

    def nearest(
        self, embedding: np.ndarray, seen: Seen | None = None, skip: np.ndarray | None = None
    ) -> tuple[int | None, float]:
        """The earlier face this one resembles most among those it may join (its index in the
        order they were added; none of the `skip` mask) and the similarity; (None, 1.0) when
        there is none. Adds nothing."""
        embedding = np.asarray(embedding, np.float32).ravel()
        if len(self.groups):
            similarities = self.faces @ embedding
            joinable = similarities >= self._thresholds(seen)
            if skip is not None:
                joinable &= ~skip
            joinable = np.where(joinable, similarities, -np.inf)
            index = int(np.argmax(joinable))
            if np.isfinite(joinable[index]):
                return index, float(similarities[index])
        return None, 1.0

    def assign(self, embedding: np.ndarray, seen: Seen | None = None) -> tuple[int, float]:
        """The group the face joins (new or existing) and its similarity to that group."""
        index, similarity = self.nearest(embedding, seen)
        group = self.count if index is None else int(self.groups[index])
        self.add(embedding, group, seen)
        return group, similarity
