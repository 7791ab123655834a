"""Sightings: every face a camera saw, recorded with its face kept, searched by face, purged.

A sighting is a `recognitions` row plus, when the recogniser kept them, the face's int8 codes
(`sighting_embeddings`, what search scans) and a small JPEG (`sighting_thumbnails`, what people
look at). Both side tables cascade from the row, so deleting a person or purging old rows takes
the faces with them.

Search is exact: the codes of one embedding space are read in pages of `SEARCH_PAGE_BYTES` by id
range, scored with one matrix product a page and merged into a running top-k, so memory stays
bounded whatever the number of sightings.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import delete, func, insert, literal_column, select, text

from recognition import UNKNOWN

from .models import Person, Recognition, SightingEmbedding, SightingThumbnail
from .rows import sighting_dict
from .validation import aware, check_id, optional_id, seen_filters

SEARCH_PAGE_BYTES = 4 * 1024 * 1024  # of codes a search reads at once (16,384 faces at 256-d)
PURGE_BATCH_ROWS = 1_000  # rows one purge transaction deletes: short locks, small undo logs
PURGE_PAUSE_SECONDS = 0.05  # between purge batches, so writers of new sightings get in


def known_people(session, labels: Iterable[str]) -> set[str]:
    """Which of these labels are enrolled people now (not `unknown`, not deleted since)."""
    named = sorted({check_id(label, "label") for label in labels} - {UNKNOWN})
    if not named:
        return set()
    return set(session.scalars(select(Person.id).where(Person.id.in_(named))))


def recognition_values(
    *,
    label: str,
    score: float,
    threshold: float | None,
    box: Sequence[float],
    camera_id: str | None,
    location_id: str | None,
    model_version: str | None,
    recognized_at: datetime,
    known: set[str],
) -> dict:
    """One `recognitions` row: the only place that decides who a row belongs to.

    `person_id` is the label when it names someone enrolled now; NULL for `unknown` and for a
    person deleted since the model was trained (the label keeps what the model said)."""
    left, top, right, bottom = (float(v) for v in box)
    check_id(label, "label")  # NOT NULL: a missing label is a ValueError, not a database error
    return {
        "person_id": label if label != UNKNOWN and label in known else None,
        "label": label,
        "confidence": float(score),  # the column's old name for the decision's score
        "threshold": None if threshold is None else float(threshold),
        "camera_id": optional_id(camera_id, "camera_id"),
        "location_id": optional_id(location_id, "location_id"),
        "box_left": left,
        "box_top": top,
        "box_right": right,
        "box_bottom": bottom,
        "model_version": optional_id(model_version, "model_version"),
        "recognized_at": aware(recognized_at, "recognized_at"),
    }


def _checked_codes(seen) -> bytes:
    """A sighting's int8 codes, refused when they are not one vector's."""
    codes = seen.codes
    if not isinstance(codes, bytes) or not codes or len(codes) != np.size(seen.embedding):
        raise ValueError("a sighting's codes are its embedding's int8 codes, one per dimension")
    return codes


def insert_sightings(
    session, seen, camera_id: str | None, location_id: str | None, recognized_at: datetime | None
) -> list[int]:
    """Insert a `Recognized`'s sightings (row, codes, thumbnail) in the caller's transaction."""
    optional_id(seen.embedding_space, "embedding_space")
    recognized_at = recognized_at or datetime.now(UTC)
    codes = [_checked_codes(s) for s in seen.sightings]
    where = {"camera_id": camera_id, "location_id": location_id}
    ids = [
        session.execute(
            insert(Recognition).values(
                **recognition_values(
                    label=s.label,
                    score=s.score,
                    threshold=s.threshold,
                    box=s.box,
                    model_version=seen.model_version,
                    recognized_at=recognized_at,
                    known=seen.enrolled,
                    **where,
                )
            )
        ).inserted_primary_key[0]
        for s in seen.sightings
    ]
    session.execute(
        insert(SightingEmbedding),
        [
            {
                "recognition_id": recognition_id,
                "embedding_space": seen.embedding_space,
                "recognized_at": recognized_at,
                "code": code,
                **where,
            }
            for recognition_id, code in zip(ids, codes, strict=True)
        ],  # fmt: skip
    )
    thumbnails = [
        {"recognition_id": recognition_id, "jpeg": s.thumbnail}
        for recognition_id, s in zip(ids, seen.sightings, strict=True)
        if s.thumbnail
    ]
    if thumbnails:
        session.execute(insert(SightingThumbnail), thumbnails)
    return ids


def _concatenated(session, where: list, max_bytes: int) -> tuple[np.ndarray, bytes]:
    """The matching faces' ids and codes as one row (MariaDB): the two GROUP_CONCATs read the
    same rows in the same pass, so the i-th id and the i-th code belong together."""
    session.execute(text("SET SESSION group_concat_max_len = :n"), {"n": max_bytes + 1})
    ids, codes = session.execute(
        select(
            func.group_concat(SightingEmbedding.recognition_id),
            literal_column(f"GROUP_CONCAT({SightingEmbedding.__tablename__}.code SEPARATOR '')"),
        ).where(*where)
    ).one()
    if ids is None:
        return np.zeros(0, np.int64), b""
    ids = ids.decode() if isinstance(ids, bytes) else ids
    return np.array(ids.split(","), np.int64), bytes(codes)


class _TopK:
    """The k best (score, id) pairs seen so far, merged a page at a time."""

    def __init__(self, k: int):
        self.k = k
        self.scores = np.zeros(0, np.float32)
        self.ids = np.zeros(0, np.int64)

    def add(self, scores: np.ndarray, ids: np.ndarray) -> None:
        scores = np.concatenate([self.scores, scores])
        ids = np.concatenate([self.ids, ids])
        if len(scores) > self.k:
            keep = np.argpartition(-scores, self.k - 1)[: self.k]
            scores, ids = scores[keep], ids[keep]
        self.scores, self.ids = scores, ids

    def best_first(self) -> list[tuple[int, float]]:
        order = np.lexsort((self.ids, -self.scores))  # ties: the older sighting first
        return [(int(self.ids[i]), float(self.scores[i])) for i in order]


class SightingStore:
    """The sightings part of `Database` (a mixin: it uses the facade's `_transaction`)."""

    def record_sightings(
        self,
        seen,
        *,
        camera_id: str | None,
        location_id: str | None,
        recognized_at: datetime | None = None,
    ) -> list[int]:
        """Record a `recognition.sighting.Recognized` in one transaction; its sightings' row ids.

        Each sighting's int8 codes are kept in the result's embedding space, a non-empty
        thumbnail as is; who a row belongs to comes from the result's `enrolled`."""
        if not seen.sightings:
            return []
        with self._transaction(write=True) as session:
            return insert_sightings(session, seen, camera_id, location_id, recognized_at)

    def sighting_thumbnail(self, recognition_id: int) -> bytes | None:
        """The JPEG kept of a sighting's face, or None (no such sighting, or none kept)."""
        with self._transaction() as session:
            return session.scalar(
                select(SightingThumbnail.jpeg).where(
                    SightingThumbnail.recognition_id == recognition_id
                )
            )

    def sightings_with_thumbnails(self, recognition_ids: Iterable[int]) -> set[int]:
        """Which of these sightings have a face to look at (for the links of a listing)."""
        ids = sorted(set(recognition_ids))
        if not ids:
            return set()
        with self._transaction() as session:
            return set(
                session.scalars(
                    select(SightingThumbnail.recognition_id).where(
                        SightingThumbnail.recognition_id.in_(ids)
                    )
                )
            )

    def search_sightings(
        self,
        embedding,
        embedding_space: str,
        *,
        camera_id: str | None = None,
        location_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
        page_rows: int | None = None,
    ) -> tuple[list[dict], int]:
        """The `limit` sightings of `embedding_space` most like `embedding` (cosine), best
        first, each a recognition dict with its "score"; and how many sightings were compared.

        Exact: every kept code that passes the filters is scored (`since` inclusive, `until`
        exclusive). Each page is its own short read, so a long search never holds a snapshot."""
        query = np.asarray(embedding, np.float32).ravel()
        query = query / max(float(np.linalg.norm(query)), 1e-30)
        if limit < 1:
            raise ValueError("limit is at least 1")
        faces = SightingEmbedding
        conditions = [
            faces.embedding_space == embedding_space,
            func.length(faces.code) == len(query),  # another size cannot be compared
            *seen_filters(
                faces, camera_id=camera_id, location_id=location_id, since=since, until=until
            ),
        ]
        best, searched = _TopK(limit), 0
        for ids, codes in self._code_pages(conditions, len(query), page_rows):
            vectors = codes.astype(np.float32)
            norms = np.maximum(np.linalg.norm(vectors, axis=1), 1e-30)
            best.add((vectors @ query) / norms, ids)
            searched += len(ids)
        return self._ranked_sightings(best.best_first()), searched

    def _code_pages(
        self, conditions: list, dim: int, page_rows: int | None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids int64 [n], codes int8 [n, dim]) of the matching faces, a range of `page_rows`
        ids at a time, each its own short read (a long search never holds a snapshot open).

        Id ranges, not LIMIT: MariaDB answers a range straight from the primary key, where a
        LIMIT under GROUP_CONCAT needs a temporary table. On MariaDB a page comes back as ONE
        row, its ids and codes concatenated: PyMySQL parses rows in Python at ~3 us each, which
        was most of a 1M-face search."""
        page_rows = page_rows or max(1, SEARCH_PAGE_BYTES // dim)
        faces = SightingEmbedding
        with self._transaction() as session:
            first, last = session.execute(
                select(func.min(faces.recognition_id), func.max(faces.recognition_id))
            ).one()
        if first is None:
            return
        concatenate = self.dialect in ("mysql", "mariadb")
        for start in range(first, last + 1, page_rows):
            where = [
                faces.recognition_id >= start,
                faces.recognition_id < start + page_rows,
                *conditions,
            ]
            with self._transaction() as session:
                if concatenate:
                    ids, blob = _concatenated(session, where, page_rows * dim)
                else:
                    rows = session.execute(
                        select(faces.recognition_id, faces.code).where(*where)
                    ).all()
                    ids = np.fromiter((row[0] for row in rows), np.int64, len(rows))
                    blob = b"".join(row[1] for row in rows)
            if len(ids):
                yield ids, np.frombuffer(blob, np.int8).reshape(len(ids), dim)

    def _ranked_sightings(self, ranked: list[tuple[int, float]]) -> list[dict]:
        if not ranked:
            return []
        ids = [recognition_id for recognition_id, _ in ranked]
        with self._transaction() as session:
            rows = {
                row.id: row
                for row in session.scalars(select(Recognition).where(Recognition.id.in_(ids)))
            }
            faces = set(
                session.scalars(
                    select(SightingThumbnail.recognition_id).where(
                        SightingThumbnail.recognition_id.in_(ids)
                    )
                )
            )
        return [
            {**sighting_dict(rows[i]), "score": score, "has_thumbnail": i in faces}
            for i, score in ranked
            if i in rows  # purged or deleted between the scan and now
        ]

    def purge_sightings(
        self,
        before: datetime,
        batch_rows: int = PURGE_BATCH_ROWS,
        pause: float = PURGE_PAUSE_SECONDS,
    ) -> int:
        """Delete the sightings recognised before `before`, faces included; how many.

        A batch of `batch_rows` rows a transaction, oldest first, with a pause between: a purge
        of a million rows never holds a lock long enough to hold up a store-results."""
        aware(before, "before")
        total = 0
        while True:
            with self._transaction(write=True) as session:
                ids = list(
                    session.scalars(
                        select(Recognition.id)
                        .where(Recognition.recognized_at < before)
                        .order_by(Recognition.recognized_at)
                        .limit(batch_rows)
                    )
                )
                if ids:
                    session.execute(delete(Recognition).where(Recognition.id.in_(ids)))
            total += len(ids)
            if len(ids) < batch_rows:
                return total
            time.sleep(pause)
