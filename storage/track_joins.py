"""How a crop joins its track: the hot path, run for every crop an edge sends.

Replicas are stateless, so a track's evidence lives here: every recorded crop of a track is a
`recognitions` row naming the track, with its quality and its codes, and the track's decision
is made again from its best crops in the same transaction that records the crop, with the
track's row locked. Crops of one track arriving at two replicas at once therefore queue on that
row, and the later one decides with both: no evidence is lost and the last decision has it all.
A new track's first crop inserts the row, decided on that crop; when two replicas insert one at
once, the unique key makes the second wait for the first to commit and fail, and it then locks
the row like any later crop.
An open track keeps its best crops on that row too (storage/track_window.py), from its second
crop on, so the lock's read brings them and a crop reads no other table.

Every statement here is built once, at import, with bound parameters, and run on the
transaction's Core connection: building a statement, its cache key and the ORM's bookkeeping
cost more Python per crop than MariaDB spends answering (benchmarks/track_store.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import numpy as np
from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.exc import IntegrityError

from recognition import UNKNOWN
from recognition.gallery import decode
from recognition.tracks import TRACK_EVIDENCE

from .models import Recognition, SightingThumbnail, Track
from .operator_models import AlertRule, LabelChange
from .track_window import WINDOW, WindowCrop, merged, unpack

TRACKS = Track.__table__
CROPS = Recognition.__table__  # a track's crops are the rows naming it
THUMBNAILS = SightingThumbnail.__table__

_CORRECTED = (
    select(LabelChange.id)
    .where(LabelChange.camera_id == TRACKS.c.camera_id)
    .where(LabelChange.track_key == TRACKS.c.track_key)
    .exists()
)
# The track's row, locked until the transaction ends (FOR UPDATE; the subqueries read without
# locking), with whether an operator ever corrected it and whether any alert rule exists (a
# site without rules reads none per crop). Only the columns a crop needs: the driver parses each
# column of a result in Python, which made the whole row most of this read's cost.
_LOCKED = ("id", "camera_id", "track_key", "location_id", "first_seen_at", "last_seen_at",
           "ended_at", "crops", "label", "best_crops")  # fmt: skip
_LOCK = (
    select(
        *(TRACKS.c[name] for name in _LOCKED),
        _CORRECTED.label("corrected"),
        select(AlertRule.id).exists().label("any_rule"),
    )
    .where(TRACKS.c.camera_id == bindparam("camera_id"))
    .where(TRACKS.c.track_key == bindparam("track_key"))
    .with_for_update(of=TRACKS)
)
# A track's best crops, best first, each with its codes in the serving space (if any) and
# whether its face was kept: both the evidence and the best crop to show come from this read
# (or from the same crops kept on the track's row: storage/track_window.py).
_IN_SPACE = CROPS.c.embedding_space == bindparam("space")
_BEST_CROPS = (
    select(
        CROPS.c.id.label("recognition_id"),
        CROPS.c.quality,
        CROPS.c.grey,
        case((_IN_SPACE, CROPS.c.code)).label("code"),
        THUMBNAILS.c.recognition_id.is_not(None).label("kept"),
    )
    .outerjoin(THUMBNAILS, THUMBNAILS.c.recognition_id == CROPS.c.id)
    .where(CROPS.c.track_id == bindparam("track"))
    .order_by(CROPS.c.quality.desc(), CROPS.c.id)
)
_WINDOW = _BEST_CROPS.limit(WINDOW)
_EVIDENCE = _BEST_CROPS.where(
    _IN_SPACE, CROPS.c.code.is_not(None), CROPS.c.quality >= bindparam("floor")
).limit(TRACK_EVIDENCE)
_BEST_KEPT = _BEST_CROPS.where(THUMBNAILS.c.recognition_id.is_not(None)).limit(1)
_NEW_TRACK = insert(TRACKS)
_UPDATE = update(TRACKS).where(TRACKS.c.id == bindparam("track"))  # SET: the other parameters


class LockedTrack(NamedTuple):
    """A track's row as locked before a crop joins it (a Core row of the `_LOCKED` columns:
    they are attributes), whether an operator ever corrected it, and whether any alert rule
    exists."""

    track: object
    corrected: bool
    any_rule: bool


class Evidence(NamedTuple):
    """What a track's decision and its answer need of its crops: the best crops' embeddings in
    the serving space ([n, d], best first, none below the quality floor) and their qualities,
    whether most of them are grey, and the best crop with a face kept (what the track shows)."""

    embeddings: np.ndarray
    qualities: np.ndarray
    grey: bool
    best: int | None


def lock_track(session, camera_id: str, key: str) -> LockedTrack | None:
    """The track's row, locked until the transaction ends; None when there is no such track."""
    row = session.connection().execute(_LOCK, {"camera_id": camera_id, "track_key": key}).first()
    return None if row is None else LockedTrack(row, bool(row.corrected), bool(row.any_rule))


