"""A track's window: its best crops as the read of its crops ranks them (storage/track_joins.py),
kept on the track's row while the track is open, so a crop joining it reads one row instead of
joining three tables.

The window is what that read would return: the best `WINDOW` crops by quality (ties: the older
first), each with its codes in the window's embedding space (or none) and whether its face was
kept. A crop joining the track merges into it; anything that could make it differ from the read
(a deleted sighting, an ended track, another embedding space) drops it, and the next crop reads
the crops again (storage/track_joins.py).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from recognition.tracks import TRACK_EVIDENCE

WINDOW = 2 * TRACK_EVIDENCE  # crops one window holds: every crop of almost every track
# The header: the codes' dimension and the embedding space's name (its length, then UTF-8).
_HEADER = np.dtype([("dim", "<u2"), ("space", "u1")])


class WindowCrop(NamedTuple):
    """One crop of a window, with the attributes of a row of the read of a track's crops."""

    recognition_id: int
    quality: float
    grey: int
    code: bytes | None  # int8 codes in the window's space; None: none in it
    kept: bool  # its face (thumbnail) was kept


def _record(dim: int) -> np.dtype:
    return np.dtype(
        [("id", "<i8"), ("quality", "<f8"), ("grey", "u1"), ("kept", "u1"), ("coded", "u1"),
         ("code", "i1", (dim,))]
    )  # fmt: skip


def pack(window: list[WindowCrop], space: str, dim: int) -> bytes:
    """The window, its codes `dim` int8 in `space`, as a track row's `best_crops` column."""
    empty = bytes(dim)  # the codes of a crop with none in `space` (`coded` says so)
    records = np.array(
        [
            (c.recognition_id, c.quality, c.grey, c.kept, c.code is not None,
             np.frombuffer(c.code or empty, np.int8))
            for c in window
        ],
        _record(dim),
    )  # fmt: skip
    name = space.encode()
    return np.array((dim, len(name)), _HEADER).tobytes() + name + records.tobytes()


def unpack(blob: bytes | None, space: str) -> list[WindowCrop] | None:
    """A `best_crops` column's window, best first; None when there is none, or none in `space`
    (the crops are read again: their codes in that space are in the sightings' table)."""
    name = space.encode()
    if not blob or len(blob) < _HEADER.itemsize:
        return None
    header = np.frombuffer(blob[: _HEADER.itemsize], _HEADER)[0]
    start = _HEADER.itemsize + int(header["space"])
    record, body = _record(int(header["dim"])), blob[start:]
    if blob[_HEADER.itemsize : start] != name or len(body) % record.itemsize:
        return None
    return [
        WindowCrop(
            int(r["id"]),
            float(r["quality"]),
            int(r["grey"]),
            r["code"].tobytes() if r["coded"] else None,
            bool(r["kept"]),
        )
        for r in np.frombuffer(body, record)
    ]


def merged(window: list[WindowCrop], crop: WindowCrop) -> list[WindowCrop]:
    """The window after `crop` joins the track: in the read's order (quality, best first; the
    older crop first on a tie), cut to `WINDOW`."""
    return sorted([*window, crop], key=lambda c: (-c.quality, c.recognition_id))[:WINDOW]
