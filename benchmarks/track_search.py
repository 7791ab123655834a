"""Search by face over N tracks on the real MariaDB, as POST /recognitions/search does it
(`Database.search_tracks`: the in-memory index of the tracks' mean codes, then the candidates'
best crops read from MariaDB), warm, after the first search has loaded the index.

    .venv/bin/python benchmarks/track_search.py                  # 1,000,000 tracks, 256-d
    .venv/bin/python benchmarks/track_search.py --tracks 100000 --queries 50

The tracks are synthetic: unit vectors of the serving embedding space's dimension (256 for
sface+dlib) around 20,000 identities, each track with one crop (a recognition naming it, and
its codes) and its code in `track_codes`, bulk-inserted into a scratch database that
is dropped at the end. A planted identity's PLANTED tracks must come back first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scratch import bulk_connection, drop, scratch_database  # noqa: E402
from benchmarks.sightings import synthetic  # noqa: E402
from storage import Database  # noqa: E402

IDENTITIES, PLANTED, SPACE = 20_000, 20, "bench-space"
INSERT_ROWS = 5_000


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


INSERTS = {
    "tracks": "INSERT INTO tracks (id, camera_id, track_key, location_id, first_seen_at, "
    "last_seen_at, crops, person_id, label, score, threshold, faces, model_version) "
    "VALUES (%s, %s, %s, 'site', %s, %s, 1, NULL, 'unknown', 0.3, 0.5, 1, 'v1')",
    "recognitions": "INSERT INTO recognitions (id, person_id, label, confidence, camera_id, "
    "location_id, box_left, box_top, box_right, box_bottom, model_version, recognized_at, "
    "threshold, track_id, quality, grey, embedding_space, code) VALUES "
    "(%s, NULL, 'unknown', 0.3, %s, 'site', 10, 20, 110, 140, 'v1', %s, 0.5, %s, 0.8, 0, %s, %s)",
    "track_codes": "INSERT INTO track_codes (id, track_id, embedding_space, last_seen_at, "
    "camera_id, location_id, code) VALUES (%s, %s, %s, %s, %s, 'site', %s)",
}


def batch_rows(ids, codes, seen_at) -> dict[str, list]:
    cameras = [f"cam-{i % 50}" for i in ids]
    return {
        "tracks": [(i, c, f"t{i}", t, t) for i, c, t in zip(ids, cameras, seen_at, strict=True)],
        "recognitions": [
            (i, c, t, i, SPACE, code.tobytes())
            for i, c, t, code in zip(ids, cameras, seen_at, codes, strict=True)
        ],
        "track_codes": [
            (i, i, SPACE, t, c, code.tobytes())
            for i, c, t, code in zip(ids, cameras, seen_at, codes, strict=True)
        ],
    }


def fill(name: str, count: int, dim: int, target: np.ndarray, rng) -> set[int]:
    """`count` one-crop tracks last seen over the last 29 days; PLANTED near `target`."""
    planted, batches = synthetic(count, dim, PLANTED, target, rng, INSERT_ROWS)
    connection = bulk_connection(name)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        for ids, codes, seen_at in batches:
            rows = batch_rows(ids, codes, seen_at)
            for table, statement in INSERTS.items():
                cursor.executemany(statement, rows[table])
            connection.commit()
    connection.close()
    print(f"inserted {count:,} tracks in {time.perf_counter() - began:.0f} s")
    return planted


def bench(db: Database, target: np.ndarray, planted: set[int], queries: int, rng) -> None:
    since = datetime.now(UTC) - timedelta(days=30)
    began = time.perf_counter()
    found, searched = db.search_tracks(target, SPACE, since=since, limit=PLANTED)
    cold = time.perf_counter() - began
    index = next(iter(db._track_indexes.values()))
    print(f"cold (loads the index): {cold:.2f} s; {searched:,} tracks in memory, "
          f"{index.memory_bytes() / 2**20:.0f} MB")  # fmt: skip
    assert {f["track_pk"] for f in found} == planted, "the planted tracks must come first"
    for label, filters in (("all tracks", {}), ("one camera", {"camera_id": "cam-7"})):
        times = []
        for _ in range(queries):
            query = unit(target + rng.standard_normal(len(target)).astype(np.float32) * 0.05)
            began = time.perf_counter()
            db.search_tracks(query, SPACE, since=since, limit=20, **filters)
            times.append(time.perf_counter() - began)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"warm search, {label}: p50 {statistics.median(times) * 1000:.0f} ms, "
              f"p95 {p95 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms ({queries} queries)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=256, help="the serving space's (sface+dlib)")
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    target = unit(rng.standard_normal(args.dim).astype(np.float32))
    name, url = scratch_database("tracks")
    try:
        db = Database(url)
        db.create_schema()
        planted = fill(name, args.tracks, args.dim, target, rng)
        bench(db, target, planted, args.queries, rng)
        db.close()
    finally:
        drop(name)


if __name__ == "__main__":
    main()
