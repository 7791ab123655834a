"""Database.record_sightings / purge_sightings on SQLite and MariaDB: faces kept with their
rows, purges batch (search by face ranks tracks: test_track_search.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from recognition.gallery import encode
from recognition.sighting import Recognized, Sighting

SPACE = "sface+dlib:test"


def sighting(embedding, label="unknown", thumbnail=b"\xff\xd8jpeg") -> Sighting:
    return Sighting(
        box=(10.0, 20.0, 60.0, 80.0),
        landmarks=np.zeros((5, 2), np.float32),
        embedding=embedding,
        codes=encode(np.asarray(embedding, np.float32)[None])[0].tobytes(),
        label=label,
        score=0.25,
        threshold=0.5,
        thumbnail=thumbnail,
    )


def recognized(sightings, space=SPACE) -> Recognized:
    return Recognized(sightings, len(sightings), None, space, frozenset())


def vectors(count: int, seed: int, dim: int = 256) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_purge_deletes_old_sightings_in_batches_with_their_faces(db):
    now = datetime.now(UTC)
    for days in (40, 35, 31, 1):
        db.record_sightings(
            recognized([sighting(vectors(1, days)[0])] * 2),
            camera_id="door",
            location_id="hall",
            recognized_at=now - timedelta(days=days),
        )
    assert db.purge_sightings(now - timedelta(days=30), batch_rows=4, pause=0) == 6
    rows, total = db.recognitions()
    assert total == 2
    assert db.sightings_with_thumbnails(row["id"] for row in rows) == {r["id"] for r in rows}
    assert db.sighting_thumbnail(rows[0]["id"] - 2) is None
