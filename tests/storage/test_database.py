"""Every Database method, on SQLite and on the real MariaDB."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select, text

from recognition.tracks import TrackDecision
from storage import (
    AlreadyExists,
    Database,
    DatabaseUnavailable,
    ImageTooLarge,
    NotFound,
    TrackCropInfo,
)
from storage.models import Embedding, Image, Recognition
from storage.operator_models import ApiKey

from .conftest import unit_vector
from .test_tracks import crop_of, unit

BUNDLE = "bundle-a"


def count(db: Database, model) -> int:
    with db.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def stored_keys(db: Database) -> dict[str, str]:
    with db.engine.connect() as connection:
        return dict(connection.execute(select(ApiKey.key_sha256, ApiKey.scope)).all())


def test_ping_and_schema_is_idempotent(db):
    assert db.ping()
    db.create_schema()
    assert db.list_people() == []


def test_people_add_list_delete(db):
    db.add_person("obama")
    db.add_person("biden")
    db.add_person("Obama")  # ids compare byte for byte on both backends
    assert db.list_people() == [("Obama", 0), ("biden", 0), ("obama", 0)]
    with pytest.raises(AlreadyExists):
        db.add_person("obama")
    assert db.person_exists("obama") and not db.person_exists("nobody")
    db.delete_person("Obama")
    assert [person for person, _ in db.list_people()] == ["biden", "obama"]
    with pytest.raises(NotFound):
        db.delete_person("Obama")


@pytest.mark.parametrize("bad", ["", "x" * 65, None, 42])
def test_ids_are_checked(db, bad):
    with pytest.raises(ValueError):
        db.add_person(bad)


def test_add_image_stores_bytes_once_per_person(db, face_images):
    photo = face_images["obama"][0]
    db.add_person("obama")
    db.add_person("biden")
    image_id, created = db.add_image("obama", photo, unit_vector(1), BUNDLE)
    assert created
    assert db.add_image("obama", photo, unit_vector(2), BUNDLE) == (image_id, False)
    other_id, created = db.add_image("biden", photo, unit_vector(3), BUNDLE)
    assert created and other_id != image_id
    assert db.list_people() == [("biden", 1), ("obama", 1)]
    with db.engine.connect() as connection:
        stored = connection.execute(select(Image.sha256, Image.data).where(Image.id == image_id))
        sha256, data = stored.one()
    assert data == photo and sha256 == hashlib.sha256(photo).hexdigest()
    # the repeat did not overwrite the first embedding
    embeddings, labels = db.training_set(BUNDLE)
    assert labels == ["obama", "biden"]
    np.testing.assert_array_equal(embeddings[0], unit_vector(1))
    db.add_image("obama", face_images["obama"][1], unit_vector(4), BUNDLE)
    assert [db.count_images(p) for p in ("obama", "biden", "nobody")] == [2, 1, 0]


def test_add_image_refuses_unknown_person_and_bad_input(db, face_images):
    photo = face_images["biden"][0]
    with pytest.raises(NotFound):
        db.add_image("ghost", photo, unit_vector(1), BUNDLE)
    db.add_person("biden")
    with pytest.raises(ValueError):
        db.add_image("biden", photo, np.zeros(100), BUNDLE)
    with pytest.raises(ValueError):
        db.add_image("biden", photo, np.full(512, np.nan), BUNDLE)
    with pytest.raises(ValueError):
        db.add_image("biden", b"", unit_vector(1), BUNDLE)
    assert count(db, Image) == 0


def random_bytes(size: int) -> bytes:
    return np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()


def test_a_large_image_survives_and_a_too_large_one_is_refused_cleanly(db):
    """MariaDB's BLOB stops at 64 KiB (the column must be a LONGBLOB), and a statement above
    max_allowed_packet drops the connection: refuse such an image before sending it."""
    db.add_person("big")
    limit = db.max_image_bytes()
    size = min(limit, 10 * 1024 * 1024)  # the default upload limit
    assert size > 4 * 1024 * 1024
    data = random_bytes(size)
    image_id, _ = db.add_image("big", data, unit_vector(1), BUNDLE)
    assert list(db.iter_images()) == [(image_id, "big", data)]
    if limit < 10**9:
        with pytest.raises(ImageTooLarge):
            db.add_image("big", random_bytes(limit + 1), unit_vector(2), BUNDLE)
        assert db.ping() and db.list_people() == [("big", 1)]


def test_delete_person_cascades(db, face_images):
    for person in ("obama", "biden"):
        db.add_person(person)
        for seed, photo in enumerate(face_images[person]):
            db.add_image(person, photo, unit_vector(seed), BUNDLE)
    db.store_recognitions([recognition("obama"), recognition("biden"), recognition(None)])
    db.delete_person("obama")
    assert count(db, Image) == len(face_images["biden"])
    assert count(db, Embedding) == len(face_images["biden"])
    assert count(db, Recognition) == 2
    assert set(db.training_set(BUNDLE)[1]) == {"biden"}


def test_iter_images_walks_everything_in_batches(db, face_images):
    expected = []
    for person, photos in face_images.items():
        db.add_person(person)
        for seed, photo in enumerate(photos):
            image_id, _ = db.add_image(person, photo, unit_vector(seed), BUNDLE)
            expected.append((image_id, person, photo))
    assert list(db.iter_images(batch_size=3)) == sorted(expected)


def test_replace_embedding_and_training_set_by_bundle(db, face_images):
    db.add_person("kit")
    ids = [
        db.add_image("kit", p, unit_vector(i), BUNDLE)[0]
        for i, p in enumerate(face_images["kit_harington"])
    ]
    db.replace_embedding(ids[0], unit_vector(100), "bundle-b")
    embeddings, labels = db.training_set("bundle-b")
    assert embeddings.shape == (1, 512) and embeddings.dtype == np.float32
    np.testing.assert_array_equal(embeddings[0], unit_vector(100))
    assert labels == ["kit"]
    assert db.training_set(BUNDLE)[0].shape == (len(ids) - 1, 512)
    empty, none = db.training_set("never")
    assert len(empty) == 0 and none == []
    with pytest.raises(NotFound):
        db.replace_embedding(10**9, unit_vector(1), BUNDLE)


def test_job_lifecycle(db):
    job = db.create_job("optimized-train")
    assert job["state"] == "queued" and job["kind"] == "optimized-train"
    assert job["created_at"].tzinfo is not None and job["started_at"] is None
    running = db.update_job(job["id"], state="running")
    assert running["started_at"] >= job["created_at"]
    db.update_job(job["id"], state="succeeded", model_version="v1")
    done = db.get_job(job["id"])
    assert done["state"] == "succeeded" and done["model_version"] == "v1"
    assert done["finished_at"] >= done["started_at"]
    failed = db.update_job(db.create_job("train")["id"], state="failed", error="no faces")
    assert failed["error"] == "no faces" and failed["finished_at"] is not None
    with pytest.raises(ValueError):
        db.update_job(job["id"], state="exploded")
    with pytest.raises(NotFound):
        db.get_job(10**9)
    with pytest.raises(NotFound):
        db.update_job(10**9, state="running")


def test_training_lock_is_a_lease(db):
    assert db.try_acquire_lock("training", "replica-a", ttl_seconds=30)
    assert not db.try_acquire_lock("training", "replica-b", ttl_seconds=30)
    assert db.try_acquire_lock("training", "replica-a", ttl_seconds=30)  # re-entrant
    assert db.renew_lock("training", "replica-a", ttl_seconds=0.3)
    time.sleep(0.5)  # replica-a died: its lease runs out
    assert db.try_acquire_lock("training", "replica-b", ttl_seconds=30)
    assert not db.renew_lock("training", "replica-a", ttl_seconds=30)
    db.release_lock("training", "replica-a")  # not ours any more: no effect
    assert not db.try_acquire_lock("training", "replica-a", ttl_seconds=30)
    db.release_lock("training", "replica-b")
    assert db.try_acquire_lock("training", "replica-c", ttl_seconds=30)


def recognition(person, **overrides) -> dict:
    row = {
        "label": person or "unknown",
        "score": 0.9,
        "camera_id": "cam-1",
        "location_id": "hall",
        "box": (1.0, 2.0, 3.5, 4.5),
        "model_version": "v1",
        "recognized_at": datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
    }
    row.update(overrides)
    return row


def test_recognitions_filters_and_pages(db):
    db.add_person("obama")
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    rows = [
        recognition("obama", recognized_at=start + timedelta(minutes=i), camera_id=f"cam-{i % 2}")
        for i in range(7)
    ] + [recognition(None, recognized_at=start + timedelta(minutes=3, seconds=30))]
    db.store_recognitions(rows)
    page, total = db.recognitions(person="obama", page=1, per_page=3)
    assert total == 7 and len(page) == 3
    assert [r["recognized_at"] for r in page] == [start + timedelta(minutes=m) for m in (6, 5, 4)]
    last_page, _ = db.recognitions(person="obama", page=3, per_page=3)
    assert len(last_page) == 1 and last_page[0]["recognized_at"] == start
    assert db.recognitions(person="obama", page=4, per_page=3) == ([], 7)
    strangers, total = db.recognitions(person="unknown")
    assert total == 1 and strangers[0]["person_id"] is None and strangers[0]["label"] == "unknown"
    assert db.recognitions(camera="cam-0")[1] == 4
    window, total = db.recognitions(
        since=start + timedelta(minutes=2), until=start + timedelta(minutes=4)
    )
    assert total == 3  # minutes 2, 3 and the stranger at 3:30; `until` is exclusive
    first = db.recognitions(per_page=1)[0][0]
    assert first["box"] == (1.0, 2.0, 3.5, 4.5) and first["confidence"] == pytest.approx(0.9)
    assert first["recognized_at"].tzinfo is not None
    with pytest.raises(ValueError):
        db.recognitions(page=0)
    with pytest.raises(ValueError):
        db.recognitions(since=datetime(2026, 1, 1))  # naive: ambiguous


def test_recognitions_keep_microseconds_and_utc(db):
    moment = datetime(2026, 5, 5, 10, 0, 0, 654321, tzinfo=UTC)
    in_paris = moment.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    db.store_recognitions([recognition(None, recognized_at=in_paris)])
    assert db.recognitions()[0][0]["recognized_at"] == moment
    with pytest.raises(ValueError):
        db.store_recognitions([recognition(None, recognized_at=datetime(2026, 5, 5))])


def test_a_recognition_without_a_label_is_a_value_error_and_stores_nothing(db):
    with pytest.raises(ValueError, match="label"):
        db.store_recognitions([recognition("obama"), recognition(None, label=None)])
    assert db.recognitions()[1] == 0


def test_recognition_of_a_deleted_person_is_kept_as_a_stranger(db):
    db.store_recognitions([recognition("deleted_since_training")])
    rows, total = db.recognitions()
    assert total == 1 and rows[0]["person_id"] is None
    assert rows[0]["label"] == "deleted_since_training"


HOUR = timedelta(hours=1)


def test_last_known_location_is_the_most_recent_track(db):
    """The person's latest track, not a later recognition without a track."""
    db.add_person("biden")
    assert db.last_known_location("biden") is None
    noon = datetime(2026, 1, 1, 12, tzinfo=UTC)
    biden = unit(np.ones(256))

    def decide(embeddings, grey, forgotten, qualities=None):
        return TrackDecision("biden", 0.9, 0.5, len(embeddings))

    for camera, location, at in (("cam-7", "lobby", noon), ("cam-2", "garage", noon - HOUR)):
        db.record_track_sightings(
            crop_of(biden), TrackCropInfo(key="t", subject=0, quality=0.5, grey=False), decide,
            camera_id=camera, location_id=location, recognized_at=at,
        )  # fmt: skip
    db.store_recognitions([recognition("biden", location_id="gate", recognized_at=noon + HOUR)])
    assert db.last_known_location("biden") == {
        "location_id": "lobby",
        "camera_id": "cam-7",
        "recognized_at": noon,
    }
    with pytest.raises(NotFound):
        db.last_known_location("ghost")


