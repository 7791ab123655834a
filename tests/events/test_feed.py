"""facerec-events' Feed of track events on a real SQLite database, in one process: one poll serves every stream,
the recent window is preloaded at start, a stream resuming from further back reads its gap from
the database, and a database outage during that read only makes the stream wait."""

from __future__ import annotations

import asyncio
import itertools
import json

import numpy as np
import pytest

from api import events_server
from api.events_server import Feed
from recognition.tracks import undecided
from storage import Database, DatabaseUnavailable, TrackCropInfo
from tests.storage.test_tracks import crop_of


def rows(db, count: int, camera: str = "door") -> None:
    """`count` crops sent without a track id: a track each, one 'start' event each."""
    for _ in range(count):
        n = next(numbers)
        vector = np.random.default_rng(n).standard_normal(256).astype(np.float32)
        info = TrackCropInfo(key=f"crop-{n}", subject=0, quality=0.5, grey=False, single=True)
        db.record_track_sightings(
            crop_of(vector / np.linalg.norm(vector)),
            info,
            lambda embeddings, *_: undecided(len(embeddings)),
            camera_id=camera,
            location_id="hall",
        )


numbers = itertools.count()


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/facerec.db")
    database.create_schema()
    return database


def ids(texts: list[str]) -> list[int]:
    events = [json.loads(t.split("data: ", 1)[1]) for t in texts]
    assert all(
        t.startswith(f"id: {e['id']}\nevent: track\n") for t, e in zip(texts, events, strict=True)
    )
    assert all(e["kind"] == "start" and e["track"]["ended"] for e in events)
    return [e["id"] for e in events]


def test_the_window_is_preloaded_and_one_poll_serves_every_camera(db, monkeypatch):
    monkeypatch.setattr(events_server, "PRELOAD_IDS", 5)
    rows(db, 8)

    async def scenario():
        feed = Feed(db, poll_seconds=1.0)
        await feed.poll_once()
        assert (feed.floor, feed.head) == (3, 8)  # ids 4-8 in memory
        rows(db, 2, "gate")
        rows(db, 1, "door")
        woken = asyncio.create_task(feed.wait(5))
        await feed.poll_once()
        assert await woken
        everything, cursor = await feed.catch_up(8, None)
        door, _ = await feed.catch_up(8, "door")
        resumed, _ = await feed.catch_up(5, "door")  # in memory: no query
        return ids(everything), cursor, ids(door), ids(resumed)

    everything, cursor, door, resumed = asyncio.run(scenario())
    assert everything == [9, 10, 11] and cursor == 11
    assert door == [11] and resumed == [6, 7, 8, 11]


def test_a_gap_below_the_window_is_read_from_the_database(db, monkeypatch):
    monkeypatch.setattr(events_server, "PRELOAD_IDS", 2)
    rows(db, 6)

    async def scenario():
        feed = Feed(db, poll_seconds=1.0)
        await feed.poll_once()
        gap, cursor = await feed.catch_up(1, "door")
        rest, cursor = await feed.catch_up(cursor, "door")
        return feed.floor, ids(gap), ids(rest), cursor

    floor, gap, rest, cursor = asyncio.run(scenario())
    assert floor == 4 and gap == [2, 3, 4, 5, 6] and rest == [] and cursor == 6


def test_a_database_outage_while_reading_a_gap_only_delays_the_stream(db, monkeypatch):
    monkeypatch.setattr(events_server, "PRELOAD_IDS", 1)
    rows(db, 4)

    def down(*_args):
        raise DatabaseUnavailable("down")

    async def scenario():
        feed = Feed(db, poll_seconds=1.0)
        await feed.poll_once()
        monkeypatch.setattr(events_server, "read_events", down)
        return await feed.catch_up(0, None)

    assert asyncio.run(scenario()) == ([], 0)
