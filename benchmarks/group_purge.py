"""Retention's purge on the real MariaDB when many purged sightings are in unknown groups: what
keeping each group's size, times and cover true (storage/group_counts.py) adds to it.

    .venv/bin/python benchmarks/group_purge.py                    # 1,000,000 sightings
    .venv/bin/python benchmarks/group_purge.py --sightings 200000

Synthetic rows, bulk-inserted into a scratch database dropped at the end: sightings evenly over
60 days, half of them strangers' in GROUPS groups whose sizes fall off as 1/rank (the largest,
a regular nobody enrolled, holds ~10% of them: 50,000 at a million), each group's cover its
oldest sighting. `Database.purge_sightings` (no pause between batches) deletes the older half
(a backlog: retention just turned on or shortened), then one more day (its steady state). Run the file from an older
tree's checkout (a `git worktree`) for the "before" figure.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scratch import bulk_connection, drop, scratch_database  # noqa: E402
from storage import Database  # noqa: E402

GROUPS, DAYS, INSERT_ROWS = 10_000, 60, 5_000


def fill(name: str, count: int, now: datetime, rng) -> None:
    """`count` sightings, oldest first, every other one in a group; each group's row as the
    grouper leaves it (size, first and last sighting, its first sighting the cover)."""
    weights = 1.0 / np.arange(1, GROUPS + 1)
    group_of = rng.choice(GROUPS, count, p=weights / weights.sum()) + 1
    group_of[::2] = 0  # not in a group
    step = timedelta(days=DAYS) / count
    start = now - timedelta(days=DAYS)
    connection = bulk_connection(name)
    with connection.cursor() as cursor:
        for low in range(0, count, INSERT_ROWS):
            rows = [
                (i + 1, start + i * step, int(group_of[i]) or None, int(group_of[i]) or None)
                for i in range(low, min(low + INSERT_ROWS, count))
            ]
            cursor.executemany(
                "INSERT INTO recognitions (id, label, confidence, camera_id, box_left, box_top, "
                "box_right, box_bottom, recognized_at, unknown_group_id, track_id, quality) "
                "VALUES (%s, 'unknown', 0.3, 'cam', 10, 20, 110, 140, %s, %s, %s, 0.5)",
                rows,
            )
            connection.commit()
        cursor.execute(
            "INSERT INTO unknown_groups (id, embedding_space, size, first_seen_at, "
            "last_seen_at, cover_id) SELECT unknown_group_id, 'space', COUNT(*), "
            "MIN(recognized_at), MAX(recognized_at), MIN(id) FROM recognitions "
            "WHERE unknown_group_id IS NOT NULL GROUP BY unknown_group_id"
        )
        connection.commit()
        cursor.execute("ANALYZE TABLE recognitions")  # a live table's statistics, not a bulk load's
        cursor.fetchall()
    connection.close()


def checked(db: Database) -> int:
    """How many groups are listed; each listed group's size must be its sightings' count."""
    groups, total = db.unknown_groups(limit=20)
    for group in groups:
        size = len(db.unknown_group(group["id"])[1])
        print(f"  group {group['id']}: size {group['size']}, sightings {size}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sightings", type=int, default=1_000_000)
    args = parser.parse_args()
    now = datetime.now(UTC)
    name, url = scratch_database("group_purge")
    try:
        db = Database(url)
        db.create_schema()
        began = time.perf_counter()
        fill(name, args.sightings, now, np.random.default_rng(5))
        print(f"inserted {args.sightings:,} sightings in {time.perf_counter() - began:.0f} s")
        for what, days in (("the older half", DAYS / 2), ("then one more day", DAYS / 2 - 1)):
            began = time.perf_counter()
            purged = db.purge_sightings(now - timedelta(days=days), pause=0)
            seconds = time.perf_counter() - began
            print(
                f"{what}: purged {purged:,} sightings in {seconds:.2f} s "
                f"({seconds / purged * 1e6:.1f} us each)"
            )
        print(f"{checked(db):,} groups listed after the purge (the largest 20 checked):")
        db.close()
    finally:
        drop(name)


if __name__ == "__main__":
    main()
