"""Group the faces nobody could name, one at a time, so a stranger seen again becomes one group.

Incremental and order-stable: a new face joins the group of the earlier unknown face it
resembles most, when that similarity reaches `join_threshold`; otherwise it starts a group of
its own. Groups never merge or split behind the operator's back, so their ids stay valid for
the console and the API. Linking to the nearest *face*, not to a group's mean, keeps a big group
from drifting into a generic face that attracts everyone (measured on LFW: with means, one group
swallowed most strangers). Cost per face is one matrix product over the earlier faces.

The threshold trades purity (one person per group) against fragmentation (groups per person);
benchmarks/unknowns.py measures both on LFW.
"""

from __future__ import annotations

import numpy as np


class FaceGroups:
    """Every grouped face (unit vectors) and its group; groups are numbered from 0."""

    def __init__(self, join_threshold: float, dim: int = 0):
        self.join_threshold = float(join_threshold)
        self.faces = np.zeros((0, dim), np.float32)
        self.groups = np.zeros(0, np.int64)
        self.count = 0

    def add(self, embedding: np.ndarray, group: int) -> None:
        """Record a face already in `group` (rebuilding the groups a database holds)."""
        embedding = np.asarray(embedding, np.float32).ravel()
        self.faces = np.vstack([self.faces.reshape(-1, len(embedding)), embedding[None]])
        self.groups = np.append(self.groups, group)
        self.count = max(self.count, group + 1)

    def nearest(self, embedding: np.ndarray) -> tuple[int | None, float]:
        """The earlier face this one resembles most (its index in the order they were added)
        and the similarity, when it reaches `join_threshold`; (None, 1.0) otherwise. Adds
        nothing."""
        embedding = np.asarray(embedding, np.float32).ravel()
        if len(self.groups):
            similarities = self.faces @ embedding
            index = int(np.argmax(similarities))
            if similarities[index] >= self.join_threshold:
                return index, float(similarities[index])
        return None, 1.0

    def assign(self, embedding: np.ndarray) -> tuple[int, float]:
        """The group the face joins (new or existing) and its similarity to that group."""
        index, similarity = self.nearest(embedding)
        group = self.count if index is None else int(self.groups[index])
        self.add(embedding, group)
        return group, similarity
