"""Sightings at scale on the real MariaDB (search by face ranks tracks: track_search.py): what keeping a
face (thumbnail + embedding) adds to a store-results, and the bytes a sighting takes.

    .venv/bin/python benchmarks/sightings.py                 # 1,000,000 sightings
    .venv/bin/python benchmarks/sightings.py --sightings 100000

The sightings are synthetic (256-d unit vectors around 20,000 identities, as the default
embedder's), bulk-inserted into a scratch database that is dropped at the end, for their bytes:
nothing searches sightings any more. The store-results cost is measured with real
faces (tests/data/people), through `Database.record_sightings`, against the same rows without
their faces (`Database.store_recognitions`), plus encoding the thumbnail.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pymysql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scratch import MARIADB, bulk_connection, drop, scratch_database  # noqa: E402
from recognition import FaceAnalyzer, load_image  # noqa: E402
from recognition.gallery import encode  # noqa: E402
from recognition.sighting import recognize, thumbnail  # noqa: E402
from storage import Database  # noqa: E402

DIM, IDENTITIES, PLANTED, SPACE = 256, 20_000, 40, "bench-space"
INSERT_ROWS = 5_000
THUMBNAIL_ROWS = 20_000
PEOPLE = ROOT / "tests" / "data" / "people"


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def synthetic(count: int, dim: int, planted: int, target: np.ndarray, rng, batch: int):
    """The planted ids, and batches of (ids, int8 codes, times over the last 29 days): unit
    vectors around IDENTITIES random identities, the planted ids near `target`. The rows both
    scale benchmarks (this one and track_search.py) insert."""
    centres = unit(rng.standard_normal((IDENTITIES, dim)).astype(np.float32))
    chosen = set(rng.choice(np.arange(1, count + 1), planted, replace=False).tolist())
    now = datetime.now(UTC).replace(tzinfo=None)

    def batches():
        for start in range(1, count + 1, batch):
            ids = list(range(start, min(start + batch, count + 1)))
            noise = rng.standard_normal((len(ids), dim)).astype(np.float32)
            vectors = centres[rng.integers(0, IDENTITIES, len(ids))] + noise * 0.06
            for row, key in enumerate(ids):
                if key in chosen:
                    vectors[row] = target + noise[row] * 0.05
            ages = rng.uniform(0, 29 * 86400, len(ids))
            yield ids, encode(unit(vectors)), [now - timedelta(seconds=float(s)) for s in ages]

    return chosen, batches()


def fill(name: str, count: int, target: np.ndarray, jpegs: list[bytes], rng) -> set[int]:
    """`count` sightings over the last 29 days; PLANTED of them near `target` (their ids); the
    first THUMBNAIL_ROWS with real thumbnails (`jpegs`, cycled)."""
    planted, batches = synthetic(count, DIM, PLANTED, target, rng, INSERT_ROWS)
    connection = bulk_connection(name)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        for ids, codes, times in batches:
            seen = [(i, f"cam-{i % 50}", at) for i, at in zip(ids, times, strict=True)]
            cursor.executemany(
                "INSERT INTO recognitions (id, person_id, label, confidence, camera_id, "
                "location_id, box_left, box_top, box_right, box_bottom, model_version, "
                "recognized_at, threshold, embedding_space, code) VALUES "
                "(%s, NULL, 'unknown', 0.3, %s, 'site', 10, 20, 110, 140, 'v1', %s, 0.5, %s, %s)",
                [(*row, SPACE, code.tobytes()) for row, code in zip(seen, codes, strict=True)],
            )
            if ids[0] <= THUMBNAIL_ROWS:  # enough for InnoDB's size figure to be right
                cursor.executemany(
                    "INSERT INTO sighting_thumbnails (recognition_id, jpeg) VALUES (%s, %s)",
                    [(i, jpegs[i % len(jpegs)]) for i in ids],
                )
            connection.commit()
    connection.close()
    print(f"inserted {count:,} sightings in {time.perf_counter() - began:.0f} s")
    return planted


def table_bytes(name: str) -> dict[str, tuple[int, int]]:
    """(data + index bytes after ANALYZE, rows) of each table."""
    with pymysql.connect(**MARIADB, database=name) as connection, connection.cursor() as cursor:
        for table in ("recognitions", "sighting_thumbnails"):
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()
        cursor.execute(
            "SELECT table_name, data_length + index_length "
            "FROM information_schema.tables WHERE table_schema = %s",
            (name,),
        )
        sizes = dict(cursor.fetchall())
        counted = {}
        for table, size in sizes.items():
            cursor.execute(f"SELECT COUNT(*) FROM `{table}`")  # table_rows is an estimate
            counted[table] = (int(size), int(cursor.fetchone()[0]))
        return counted


def real_sightings(analyzer: FaceAnalyzer) -> list[tuple[np.ndarray, list]]:
    """(image, its sightings with thumbnails) of every photo in tests/data/people."""
    scenes = []
    for path in sorted(PEOPLE.rglob("*.jpg")):
        rgb = load_image(path.read_bytes())
        seen = recognize(analyzer, None, rgb)
        if seen.sightings:
            scenes.append((rgb, replace(seen, embedding_space=SPACE)))
    return scenes


def bench_store(url: str, scenes: list, rounds: int) -> dict:
    """Per sighting, interleaved so both see the same load: record_sightings (row + code +
    thumbnail, what store-results does) vs the row alone (store_recognitions); and encoding the
    thumbnail (done while recognising, before any storage)."""
    db = Database(url)
    db.create_schema()
    encoding = []
    for rgb, seen in scenes:  # apart: OpenCV's threads spin a while after, slowing what follows
        began = time.perf_counter()
        for s in seen.sightings:
            thumbnail(rgb, s.box)
        encoding.append((time.perf_counter() - began) / len(seen.sightings))
    with_faces, rows_only = [], []
    for _ in range(rounds):
        for _rgb, seen in scenes:
            began = time.perf_counter()
            db.record_sightings(seen, camera_id="cam", location_id="site")
            with_faces.append((time.perf_counter() - began) / len(seen.sightings))
            rows = [{"label": s.label, "score": s.score, "box": s.box} for s in seen.sightings]
            began = time.perf_counter()
            db.store_recognitions(rows)
            rows_only.append((time.perf_counter() - began) / len(seen.sightings))
    db.close()
    return {
        "record_ms": statistics.median(with_faces) * 1e3,
        "row_only_ms": statistics.median(rows_only) * 1e3,
        # The least disturbed decile: on a shared disk, fsync at COMMIT varies by milliseconds.
        "record_p10_ms": statistics.quantiles(with_faces, n=10)[0] * 1e3,
        "row_only_p10_ms": statistics.quantiles(rows_only, n=10)[0] * 1e3,
        "thumbnail_ms": statistics.median(encoding) * 1e3,
        "samples": len(with_faces),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sightings", type=int, default=1_000_000)
    parser.add_argument("--store-rounds", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(12)
    target = unit(rng.standard_normal((1, DIM)).astype(np.float32))[0]
    scenes = real_sightings(FaceAnalyzer.from_bundle(ROOT / "models"))
    thumbnail_bytes = statistics.mean(
        len(s.thumbnail) for _, seen in scenes for s in seen.sightings
    )
    with tempfile.TemporaryDirectory() as folder:
        sqlite = bench_store(f"sqlite:///{folder}/facerec.db", scenes, args.store_rounds)
    name, url = scratch_database()
    try:
        mariadb = bench_store(url, scenes, args.store_rounds)
        with pymysql.connect(**MARIADB, database=name, autocommit=True) as c, c.cursor() as cur:
            cur.execute("DELETE FROM recognitions")
        jpegs = [s.thumbnail for _, seen in scenes for s in seen.sightings]
        fill(name, args.sightings, target, jpegs, rng)
        sizes = table_bytes(name)
    finally:
        drop(name)
    row_bytes = sizes["recognitions"][0] / max(sizes["recognitions"][1], 1)
    thumb_size, thumb_rows = sizes["sighting_thumbnails"]
    thumb_bytes = thumb_size / max(thumb_rows, 1)
    print(f"\n{args.sightings:,} sightings in MariaDB, {DIM}-d int8 codes")
    print("| measure | value |")
    print("|---|---|")
    for backend, store in (("MariaDB", mariadb), ("SQLite", sqlite)):
        for figure, key in (("median", ""), ("p10", "_p10")):
            with_face, row = store[f"record{key}_ms"], store[f"row_only{key}_ms"]
            print(
                f"| {backend} store per sighting ({figure} of {store['samples']}): row + code "
                f"+ thumbnail / row alone / added | {with_face:.2f} / {row:.2f} / "
                f"{with_face - row:+.2f} ms |"
            )
    print(f"| encode the thumbnail (while recognising) | {mariadb['thumbnail_ms']:.2f} ms |")
    print(f"| recognitions row (data + indexes, the codes in it) | {row_bytes:.0f} B |")
    print(
        f"| sighting_thumbnails row (JPEG {thumbnail_bytes:.0f} B on average; InnoDB's "
        f"figure over {thumb_rows} rows) | {thumb_bytes:.0f} B |"
    )
    print(f"| a sighting in all | {row_bytes + thumb_bytes:.0f} B |")


if __name__ == "__main__":
    main()
