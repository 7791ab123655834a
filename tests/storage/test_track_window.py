"""The window an open track keeps on its row (storage/track_window.py) is exactly what reading
its crops would give, after every crop from its second (a new track's row is written before its
first crop's, so it keeps none until then); ending the track drops it, and so does deleting any
sighting in it (a person deleted, old sightings purged, a stranger's group dismissed), so no
decision or face shown ever comes from a forgotten crop. A database made before the column
existed gets it at start-up."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pytest
from sqlalchemy import create_engine, inspect, select, text

from storage import Database, TrackCropInfo
from storage.models import Track
from storage.track_joins import window
from storage.track_window import WINDOW, pack, unpack
from tests.storage.conftest import mariadb_url
from tests.storage.test_tracks import SPACE, crop_of, judge, noisy, people, record  # noqa: F401

CROPS_INDEX = "ix_recognitions_track_id_quality"  # a track's crops, best first


def kept_window(db, key: str, camera: str = "door"):
    """(the window the track's row keeps, the window its crops read back give)."""
    with db._transaction() as session:
        track = session.execute(
            select(Track.id, Track.crops, Track.best_crops).where(
                Track.camera_id == camera, Track.track_key == key
            )
        ).one()
        unkept = SimpleNamespace(id=track.id, crops=track.crops, best_crops=None)
        return unpack(track.best_crops, SPACE), window(session, unkept, SPACE)


def row_id(db, key: str) -> int:
    with db._transaction() as session:
        return session.scalar(select(Track.id).where(Track.track_key == key))


def test_the_kept_window_is_what_reading_the_crops_gives_after_every_crop(db, judge, people):  # noqa: F811
    """Qualities rise, fall and tie; some faces are not kept; more crops than a window holds."""
    rng = np.random.default_rng(3)
    qualities = [round(float(q), 1) for q in rng.uniform(0.1, 0.9, 2 * WINDOW + 4)]
    for i, quality in enumerate(qualities):
        seen = crop_of(noisy(people["ann"], i))
        if i % 5 == 0:  # its face not kept
            seen = dataclasses.replace(
                seen, sightings=[dataclasses.replace(seen.sightings[0], thumbnail=b"")]
            )
        info = TrackCropInfo(key="w", subject=0, quality=quality, grey=bool(i % 3 == 0))
        db.record_track_sightings(seen, info, judge.decide, camera_id="door", location_id=None)
        kept, read = kept_window(db, "w")
        assert kept == (read if i else None), f"after crop {i}"
    assert len(kept) == WINDOW


def test_an_ended_track_keeps_no_window_and_a_crop_after_its_end_reads_its_crops(db, judge, people):  # noqa: F811
    for i in range(5):
        record(db, judge, noisy(people["bob"], i), key="e")
    assert kept_window(db, "e")[0] is not None
    db.end_track("door", "e")
    assert kept_window(db, "e")[0] is None
    _, track = record(db, judge, noisy(people["bob"], 9), key="e")
    assert track["faces"] == 6 and track["crops"] == 6
    kept, read = kept_window(db, "e")
    assert kept == read
    old = datetime.now(UTC) - timedelta(minutes=5)
    record(db, judge, noisy(people["bob"], 10), key="quiet", at=old)
    db.close_quiet_tracks(datetime.now(UTC) - timedelta(minutes=1))
    assert kept_window(db, "quiet")[0] is None


def test_deleting_a_sighting_in_a_window_drops_the_window(db, judge, people):  # noqa: F811
    """Each way sightings are deleted drops the windows holding them, and only those."""
    db.add_person("ann")
    old = datetime.now(UTC) - timedelta(days=40)
    record(db, judge, noisy(people["cid"], 1), key="old", at=old)
    record(db, judge, noisy(people["cid"], 2), key="old")  # the track is still open, recent
    for key in ("named", "stranger", "untouched"):
        for seed in (3, 5):  # two crops: a track keeps a window from its second
            record(db, judge, noisy(people["cid"], seed), key=key)
    named = crop_of(noisy(people["cid"], 4), label="ann")  # the track stays a stranger's
    named = dataclasses.replace(named, enrolled=frozenset({"ann"}))  # a sighting of ann's
    info = TrackCropInfo(key="named", subject=0, quality=0.5, grey=False)
    db.record_track_sightings(named, info, judge.decide, camera_id="door", location_id=None)

    db.purge_sightings(datetime.now(UTC) - timedelta(days=30))
    assert kept_window(db, "old")[0] is None
    db.delete_person("ann")
    assert kept_window(db, "named")[0] is None
    (group,) = db.assign_unknown_tracks(SPACE, [(row_id(db, "stranger"), None)])
    db.delete_unknown_group(group)
    assert kept_window(db, "stranger")[0] is None
    kept, read = kept_window(db, "untouched")
    assert kept is not None and kept == read


def test_a_window_of_another_embedding_space_is_not_used():
    blob = pack([], "a@1", 128)
    assert unpack(blob, "a@1") == [] and unpack(blob, "b@1") is None
    assert unpack(None, "a@1") is None and unpack(b"\x01", "a@1") is None


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def test_a_database_made_before_the_window_and_the_crops_index_gets_them_at_start(
    backend,
    request,
    tmp_path,
    judge,  # noqa: F811
    people,  # noqa: F811
):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/old.db"
    else:
        url = mariadb_url(request.getfixturevalue("scratch_mariadb")("old_schema"))
    Database(url).create_schema()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE tracks DROP COLUMN best_crops"))
        if backend == "mariadb":  # an upgraded database's column has no foreign key
            connection.execute(
                text("ALTER TABLE recognitions DROP FOREIGN KEY fk_recognitions_track_id")
            )
            connection.execute(text(f"DROP INDEX {CROPS_INDEX} ON recognitions"))
        else:
            connection.execute(text(f"DROP INDEX {CROPS_INDEX}"))
    assert CROPS_INDEX not in indexes(engine)
    db = Database(url)
    db.create_schema()
    db.create_schema()  # once they are there, nothing to add
    assert CROPS_INDEX in indexes(engine)
    engine.dispose()
    for seed in (1, 2):
        _, track = record(db, judge, noisy(people["ann"], seed), key="after-upgrade")
    assert track["crops"] == 2 and kept_window(db, "after-upgrade")[0] is not None
    db.close()


def indexes(engine) -> set[str]:
    return {index["name"] for index in inspect(engine).get_indexes("recognitions")}
