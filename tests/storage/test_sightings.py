"""Database.record_sightings / search_sightings / purge_sightings on SQLite and MariaDB: exact
search across many pages equals a brute-force ranking, filters and spaces hold, purges batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from recognition.gallery import decode, encode
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


def test_search_over_many_pages_is_exact(db):
    faces = vectors(300, 1)
    now = datetime.now(UTC)
    ids = []
    for index, face in enumerate(faces):
        ids += db.record_sightings(
            recognized([sighting(face)]),
            camera_id=f"cam-{index % 3}",
            location_id="hall",
            recognized_at=now - timedelta(hours=index),
        )
    db.record_sightings(  # another space, and another size: never compared
        recognized([sighting(vectors(1, 2)[0])], "other-space"),
        camera_id="cam-0",
        location_id="hall",
    )
    db.record_sightings(
        recognized([sighting(vectors(1, 3, dim=128)[0])]),
        camera_id="cam-0",
        location_id="hall",
    )
    query = faces[17] + 0.5 * vectors(1, 4)[0]
    expected = decode(encode(faces)) @ (query / np.linalg.norm(query))
    order = np.argsort(-expected)

    ranked, searched = db.search_sightings(query, SPACE, limit=25, page_rows=7)
    assert searched == 300
    assert [row["id"] for row in ranked] == [ids[i] for i in order[:25]]
    assert ranked[0]["id"] == ids[17] and ranked[0]["camera_id"] == "cam-2"
    np.testing.assert_allclose([row["score"] for row in ranked], expected[order[:25]], atol=1e-5)
    assert ranked[0]["has_thumbnail"] and ranked[0]["threshold"] == 0.5

    one_camera, searched = db.search_sightings(
        query, SPACE, camera_id="cam-1", since=now - timedelta(hours=99, minutes=30), limit=500
    )
    assert searched == 33 and {row["camera_id"] for row in one_camera} == {"cam-1"}
    assert db.search_sightings(query, SPACE, location_id="nowhere")[1] == 0


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
    assert db.search_sightings(vectors(1, 1)[0], SPACE)[1] == 2
    assert db.sighting_thumbnail(rows[0]["id"] - 2) is None