def test_api_keys_table_is_exactly_the_set_it_is_given(db):
    admin, camera, new = (hashlib.sha256(k).hexdigest() for k in (b"admin", b"camera", b"new"))
    db.set_api_keys([("admin", admin), ("recognize", camera)])
    db.set_api_keys([("admin", admin), ("recognize", camera)])  # every worker, at start-up
    assert stored_keys(db) == {admin: "admin", camera: "recognize"}
    db.set_api_keys([("admin", new)])  # a key left out is gone
    assert stored_keys(db) == {new: "admin"}
    with pytest.raises(ValueError, match="scope"):
        db.set_api_keys([("root", admin)])
    with pytest.raises(ValueError, match="digest"):
        db.set_api_keys([("admin", "a plain key, not a digest")])
    assert stored_keys(db) == {new: "admin"}


def test_an_unreachable_database_is_unavailable_not_a_crash():
    db = Database("mysql+pymysql://root@127.0.0.1:1/test", timeout=1)
    assert db.ping() is False
    with pytest.raises(DatabaseUnavailable):
        db.list_people()
    with pytest.raises(DatabaseUnavailable):
        db.add_person("obama")


def test_sqlite_needs_a_file():
    with pytest.raises(ValueError):
        Database("sqlite://")


def test_sqlite_enforces_foreign_keys_in_wal_mode(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'nested' / 'facerec.db'}")  # the folder is created
    db.create_schema()
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_jobs_orphaned_by_a_dead_worker_are_failed(db):
    orphan = db.create_job("train")
    db.update_job(orphan["id"], state="running")
    queued = db.create_job("train")
    finished = db.update_job(db.create_job("train")["id"], state="succeeded")
    mine = db.create_job("optimized-train")
    assert db.fail_unfinished_jobs("its worker died", keep=mine["id"]) == 2
    assert db.get_job(orphan["id"])["state"] == "failed"
    assert db.get_job(queued["id"])["error"] == "its worker died"
    assert db.get_job(finished["id"])["state"] == "succeeded"
    assert db.get_job(mine["id"])["state"] == "queued"