def window(session, track, space: str, joined: WindowCrop | None = None) -> list[WindowCrop]:
    """The track's best `WINDOW` crops, best first, `joined` (the crop joining it now, already
    recorded) among them: from its row when it keeps them, else read."""
    kept = unpack(track.best_crops, space)
    if kept is None:
        where = {"track": track.id, "space": space}
        return [WindowCrop(*row) for row in session.connection().execute(_WINDOW, where)]
    return merged(kept, joined) if joined is not None else kept


def evidence(session, track_id: int, crops: list[WindowCrop], space: str, floor: float) -> Evidence:
    """The evidence in a track's window `crops`; a track with more crops than a window holds,
    short of evidence or of a kept face in them, is read again for what is missing."""
    whole = len(crops) < WINDOW
    chosen = [c for c in crops if c.code is not None and c.quality >= floor][:TRACK_EVIDENCE]
    where = {"track": track_id, "space": space, "floor": floor}
    if len(chosen) < TRACK_EVIDENCE and not whole:
        chosen = session.connection().execute(_EVIDENCE, where).all()
    best = next((c.recognition_id for c in crops if c.kept), None)
    if best is None and not whole:
        best = session.connection().scalar(_BEST_KEPT, where)
    if not chosen:
        return Evidence(np.zeros((0, 0), np.float32), np.zeros(0), False, best)
    codes = np.frombuffer(b"".join(c.code for c in chosen), np.int8).reshape(len(chosen), -1)
    qualities = np.array([c.quality for c in chosen], np.float64)
    return Evidence(decode(codes), qualities, 2 * sum(c.grey for c in chosen) > len(chosen), best)


def decided(decision, model_version) -> dict:
    """A track row's columns that say who it is: its decision, made with `model_version`."""
    return {
        "person_id": decision.label if decision.label != UNKNOWN else None,
        "label": decision.label,
        "score": float(decision.score),
        "threshold": decision.threshold,
        "faces": decision.faces,
        "model_version": model_version,
    }


def update_track(
    session, track, decision: dict, at: datetime, ended_at, best_crops: bytes | None
) -> dict:
    """The track after a crop seen `at`: its `decision` (columns: `decided`), one more crop,
    when it ended (None: open), its window (`best_crops`). The values written (exact: the row
    is locked)."""
    values = {
        "last_seen_at": max(track.last_seen_at, at),
        "crops": track.crops + 1,
        "ended_at": ended_at,
        **decision,
    }
    session.connection().execute(_UPDATE, {"track": track.id, **values, "best_crops": best_crops})
    return values


def insert_track(session, values: dict) -> int | None:
    """Insert a track's row; its id, or None when its key is taken. No savepoint: on MariaDB
    and SQLite a duplicate key fails the statement, not the transaction, and a savepoint
    cost two more round trips for every new track."""
    try:
        return session.connection().execute(_NEW_TRACK, values).inserted_primary_key[0]
    except IntegrityError:
        return None


def drop_windows(session, recognitions) -> None:
    """Drop the kept window of every track holding one of `recognitions` (a select of ids),
    before they are deleted: a window must never show, or decide with, a forgotten face."""
    holding = select(CROPS.c.track_id).where(CROPS.c.id.in_(recognitions))
    session.execute(
        update(TRACKS)
        .where(TRACKS.c.id.in_(holding), TRACKS.c.best_crops.is_not(None))
        .values(best_crops=None)
    )
