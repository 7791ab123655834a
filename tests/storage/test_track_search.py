"""Search by face ranks TRACKS (SQLite and MariaDB): each track's mean code chooses candidates
from the replica's in-memory index, its best crop ranks it; filters, spaces, tracks decided
again (a new change id) and tracks deleted since the index loaded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from storage.track_index import Changes, TrackIndex
from tests.storage.test_tracks import SPACE, judge, noisy, people, record  # noqa: F401 (fixtures)


def fresh_index(db) -> None:
    """The session's MariaDB Database outlives a test's rows: start this test's index anew."""
    db.__dict__.pop("_track_indexes", None)


def test_search_ranks_tracks_by_their_best_crop(db, judge, people):  # noqa: F811
    fresh_index(db)
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    rng = np.random.default_rng(3)
    strangers = [noisy(rng.standard_normal(256).astype(np.float32), i, 0.0) for i in range(30)]
    for i, face in enumerate(strangers):  # 30 one-crop tracks of strangers, on two cameras
        record(db, judge, face, key=f"s{i}", camera=f"cam-{i % 2}", at=start + timedelta(hours=i))
    for i in range(5):  # ann passes the door once: five crops, one track
        record(db, judge, noisy(people["ann"], i), key="ann", at=start + timedelta(seconds=i))
    query = noisy(people["ann"], 100)

    found, searched = db.search_tracks(query, SPACE, limit=3)
    assert searched == 31 and len(found) == 3
    best = found[0]
    assert (best["id"], best["camera_id"], best["crops"]) == ("ann", "door", 5)
    assert best["similarity"] >= best["track_similarity"] - 0.2 and best["similarity"] > 0.5
    assert best["sighting_id"] is not None and best["sighting_has_thumbnail"]
    assert best["best_recognition_id"] is not None
    assert found[1]["similarity"] < 0.3  # strangers are far below

    one_camera, searched = db.search_tracks(
        query, SPACE, camera_id="cam-1", since=start + timedelta(hours=10), limit=50
    )
    assert searched == 10 and {f["camera_id"] for f in one_camera} == {"cam-1"}
    assert db.search_tracks(query, SPACE, location_id="nowhere")[1] == 0
    assert db.search_tracks(query, "another-space")[1] == 0
    assert db.search_tracks(query[:128], SPACE)[1] == 0  # another size is never compared


def test_a_track_decided_again_and_a_deleted_track_are_seen(db, judge, people):  # noqa: F811
    fresh_index(db)
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    record(db, judge, noisy(people["bob"], 1), key="t", at=start)
    assert db.search_tracks(people["bob"], SPACE)[0][0]["crops"] == 1  # the index is loaded
    record(db, judge, noisy(people["bob"], 2), key="t", at=start + timedelta(seconds=1))
    found, searched = db.search_tracks(people["bob"], SPACE, since=start + timedelta(seconds=1))
    assert searched == 1 and found[0]["crops"] == 2  # the new change id replaced the row
    db.purge_tracks(start + timedelta(minutes=1))
    assert db.search_tracks(people["bob"], SPACE) == ([], 1)  # gone: dropped, then forgotten
    assert db.search_tracks(people["bob"], SPACE) == ([], 0)


def changes(ids, tracks, codes) -> Changes:
    n = len(ids)
    return Changes(
        np.array(ids, np.int64), np.array(tracks, np.int64), np.arange(n, dtype=np.int64),
        ["cam"] * n, [None] * n, np.array(codes, np.int8),
    )  # fmt: skip


@pytest.mark.parametrize("order", [1, -1])
def test_the_index_keeps_each_tracks_newest_row_whatever_order_rows_come_in(order):
    index = TrackIndex(2)
    rows = [(1, 7, [100, 0]), (2, 8, [0, 100]), (3, 7, [-100, 0])]
    index.apply(changes(*zip(*rows[::order], strict=True)))
    index.apply(changes([1], [7], [[100, 0]]))  # a re-read of an old row undoes nothing
    found, searched = index.search(np.array([-1.0, 0.0], np.float32), 1)
    assert searched == 2 and found == [(7, pytest.approx(1.0))]
