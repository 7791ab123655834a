"""`--store`: a recording's crops and tracks replace whatever an earlier run stored for it.

The unit is the file, not the segment: a track joined across segment borders (batch/stitch.py)
has crops in several segments, and its row, its crops' links and its code must change together.
What identifies a file's rows is (camera_id, location_id = the file's name, recognized_at inside
the recording): `Database.store_recognitions(crops, replacing=..., tracks=...)` deletes those
and the tracks linked to them, then inserts the crops (with their int8 codes and thumbnails,
so the console shows a stored track's best face as a live one's), the tracks
(decided, ended), their links and codes (storage/archive_tracks.py) in one transaction, retried
when MariaDB picks it as a deadlock's victim (two files of one camera write next to each other
in the same index). A re-run, a retried Spark task or a second job over the same files
therefore leaves exactly one copy. A file with a segment that failed is not stored: its earlier
rows stay as they were.
"""

from __future__ import annotations

import threading

import numpy as np

from batch.inputs import WorkItem
from batch.process import recognized_at
from recognition.gallery import encode
from storage import Database, Segment


def recording_of(items: list[WorkItem]) -> Segment:
    """The rows a run stores for a file's `items` (its segments, in order)."""
    first, last = items[0], items[-1]
    return Segment(
        camera_id=first.camera_id,
        location_id=first.source_id,
        since=recognized_at(first, first.start),
        until=recognized_at(last, last.end),
    )


def stored_crop(row: dict) -> dict:
    """What the database keeps of a crop row: its face as int8 codes, not 256 floats, and as the
    JPEG people look at."""
    return {
        **{key: row[key] for key in ("label", "score", "threshold", "camera_id", "location_id")},
        "box": (row["box_left"], row["box_top"], row["box_right"], row["box_bottom"]),
        **{key: row[key] for key in ("model_version", "recognized_at", "embedding_space")},
        "codes": encode(np.asarray(row["embedding"], np.float32)[None])[0].tobytes(),
        **{key: row[key] for key in ("track_id", "quality", "grey", "thumbnail")},
    }


def stored_track(row: dict) -> dict:
    """What the database keeps of a track row (its mean becomes its code)."""
    keys = ("track_id", "camera_id", "location_id", "first_seen_at", "last_seen_at", "crops")
    decision = ("label", "score", "threshold", "faces", "model_version", "embedding_space")
    return {key: row[key] for key in (*keys, *decision, "embedding")}


def store_recording(url: str, path: str, grouped) -> tuple[str, int, int, str | None]:
    """A Spark task: replace one file's rows, given (its Segment, its crops, its tracks) as
    grouped by path; (path, crops stored, tracks stored, why storing failed or None)."""
    [recording], crops, tracks = (list(values) for values in grouped)
    try:
        stored = database_for(url).store_recognitions(crops, replacing=recording, tracks=tracks)
    except Exception as error:  # reported on the file's segments; the other files go on
        return path, 0, 0, f"storing failed: {type(error).__name__}: {error}"
    return path, stored, len(tracks), None


_databases: dict[str, Database] = {}
_lock = threading.Lock()


def database_for(url: str) -> Database:
    """One engine (one connection pool) per Python worker, shared by the tasks it runs."""
    with _lock:
        if url not in _databases:
            _databases[url] = Database(url)
        return _databases[url]
