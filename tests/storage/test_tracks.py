"""Tracks on SQLite and MariaDB: one row per person passing a camera, decided over its best
crops; concurrent crops of one track (two replicas) lose none of each other's evidence. Track
events: one 'start', a 'label' only when the label changes, one 'end' (by the edge or after a
quiet period, once however many replicas close it)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from recognition import UNKNOWN, FaceClassifier
from recognition.gallery import encode
from recognition.sighting import Recognized, Sighting
from recognition.tracks import TRACK_EVIDENCE, TrackJudge
from storage import NotFound, TrackCropInfo
from storage.models import Recognition
from storage.track_joins import WINDOW
from tests.storage.conftest import empty

SPACE = "sface+dlib@test"
DIM = 256


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, np.float32)
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def people() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {name: unit(rng.standard_normal(DIM)) for name in ("ann", "bob", "cid")}


@pytest.fixture(scope="module")
def judge(people) -> TrackJudge:
    rng = np.random.default_rng(8)
    names = [name for name in people for _ in range(3)]
    faces = unit([people[name] + 0.3 * unit(rng.standard_normal(DIM)) for name in names])
    return TrackJudge(FaceClassifier.fit(faces, names, 0.5, SPACE), 0.01)


def crop_of(vector: np.ndarray, label: str = UNKNOWN) -> Recognized:
    sighting = Sighting(
        box=(10.0, 10.0, 90.0, 100.0),
        landmarks=np.zeros((5, 2), np.float32),
        embedding=vector,
        codes=encode(vector[None])[0].tobytes(),
        label=label,
        score=0.0,
        threshold=None,
        thumbnail=b"\xff\xd8jpeg",
    )
    return Recognized([sighting], 1, "v1", SPACE, frozenset())


def noisy(vector: np.ndarray, seed: int, noise: float = 0.35) -> np.ndarray:
    return unit(vector + noise * unit(np.random.default_rng(seed).standard_normal(DIM)))


def record(db, judge, vector, key="t1", camera="door", quality=0.5, at=None, single=False):
    """(sighting ids, the track) of one recorded crop."""
    return record_with_events(db, judge, vector, key, camera, quality, at, single)[:2]


def record_with_events(
    db, judge, vector, key="t1", camera="door", quality=0.5, at=None, single=False
):
    info = TrackCropInfo(key=key, subject=0, quality=quality, grey=False, single=single)
    return db.record_track_sightings(
        crop_of(vector), info, judge.decide, camera_id=camera, location_id="hall", recognized_at=at
    )


def test_a_track_is_one_row_decided_over_its_best_crops(db, judge, people):
    for name in people:
        db.add_person(name)
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    for i in range(TRACK_EVIDENCE + 3):
        ids, track = record(db, judge, noisy(people["ann"], i), at=start + timedelta(seconds=i))
    assert len(ids) == 1
    assert track["label"] == "ann" and track["person_id"] == "ann"
    assert track["crops"] == TRACK_EVIDENCE + 3 and track["faces"] == TRACK_EVIDENCE
    assert track["first_seen_at"].replace(tzinfo=UTC) == start
    assert track["best_recognition_id"] is not None
    record(db, judge, noisy(people["bob"], 99), key="t1", camera="gate", at=start)
    rows, total = db.tracks(camera="door")
    assert total == 1 and rows[0]["id"] == "t1" and rows[0]["label"] == "ann"
    assert db.tracks(person="bob")[1] == 1 and db.tracks(person=UNKNOWN)[1] == 0
    assert db.tracks(since=start + timedelta(seconds=5))[1] == 1  # door's last crop is later
    assert db.end_track("door", "t1")[0]["ended_at"] is not None
    with pytest.raises(NotFound):
        db.track("door", "never-seen")


def test_a_track_longer_than_one_read_decides_on_its_best_faces_and_shows_its_best_kept(
    db, judge, people
):
    """A crop reads its track's best WINDOW crops once; a track whose best crops are all in
    another embedding space (a model switched mid-track) or all without a face kept is read
    again for its evidence and its best kept face, as the readers of tracks see it."""
    db.add_person("ann")
    other_space = dataclasses.replace(crop_of(noisy(people["bob"], 0)), embedding_space="x@1")
    faceless = crop_of(noisy(people["ann"], 0))
    faceless = dataclasses.replace(
        faceless, sightings=[dataclasses.replace(faceless.sightings[0], thumbnail=b"")]
    )
    for key, first, then in [("a", other_space, faceless), ("b", faceless, other_space)]:
        for seen, quality in [(first, 0.9)] * WINDOW + [(then, 0.5)] * WINDOW:
            info = TrackCropInfo(key=key, subject=0, quality=quality, grey=False)
            db.record_track_sightings(seen, info, judge.decide, camera_id="door", location_id=None)
        ids, track = record(db, judge, noisy(people["ann"], 1), key=key, quality=0.2)
        assert track["crops"] == 2 * WINDOW + 1
        assert track["label"] == "ann" and track["faces"] == TRACK_EVIDENCE
        assert track["best_recognition_id"] == db.track("door", key)["best_recognition_id"]
        assert track["best_recognition_id"] not in (None, ids[0])  # an other-space crop, kept


def test_a_stranger_track_stays_unknown_and_crops_of_other_tracks_do_not_mix(db, judge, people):
    stranger = unit(np.random.default_rng(123).standard_normal(DIM))
    for i in range(5):
        _, track = record(db, judge, noisy(stranger, i), key="s")
    assert track["label"] == UNKNOWN and track["person_id"] is None and track["faces"] == 5
    _, other = record(db, judge, noisy(stranger, 9), key="s2")
    assert other["crops"] == 1 and db.track("door", "s")["crops"] == 5


def test_deleting_a_person_forgets_their_tracks_and_purging_drops_old_ones(db, judge, people):
    db.add_person("ann")
    old = datetime.now(UTC) - timedelta(days=40)
    record(db, judge, noisy(people["ann"], 1), key="a", at=old)
    record(db, judge, noisy(people["ann"], 2), key="b")
    assert db.tracks(person="ann")[1] == 2
    assert db.purge_tracks(datetime.now(UTC) - timedelta(days=30)) == 1
    db.delete_person("ann")
    assert db.tracks()[1] == 0


@pytest.mark.mariadb
def test_concurrent_crops_of_one_track_lose_no_evidence(mariadb_database, judge, people):
    db = mariadb_database
    db.add_person("cid")
    barrier = threading.Barrier(2)
    errors = []

    def replica(seed: int) -> None:
        try:
            barrier.wait()
            for i in range(10):
                record(db, judge, noisy(people["cid"], seed + i), key="busy", quality=i / 10)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=replica, args=(seed,)) for seed in (100, 200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    track = db.track("door", "busy")
    assert track["crops"] == 20 and track["faces"] == TRACK_EVIDENCE and track["label"] == "cid"


def kinds(db, camera=None) -> list[tuple[str, str, str]]:
    return [
        (e["track"]["id"], e["kind"], e["label"]) for e in db.track_events_after(0, 100, camera)
    ]


def test_a_track_has_one_start_a_label_per_change_and_one_end(db, judge, people):
    db.add_person("ann")
    stranger = unit(np.random.default_rng(5).standard_normal(DIM))
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    written = []
    # Two strangers' crops first (unknown), then ann's: the label changes once the mean does.
    vectors = [noisy(stranger, 1), noisy(stranger, 2)] + [
        noisy(people["ann"], i) for i in range(12)
    ]
    for i, vector in enumerate(vectors):
        written += record_with_events(db, judge, vector, at=start + timedelta(seconds=i))[2]
    assert [e["kind"] for e in written] == ["start", "label"]
    assert written[0]["label"] == UNKNOWN and written[1]["label"] == "ann"
    assert written[1]["track"]["faces"] >= 2 and written[1]["camera_id"] == "door"
    track, ended = db.end_track("door", "t1", start + timedelta(minutes=1))
    assert [e["kind"] for e in ended] == ["end"] and track["ended_at"] is not None
    assert db.end_track("door", "t1")[1] == []  # closed already: no second end
    assert kinds(db) == [("t1", "start", UNKNOWN), ("t1", "label", "ann"), ("t1", "end", "ann")]
    assert [e["id"] for e in db.track_events_after(0)] == [e["id"] for e in written + ended]
    assert db.last_track_event_id() == ended[0]["id"]
    # A later crop reopens it: a new start, and the quiet period ends it again.
    reopened = record_with_events(
        db, judge, noisy(people["ann"], 50), at=start + timedelta(minutes=2)
    )
    assert [e["kind"] for e in reopened[2]] == ["start"]
    closed = db.close_quiet_tracks(start + timedelta(minutes=3))
    assert [(e["kind"], e["track"]["id"]) for e in closed] == [("end", "t1")]
    assert db.close_quiet_tracks(start + timedelta(minutes=3)) == []


def test_a_crop_without_a_track_is_one_start_already_ended(db, judge, people):
    _, track, events = record_with_events(db, judge, people["bob"], key="crop-1", single=True)
    assert track["ended_at"] is not None and [e["kind"] for e in events] == ["start"]
    assert db.close_quiet_tracks(datetime.now(UTC) + timedelta(hours=1)) == []
    assert db.end_track("door", "crop-1")[1] == []
    record(db, judge, people["bob"], key="other", camera="gate")
    assert kinds(db, "door") == [("crop-1", "start", UNKNOWN)]
    assert [k for _t, k, _l in kinds(db, "gate")] == ["start"]


def test_a_crop_alone_is_decided_as_the_first_crop_of_a_track(db, judge, people):
    db.add_person("ann")
    alone = record(db, judge, noisy(people["ann"], 3), key="crop-a", single=True)[1]
    joined = record(db, judge, noisy(people["ann"], 3), key="edge-1")[1]
    same = ("label", "person_id", "score", "threshold", "faces", "crops", "model_version")
    assert alone["label"] == "ann" and alone["best_recognition_id"] is not None
    assert {k: alone[k] for k in same} == {k: joined[k] for k in same}
    assert db.track("door", "crop-a") == alone
    found, _ = db.search_tracks(noisy(people["ann"], 3), SPACE, limit=5)
    assert [t["similarity"] for t in found[:2]] == [pytest.approx(1.0, abs=0.01)] * 2
    assert {t["id"] for t in found[:2]} == {"crop-a", "edge-1"}  # both searchable


def test_a_crop_alone_whose_key_is_taken_joins_that_track(db, judge, people):
    """The store's transaction survives the duplicate key: the crop is recorded, into the
    track that holds the key, which stays ended (a crop alone ends its track at once)."""
    first_ids, _ = record(db, judge, people["bob"], key="crop-1", single=True)
    ids, track, events = record_with_events(db, judge, people["bob"], key="crop-1", single=True)
    assert ids[0] > first_ids[0] and track["crops"] == 2 and track["ended_at"] is not None
    assert [e["kind"] for e in events] == ["start"]
    assert db.track("door", "crop-1")["crops"] == 2


def test_a_purged_track_leaves_its_sightings_unlinked(db, judge, people):
    """Tracks and sightings have retention each: a track purged first keeps its crops' rows
    (every recognition is recorded), which no longer name it."""
    ids, _ = record(db, judge, people["cid"], key="gone", at=datetime.now(UTC) - timedelta(days=2))
    assert db.purge_tracks(datetime.now(UTC) - timedelta(days=1)) == 1
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(Recognition.id, Recognition.track_id, Recognition.quality)
        ).all()
    assert [tuple(r) for r in rows] == [(ids[0], None, 0.5)]


def test_quiet_tracks_close_once_and_recent_ones_stay_open(db, judge, people):
    now = datetime.now(UTC)
    record(db, judge, people["cid"], key="old", at=now - timedelta(seconds=30))
    record(db, judge, people["cid"], key="new", at=now)
    closed = db.close_quiet_tracks(now - timedelta(seconds=10), limit=10)
    assert [e["track"]["id"] for e in closed] == ["old"]
    assert db.track("door", "old")["ended_at"] is not None
    assert db.track("door", "new")["ended_at"] is None


def test_deleting_a_person_or_purging_takes_their_track_events(db, judge, people):
    db.add_person("ann")
    record(db, judge, noisy(people["ann"], 1), key="a", at=datetime.now(UTC) - timedelta(days=40))
    record(db, judge, noisy(people["ann"], 2), key="b")
    record(db, judge, people["bob"], key="c")
    assert len(db.track_events_after(0)) == 3
    db.purge_tracks(datetime.now(UTC) - timedelta(days=30))
    db.delete_person("ann")
    assert kinds(db) == [("c", "start", UNKNOWN)]


@pytest.mark.mariadb
def test_replicas_closing_the_same_quiet_tracks_write_one_end_each(mariadb_database, judge, people):
    db = mariadb_database
    empty(db)
    old = datetime.now(UTC) - timedelta(minutes=5)
    for n in range(30):
        record(db, judge, noisy(people["bob"], n), key=f"q{n}", at=old)
    barrier = threading.Barrier(3)
    closed, errors = [], []

    def replica() -> None:
        try:
            barrier.wait()
            while events := db.close_quiet_tracks(datetime.now(UTC), limit=7):
                closed.extend(events)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=replica) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(e["track"]["id"] for e in closed) == sorted(f"q{n}" for n in range(30))
    ends = [k for _t, k, _l in kinds(db) if k == "end"]
    assert len(ends) == 30
