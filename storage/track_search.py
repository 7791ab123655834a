"""Search by face over tracks: "when and where was this person seen?", one answer per passage.

Two steps. The replica's in-memory index (storage/track_index.py) scores every track's ONE code
(the mean of its best crops) and keeps the best `limit * CANDIDATES_PER_RESULT` tracks; then
those tracks' best crops (the track's evidence, by quality) are scored one by one, and each
track is ranked by its best-matching crop: a face-to-face similarity, which the 1:1 threshold
is calibrated for. The mean only chooses whom to look at closely.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

import numpy as np
from sqlalchemy import func, select

from recognition.gallery import decode
from recognition.tracks import TRACK_EVIDENCE

from .models import Recognition, SightingThumbnail, Track
from .track_codes import _microseconds, read_changes
from .track_index import RELOAD_SECONDS, REREAD_IDS, TrackIndex
from .track_rows import best_crop, track_dict
from .validation import aware

log = logging.getLogger(__name__)
CANDIDATES_PER_RESULT = 4  # tracks the means choose per result asked for
MIN_CANDIDATES = 100


def _evidence_codes(session, track_ids: list[int], space: str) -> dict[int, list]:
    """Each track's best crops in `space`: {track id: [(sighting id, int8 codes)]}."""
    rank = func.row_number().over(
        partition_by=Recognition.track_id,
        order_by=(Recognition.quality.desc(), Recognition.id),
    )
    ranked = (
        select(
            Recognition.track_id,
            Recognition.id.label("recognition_id"),
            Recognition.code,
            rank.label("r"),
        )
        .where(Recognition.track_id.in_(track_ids), Recognition.embedding_space == space)
        .where(Recognition.code.is_not(None))
        .subquery()
    )
    found: dict[int, list] = {}
    for row in session.execute(select(ranked).where(ranked.c.r <= TRACK_EVIDENCE)):
        found.setdefault(row.track_id, []).append((row.recognition_id, row.code))
    return found


def _best_crop_of(crops: list, query: np.ndarray) -> tuple[int | None, float | None]:
    """The crop most like the query: (sighting id, cosine); (None, None) when there is none."""
    codes = [code for _, code in crops if len(code) == len(query)]
    if not codes:
        return None, None
    scores = decode(np.frombuffer(b"".join(codes), np.int8).reshape(len(codes), -1)) @ query
    best = int(np.argmax(scores))
    return [i for i, code in crops if len(code) == len(query)][best], float(scores[best])


class TrackSearch:
    """The search part of `Database` (a mixin: it uses the facade's `_transaction`)."""

    def _track_index(self, space: str, dim: int) -> TrackIndex:
        """This process's index of `space`, loaded on first use, brought up to date now."""
        indexes = self.__dict__.setdefault("_track_indexes", {})
        guard = self.__dict__.setdefault("_track_indexes_lock", threading.Lock())
        with guard:
            index = indexes.get((space, dim))
            if index is None:
                index = indexes[(space, dim)] = TrackIndex(dim)
        with index.refreshing:
            first = index.cursor == 0
            for page in read_changes(self, space, dim, max(0, index.cursor - REREAD_IDS)):
                index.apply(page)
        if first and index.size:
            log.info(
                "tracks of %s in memory: %d, %.0f MB",
                space,
                index.size,
                index.memory_bytes() / 2**20,
            )
        if time.monotonic() - index.loaded_at > RELOAD_SECONDS and not index.replacing:
            index.replacing = True
            threading.Thread(target=self._reload_index, args=(space, dim), daemon=True).start()
        return index

    def warm_track_index(self, space: str, dim: int) -> int:
        """Load this process's index of `space` now, so that its first search does not wait
        for it (4.6 s at 1M tracks); the tracks it holds."""
        return self._track_index(space, dim).size

    def _reload_index(self, space: str, dim: int) -> None:
        """A fresh index (the tracks deleted since are gone), swapped in when complete."""
        fresh = TrackIndex(dim)
        try:
            for page in read_changes(self, space, dim, 0):
                fresh.apply(page)
        except Exception:  # the old index serves; the next search tries again
            self._track_indexes[(space, dim)].replacing = False
            return
        self._track_indexes[(space, dim)] = fresh

    def search_tracks(
        self, embedding, embedding_space: str, *, camera_id: str | None = None,
        location_id: str | None = None, since: datetime | None = None,
        until: datetime | None = None, limit: int = 20,
    ) -> tuple[list[dict], int]:  # fmt: skip
        """The `limit` tracks of `embedding_space` most like `embedding`, best first, and how
        many tracks were compared. Each is a track dict with "similarity" and "sighting_id" (its
        best-matching crop's cosine and sighting), "sighting_has_thumbnail" and
        "track_similarity" (its mean's cosine). `since` inclusive and `until` exclusive bound
        the track's last_seen_at."""
        if limit < 1:
            raise ValueError("limit is at least 1")
        query = np.asarray(embedding, np.float32).ravel()
        query = query / max(float(np.linalg.norm(query)), 1e-30)
        bounds = [None if at is None else _microseconds(aware(at, "time")) for at in (since, until)]
        index = self._track_index(embedding_space, len(query))
        candidates, searched = index.search(
            query, max(limit * CANDIDATES_PER_RESULT, MIN_CANDIDATES), camera_id=camera_id,
            location_id=location_id, since_us=bounds[0], until_us=bounds[1],
        )  # fmt: skip
        found = self._rendered_candidates(candidates, query, embedding_space)
        index.forget({track_id for track_id, _ in candidates} - {f["track_pk"] for f in found})
        found.sort(key=lambda f: (-f["similarity"], f["track_pk"]))
        return found[:limit], searched

    def _rendered_candidates(self, candidates: list, query: np.ndarray, space: str) -> list[dict]:
        """The candidate tracks that still exist, each with its best-matching crop."""
        if not candidates:
            return []
        ids = [track_id for track_id, _ in candidates]
        with self._transaction() as session:
            rows = session.execute(
                select(Track, best_crop().label("best")).where(Track.id.in_(ids))
            ).all()
            crops = _evidence_codes(session, ids, space)
            matched = {i: _best_crop_of(crops.get(i, []), query) for i in ids}
            with_face = set(
                session.scalars(
                    select(SightingThumbnail.recognition_id).where(
                        SightingThumbnail.recognition_id.in_(
                            [s for s, _ in matched.values() if s is not None]
                        )
                    )
                )
            )
        mean_of = dict(candidates)
        found = []
        for row in rows:
            sighting, score = matched[row.Track.id]
            found.append({
                **track_dict(row.Track, row.best),
                "track_pk": row.Track.id,
                "track_similarity": mean_of[row.Track.id],
                "similarity": mean_of[row.Track.id] if score is None else score,
                "sighting_id": sighting,
                "sighting_has_thumbnail": sighting in with_face,
            })  # fmt: skip
        return found
