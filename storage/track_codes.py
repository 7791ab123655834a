"""`track_codes`: each track's face as ONE int8 code (the mean of its best crops), written when
the track is decided again, read by change id into the replicas' in-memory indexes
(storage/track_index.py) and by the grouper of unknown tracks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, literal_column, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import Insert

from recognition.gallery import encode
from recognition.tracks import weighted_mean

from .models import TrackCode
from .track_index import Changes

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LOAD_PAGE_BYTES = 4 * 1024 * 1024  # of codes one read brings (16,384 tracks at 256-d)


class Replace(Insert):
    """INSERT that first deletes the row it would collide with on a unique key: one statement
    where a DELETE and an INSERT were two. The new row takes a new id (MariaDB's REPLACE and
    SQLite's INSERT OR REPLACE both delete, then insert), as the index's change ids need."""

    inherit_cache = True


@compiles(Replace, "mysql")
@compiles(Replace, "mariadb")
def _replace_mysql(statement, compiler, **kw) -> str:
    return "REPLACE" + compiler.visit_insert(statement, **kw)[len("INSERT") :]


@compiles(Replace, "sqlite")
def _replace_sqlite(statement, compiler, **kw) -> str:
    return "INSERT OR REPLACE" + compiler.visit_insert(statement, **kw)[len("INSERT") :]


_REPLACE = Replace(TrackCode.__table__)  # built once: it runs for every crop of a track


def store_track_code(
    session, track_id: int, embeddings: np.ndarray, space: str, *, camera_id: str,
    location_id: str | None, last_seen_at: datetime, qualities=None,
) -> None:  # fmt: skip
    """Replace the track's code with its face, the mean of `embeddings` (its best crops, unit
    rows) weighted by `qualities` as its decision weighs them, in the caller's transaction
    (which holds the track's row locked). A new row, so a new id."""
    if not len(embeddings):
        return
    code = encode(weighted_mean(embeddings, qualities)[None])[0].tobytes()
    session.connection().execute(
        _REPLACE,
        {
            "track_id": track_id, "embedding_space": space, "last_seen_at": last_seen_at,
            "camera_id": camera_id, "location_id": location_id, "code": code,
        },
    )  # fmt: skip


def _microseconds(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def _concatenated(session, where: list, rows: int, dim: int) -> Changes:
    """MariaDB: a page as ONE row of concatenations (PyMySQL parses each row in Python, which
    would be most of a million-track load); the GROUP_CONCATs read the same rows in one pass."""
    session.execute(text("SET SESSION group_concat_max_len = :n"), {"n": rows * (dim + 80) + 1})
    codes = TrackCode.__table__.c
    ids, tracks, seen, cameras, locations, blob = session.execute(
        select(
            func.group_concat(codes.id),
            func.group_concat(codes.track_id),
            literal_column(
                "GROUP_CONCAT(TIMESTAMPDIFF(MICROSECOND, '1970-01-01', track_codes.last_seen_at))"
            ),
            func.group_concat(codes.camera_id),
            literal_column("GROUP_CONCAT(IFNULL(track_codes.location_id, ''))"),
            literal_column("GROUP_CONCAT(track_codes.code SEPARATOR '')"),
        ).where(*where)
    ).one()
    if ids is None:
        return empty_changes(dim)
    text_of = [v.decode() if isinstance(v, bytes) else v for v in (ids, tracks, seen)]
    names = [(v.decode() if isinstance(v, bytes) else v).split(",") for v in (cameras, locations)]
    numbers = [np.array(v.split(","), np.int64) for v in text_of]
    return Changes(
        *numbers, names[0], [name or None for name in names[1]],
        np.frombuffer(bytes(blob), np.int8).reshape(len(numbers[0]), dim),
    )  # fmt: skip


def _selected(session, where: list, dim: int) -> Changes:
    rows = session.execute(
        select(
            TrackCode.id, TrackCode.track_id, TrackCode.last_seen_at, TrackCode.camera_id,
            TrackCode.location_id, TrackCode.code,
        ).where(*where)
    ).all()  # fmt: skip
    if not rows:
        return empty_changes(dim)
    return Changes(
        np.array([r.id for r in rows], np.int64),
        np.array([r.track_id for r in rows], np.int64),
        np.array([_microseconds(r.last_seen_at) for r in rows], np.int64),
        [r.camera_id for r in rows],
        [r.location_id for r in rows],
        np.frombuffer(b"".join(r.code for r in rows), np.int8).reshape(len(rows), dim),
    )


def empty_changes(dim: int) -> Changes:
    nothing = np.zeros(0, np.int64)
    return Changes(nothing, nothing, nothing, [], [], np.zeros((0, dim), np.int8))


def read_changes(db, space: str, dim: int, after: int):
    """The `track_codes` rows of `space` and `dim` with ids above `after`, a page of ids at a
    time (a primary-key range), each page its own short read."""
    rows = max(1, LOAD_PAGE_BYTES // dim)
    with db._transaction() as session:
        last = session.scalar(select(func.max(TrackCode.id)))
    if last is None:
        return
    concatenate = db.dialect in ("mysql", "mariadb")
    for start in range(after + 1, last + 1, rows):
        where = [
            TrackCode.id >= start,
            TrackCode.id < start + rows,
            TrackCode.embedding_space == space,
            func.length(TrackCode.code) == dim,
        ]
        with db._transaction() as session:
            page = (
                _concatenated(session, where, rows, dim)
                if concatenate
                else _selected(session, where, dim)
            )
        if len(page.ids):
            yield page
