"""`--store`: a segment's rows replace whatever an earlier run stored for the same segment.

Recognitions have no natural key, so a re-run cannot "upsert". What identifies the rows one
segment produced is (camera_id, location_id = the file's name, recognized_at inside the
segment's time range): in ONE transaction those rows are deleted and the new ones inserted.
A re-run, a retried Spark task or a second job over the same files therefore leaves exactly
one copy, and a reader never sees the segment half-replaced.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from itertools import islice

from sqlalchemy import and_, delete
from sqlalchemy.exc import OperationalError

from batch.inputs import WorkItem
from batch.process import recognized_at
from storage import Database
from storage.models import Recognition
from storage.sightings import known_people, recognition_values

BATCH_ROWS = 500
# MariaDB: 1213 deadlock, 1205 lock wait timeout. Two segments of one camera delete and insert
# next to each other in the same index, so InnoDB's gap locks can pick one of them as a victim.
RETRIED_ERRORS = {1213, 1205}
ATTEMPTS = 5


def _chunks(rows: list[dict], size: int) -> Iterable[list[dict]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def segment_filter(item: WorkItem):
    """The WHERE clause matching every row a run stores for `item`."""
    table = Recognition.__table__
    return and_(
        table.c.camera_id == item.camera_id,
        table.c.location_id == item.source_id,
        table.c.recognized_at >= recognized_at(item, item.start),
        table.c.recognized_at < recognized_at(item, item.end),
    )


def _values(row: dict, known: set[str]) -> dict:
    return recognition_values(
        label=row["label"],
        score=row["score"],
        threshold=row["threshold"],
        box=(row["box_left"], row["box_top"], row["box_right"], row["box_bottom"]),
        camera_id=row["camera_id"],
        location_id=row["location_id"],
        model_version=row["model_version"],
        recognized_at=row["recognized_at"],
        known=known,
    )


def _retried(error: OperationalError) -> bool:
    arguments = getattr(error.orig, "args", ())
    return bool(arguments) and arguments[0] in RETRIED_ERRORS


def replace_segment(database: Database, item: WorkItem, rows: list[dict]) -> int:
    """Delete the segment's earlier rows and insert `rows`, all or nothing; returns rows stored."""
    for attempt in range(ATTEMPTS):
        try:
            return _replace_once(database, item, rows)
        except OperationalError as error:
            if attempt + 1 == ATTEMPTS or not _retried(error):
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


def _replace_once(database: Database, item: WorkItem, rows: list[dict]) -> int:
    table = Recognition.__table__
    with database.engine.begin() as connection:
        known = known_people(connection, (row["label"] for row in rows))
        connection.execute(delete(table).where(segment_filter(item)))
        for chunk in _chunks(rows, BATCH_ROWS):
            connection.execute(table.insert(), [_values(row, known) for row in chunk])
    return len(rows)


_databases: dict[str, Database] = {}
_lock = threading.Lock()


def database_for(url: str) -> Database:
    """One engine (one connection pool) per Python worker, shared by the tasks it runs."""
    with _lock:
        if url not in _databases:
            _databases[url] = Database(url)
        return _databases[url]
