"""Unknown faces become groups: one grouper for the whole cluster, a second or so behind.

Grouping must be order-stable and the same on every replica, so it is not done in the request:
the worker holding the database lease `unknown-grouping` reads the unknown sightings recorded
since its cursor, assigns each to a group (`recognition.grouping.FaceGroups`: the group of the
nearest earlier unknown face above the join threshold, else a new group) and writes the group
ids back. A new holder (after a restart) rebuilds its FaceGroups from the faces already grouped.
"""

from __future__ import annotations

import logging

from recognition.gallery import decode_one
from recognition.grouping import FaceGroups
from workers.periodic import Periodic, lease_holder

log = logging.getLogger(__name__)

LOCK_NAME = "unknown-grouping"
BATCH = 500


class UnknownGrouper(Periodic):
    """`db` provides `grouped_unknown_faces(space)`, `ungrouped_unknown_faces(space, after,
    limit)` and `assign_unknown_groups(space, assignments)`; `space()` and `join_threshold()`
    come from the loaded analyzer (None until the networks are in)."""

    def __init__(self, db, space, join_threshold, lease_seconds: float = 30.0, poll: float = 1.0):
        super().__init__("unknown-grouper", poll)
        self.db = db
        self.space = space
        self.join_threshold = join_threshold
        self.lease_seconds = lease_seconds
        self.holder = lease_holder()
        self._groups: FaceGroups | None = None
        self._ids: list[int] = []  # the group id (database) of each FaceGroups group
        self._cursor = 0

    def stop(self, timeout: float = 5.0) -> None:
        """Stop, then hand the grouping lease back at once."""
        super().stop(timeout)
        try:
            self.db.release_lock(LOCK_NAME, self.holder)
        except Exception:  # the lease expires by itself
            log.debug("could not release the grouping lease", exc_info=True)

    def step(self) -> None:
        try:
            if self.db.try_acquire_lock(LOCK_NAME, self.holder, self.lease_seconds):
                self.group_new_faces()
            else:
                self._groups = None  # someone else groups; rebuild if the lease comes back
        except Exception:
            log.warning("grouping unknown faces failed; trying again", exc_info=True)
            self._groups = None

    def _load(self, space: str, threshold: float) -> None:
        """FaceGroups as the database has them (faces already grouped, oldest first)."""
        groups = FaceGroups(threshold)
        self._ids, self._cursor = [], 0
        index_of: dict[int, int] = {}
        for sighting_id, group_id, code in self.db.grouped_unknown_faces(space):
            if group_id not in index_of:
                index_of[group_id] = len(self._ids)
                self._ids.append(group_id)
            groups.add(decode_one(code), index_of[group_id])
            self._cursor = max(self._cursor, sighting_id)
        self._groups = groups

    def group_new_faces(self) -> int:
        """Group the unknown faces recorded since the cursor; returns how many were grouped."""
        space, threshold = self.space(), self.join_threshold()
        if space is None or threshold is None:
            return 0
        if self._groups is None or self._groups.join_threshold != threshold:
            self._load(space, threshold)
        rows = self.db.ungrouped_unknown_faces(space, self._cursor, BATCH)
        assignments = []
        for sighting_id, code in rows:
            index, _ = self._groups.assign(decode_one(code))
            if index < len(self._ids):
                assignments.append((sighting_id, self._ids[index]))
            else:  # a new group: the database numbers it now, later faces may join it
                self._ids.append(self.db.assign_unknown_groups(space, [(sighting_id, None)])[0])
            self._cursor = sighting_id
        if assignments:
            self.db.assign_unknown_groups(space, assignments)
        return len(rows)
