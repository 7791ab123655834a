"""`--store`: a segment's rows replace whatever an earlier run stored for the same segment.

What identifies the rows one segment produced is (camera_id, location_id = the file's name,
recognized_at inside the segment's time range): `Database.store_recognitions` deletes those and
inserts the new ones in one transaction, retried when MariaDB picks it as a deadlock's victim
(two segments of one camera write next to each other in the same index). A re-run, a retried
Spark task or a second job over the same files therefore leaves exactly one copy.
"""

from __future__ import annotations

import threading

from batch.inputs import WorkItem
from batch.process import recognized_at
from storage import Database, Segment


def segment_of(item: WorkItem) -> Segment:
    """The rows a run stores for `item`."""
    return Segment(
        camera_id=item.camera_id,
        location_id=item.source_id,
        since=recognized_at(item, item.start),
        until=recognized_at(item, item.end),
    )


def _stored_row(row: dict) -> dict:
    return {
        **{key: row[key] for key in ("label", "score", "threshold", "camera_id", "location_id")},
        "box": (row["box_left"], row["box_top"], row["box_right"], row["box_bottom"]),
        "model_version": row["model_version"],
        "recognized_at": row["recognized_at"],
    }


def replace_segment(database: Database, item: WorkItem, rows: list[dict]) -> int:
    """Delete the segment's earlier rows and insert `rows`, all or nothing; returns rows stored."""
    return database.store_recognitions(map(_stored_row, rows), replacing=segment_of(item))


_databases: dict[str, Database] = {}
_lock = threading.Lock()


def database_for(url: str) -> Database:
    """One engine (one connection pool) per Python worker, shared by the tasks it runs."""
    with _lock:
        if url not in _databases:
            _databases[url] = Database(url)
        return _databases[url]
