"""Unknown tracks become groups: one grouper for the whole cluster, a second or so behind.

A track is one person by construction (an edge followed them past its camera), so the grouper
groups whole strangers' TRACKS, each by its one code (the mean of its best crops, kept in
`track_codes`), and every sighting of a track joins the track's group. Grouping must be
order-stable and the same on every replica, so it is not done in the request: the worker
holding the database lease `unknown-grouping` reads the strangers' tracks changed since its
cursor (a change id), puts each new one with the nearest earlier track above the join threshold
(`recognition.grouping.FaceGroups`; looser for a track of the same camera seconds apart), else
in a new group, and adds a grouped track's later crops to its group. A track is grouped on its
first crops, which may be its worst (far away, turning in): one that founded a group alone
gets a second look when its face improves, and joins the group it now resembles if its own
still holds it alone. A new holder (after a restart) rebuilds its FaceGroups from the tracks
already grouped.

It remembers tracks, never group ids: "join the group track 17 is in" is resolved by the
database when it writes, so an operator's edits (storage/unknown_edits.py: groups merged, tracks
released into a group of their own) hold at once. A merged group's id is never written again,
a released track's later crops follow it to its new group, and strangers like it join it there.
"""

from __future__ import annotations

import logging

import numpy as np

from recognition.gallery import decode_one
from recognition.grouping import FaceGroups, Nearby, Seen
from workers.periodic import Periodic, lease_holder

log = logging.getLogger(__name__)

LOCK_NAME = "unknown-grouping"
BATCH = 500
PAGE = 5_000  # tracks read at once while rebuilding


class UnknownGrouper(Periodic):
    """`db` provides `unknown_tracks(space, after, limit)` and `assign_unknown_tracks(space,
    assignments)`; `space()` and `join_rule()` come from the loaded analyzer (None until
    the networks are in): `join_rule()` is (the join threshold, `Nearby` or None)."""

    def __init__(self, db, space, join_rule, lease_seconds: float = 30.0, poll: float = 1.0):
        super().__init__("unknown-grouper", poll)
        self.db = db
        self.space = space
        self.join_rule = join_rule
        self.lease_seconds = lease_seconds
        self.holder = lease_holder()
        self._groups: FaceGroups | None = None
        self._tracks: list[int] = []  # the track of each FaceGroups face
        self._alone: set[int] = set()  # tracks that founded a group no other track joined yet
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

    def _load(self, space: str, rule: tuple[float, Nearby | None]) -> None:
        """FaceGroups as the database has them (tracks already grouped, in change order); the
        cursor just before the first track with sightings left to group."""
        groups = FaceGroups(rule[0], nearby=rule[1])
        self._tracks, self._alone = [], set()
        after, first_loose, last = 0, None, 0
        while rows := self.db.unknown_tracks(space, after, PAGE):
            for row in rows:
                if row.group_id is not None:
                    self._remember(groups, row)
                if first_loose is None and (row.group_id is None or row.loose):
                    first_loose = row.change_id
            after = last = rows[-1].change_id
        self._cursor = last if first_loose is None else first_loose - 1
        self._groups = groups

    def _remember(self, groups: FaceGroups, row) -> None:
        """The track's face joins FaceGroups, labelled with its own place in `_tracks`."""
        groups.add(decode_one(row.code), len(self._tracks), _seen(row))
        self._tracks.append(row.track_id)

    def _second_look(self, track_id: int, code: np.ndarray, seen: Seen | None) -> None:
        """A track that founded a group alone has a better face now (its first crop may have
        been too poor to join anyone): it joins the group of the track it now resembles."""
        mine = np.fromiter((t == track_id for t in self._tracks), bool, len(self._tracks))
        nearest, _ = self._groups.nearest(code, seen, skip=mine)
        if nearest is not None:
            self._alone.discard(track_id)
            self._alone.discard(self._tracks[nearest])
            self.db.join_unknown_track(track_id, self._tracks[nearest])

    def group_new_faces(self) -> int:
        """Group the strangers' tracks changed since the cursor; how many tracks were read."""
        space, rule = self.space(), self.join_rule()
        if space is None or rule is None:
            return 0
        if self._groups is None or (self._groups.join_threshold, self._groups.nearby) != rule:
            self._load(space, rule)
        rows = self.db.unknown_tracks(space, self._cursor, BATCH)
        assignments = []  # (track, the track whose group it joins; None: a new group)
        for row in rows:
            code, seen = decode_one(row.code), _seen(row)
            if row.group_id is not None:  # grouped: its later crops join its group
                if row.track_id in self._alone:
                    self._second_look(row.track_id, code, seen)
                if row.loose:
                    assignments.append((row.track_id, row.track_id))
            else:
                nearest, _ = self._groups.nearest(code, seen)
                like = None if nearest is None else self._tracks[nearest]
                self._alone.discard(like)
                if like is None:
                    self._alone.add(row.track_id)
                assignments.append((row.track_id, like))
                self._remember(self._groups, row)
        if assignments:  # in order, in one transaction: a track may join one founded just now
            self.db.assign_unknown_tracks(space, assignments)
        if rows:
            self._cursor = rows[-1].change_id
        return len(rows)


def _seen(row) -> Seen | None:
    """Where and when an unknown track was seen (None: not known)."""
    if row.camera_id is None or row.first_seen_at is None or row.last_seen_at is None:
        return None
    return Seen(row.camera_id, row.first_seen_at.timestamp(), row.last_seen_at.timestamp())
