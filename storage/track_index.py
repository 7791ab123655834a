"""A replica's in-memory copy of `track_codes`: one int8 row per track, searched by face.

Search by face over a million tracks must answer within a second; reading a million codes out
of MariaDB takes longer than that alone. So each process keeps the codes of one embedding space
as an int8 matrix, with each row's track id, last-seen time, camera and location, loaded once
and then kept up to date by change id: a track decided again gets a new `track_codes` row with
a higher id, so a refresh reads the ids above the last one seen (a primary-key range, a few rows)
and overwrites that track's row in place.

Memory: (dim + 37) bytes per track plus 4 per track id, so 1M tracks of the 256-d serving space
take ~300 MB per process (1M of 128-d: ~170 MB).

A transaction that took its id before another committed can commit after a refresh read past
it; every refresh therefore reads again the last `REREAD_IDS` ids. Tracks deleted since (a
person's deletion, retention) stay in memory until the next full load (`RELOAD_SECONDS`): the
search renders tracks from the `tracks` table and drops those that are gone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

REREAD_IDS = 2_000  # change ids read again each refresh: commits that came late stay seen
RELOAD_SECONDS = 3600.0  # a full load drops the tracks deleted since
SCORE_ROWS = 1_024  # rows scored at once: in cache, and one BLAS thread (1M: 0.12 s, not 0.32)
_NONE = -1  # camera/location number of "no location"


@dataclass
class Changes:
    """Rows of `track_codes`, in any order."""

    ids: np.ndarray  # int64 change ids
    track_ids: np.ndarray  # int64
    last_seen_us: np.ndarray  # int64 microseconds since the epoch (UTC)
    cameras: list[str]
    locations: list[str | None]
    codes: np.ndarray  # int8 [n, dim]


def _grown(array: np.ndarray, size: int, fill=0) -> np.ndarray:
    if len(array) >= size:
        return array
    bigger = np.full((max(size, 2 * len(array)), *array.shape[1:]), fill, array.dtype)
    bigger[: len(array)] = array
    return bigger


class TrackIndex:
    """The tracks of one embedding space and dimension, in memory; thread-safe."""

    def __init__(self, dim: int):
        self.dim = dim
        self.size = 0
        self.cursor = 0  # the highest change id applied
        self.loaded_at = time.monotonic()
        self.lock = threading.Lock()  # around the arrays
        self.refreshing = threading.Lock()  # one refresh at a time reads the database
        self.replacing = False  # a full load is under way
        self.codes = np.zeros((0, dim), np.int8)
        self.norms = np.zeros(0, np.float32)
        self.changes = np.zeros(0, np.int64)
        self.track_ids = np.zeros(0, np.int64)
        self.last_seen_us = np.zeros(0, np.int64)
        self.cameras = np.zeros(0, np.int32)
        self.locations = np.zeros(0, np.int32)
        self.row_of = np.zeros(0, np.int64)  # by track id: its row + 1 (0: none)
        self.dead = np.zeros(0, bool)  # rows of tracks found deleted
        self.deaths = 0
        self.names: dict[str, int] = {}

    def memory_bytes(self) -> int:
        arrays = (self.codes, self.norms, self.changes, self.track_ids, self.last_seen_us)
        more = (self.cameras, self.locations, self.row_of, self.dead)
        return sum(a.nbytes for a in (*arrays, *more))

    def _number(self, name: str | None) -> int:
        if name is None:
            return _NONE
        return self.names.setdefault(name, len(self.names))

    def apply(self, changes: Changes) -> None:
        """Put each changed track's newest row in place (a re-read older row changes nothing)."""
        if not len(changes.ids):
            return
        with self.lock:
            self._apply(changes)

    def _apply(self, changes: Changes) -> None:
        by_change = np.argsort(changes.ids, kind="stable")[::-1]  # newest first
        last = by_change[np.unique(changes.track_ids[by_change], return_index=True)[1]]
        tracks = changes.track_ids[last]
        self.row_of = _grown(self.row_of, int(tracks.max()) + 1)
        rows = self.row_of[tracks] - 1
        fresh = rows < 0
        rows[fresh] = np.arange(self.size, self.size + int(fresh.sum()))
        self.size += int(fresh.sum())
        for name in ("codes", "norms", "changes", "track_ids", "last_seen_us"):
            setattr(self, name, _grown(getattr(self, name), self.size))
        self.cameras = _grown(self.cameras, self.size, _NONE)
        self.dead = _grown(self.dead, self.size)
        self.locations = _grown(self.locations, self.size, _NONE)
        newer = changes.ids[last] >= self.changes[rows]  # a re-read row never undoes a newer one
        rows, last = rows[newer | fresh], last[newer | fresh]
        self.row_of[changes.track_ids[last]] = rows + 1
        self.codes[rows] = changes.codes[last]
        vectors = changes.codes[last].astype(np.float32)
        self.norms[rows] = np.maximum(np.linalg.norm(vectors, axis=1), 1e-30)
        self.changes[rows] = changes.ids[last]
        self.dead[rows] = False
        self.deaths = int(self.dead[: self.size].sum()) if self.deaths else 0
        self.track_ids[rows] = changes.track_ids[last]
        self.last_seen_us[rows] = changes.last_seen_us[last]
        self.cameras[rows] = [self._number(changes.cameras[i]) for i in last]
        self.locations[rows] = [self._number(changes.locations[i]) for i in last]
        self.cursor = max(self.cursor, int(changes.ids.max()))

    def forget(self, track_ids) -> None:
        """Tracks found deleted: never compared again (until a new row brings them back)."""
        with self.lock:
            for track_id in track_ids:
                if 0 <= track_id < len(self.row_of) and self.row_of[track_id]:
                    self.dead[self.row_of[track_id] - 1] = True
            self.deaths = int(self.dead[: self.size].sum())

    def _mask(self, camera_id, location_id, since_us, until_us) -> np.ndarray | None:
        """Which rows pass the filters (None: all of them)."""
        n = self.size
        mask = ~self.dead[:n] if self.deaths else None
        for column, name in ((self.cameras, camera_id), (self.locations, location_id)):
            if name is not None:
                number = self.names.get(name, -2)  # a name never seen matches nothing
                mask = (column[:n] == number) if mask is None else mask & (column[:n] == number)
        for bound, keep in ((since_us, np.greater_equal), (until_us, np.less)):
            if bound is not None:
                passing = keep(self.last_seen_us[:n], bound)
                mask = passing if mask is None else mask & passing
        return mask

    def search(
        self, query: np.ndarray, k: int, *, camera_id=None, location_id=None, since_us=None,
        until_us=None,
    ) -> tuple[list[tuple[int, float]], int]:  # fmt: skip
        """The `k` tracks most like `query` (a unit vector): [(track id, cosine)], best first,
        and how many tracks were compared."""
        with self.lock:
            mask = self._mask(camera_id, location_id, since_us, until_us)
            rows = np.arange(self.size) if mask is None else np.flatnonzero(mask)
            scores = np.empty(len(rows), np.float32)
            for start in range(0, len(rows), SCORE_ROWS):
                part = rows[start : start + SCORE_ROWS]
                block = self.codes[start : start + len(part)] if mask is None else self.codes[part]
                scores[start : start + len(part)] = block.astype(np.float32) @ query
            scores /= self.norms[rows]
            track_ids = self.track_ids[rows]
        if len(scores) > k:
            keep = np.argpartition(-scores, k - 1)[:k]
            scores, track_ids = scores[keep], track_ids[keep]
        order = np.lexsort((track_ids, -scores))
        return [(int(track_ids[i]), float(scores[i])) for i in order], len(rows)
