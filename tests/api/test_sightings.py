"""Sightings through the HTTP API on real faces, on SQLite and the real MariaDB: store-results
keeps each face (a thumbnail to fetch, an embedding to search), search by face finds the tracks
of a person who was never enrolled, retention purges old sightings, deleting a person removes their faces."""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from sqlalchemy import select, update

from api.service import service_of
from storage.models import Recognition, Track, TrackCode
from tests.api.conftest import ADMIN, RECOGNIZE, settings_for, upload
from tests.conftest import people_images
from workers.retention import RetentionPurger

REVIEW_KEY = "review-" + secrets.token_hex(12)
REVIEW = {"X-API-Key": REVIEW_KEY}
SQLITE_AND_MARIADB = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]


@pytest.fixture(params=SQLITE_AND_MARIADB)
def app(request, make_app, tmp_path, mariadb_url):
    settings = settings_for(
        tmp_path, mariadb_url("sightings") if request.param == "mariadb" else None
    )
    return make_app(replace(settings, api_keys=(*settings.api_keys, ("review", REVIEW_KEY))))


@pytest.fixture
def client(app):
    return app.test_client()


def store(client, image, camera: str, location: str = "hall", **track) -> dict:
    response = client.post(
        "/face-recognition/store-results",
        data=upload(image, camera_id=camera, location_id=location, **track),
        headers=RECOGNIZE,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def listed(client, **query) -> list[dict]:
    page = client.get("/recognitions", query_string={"per_page": 1000, **query}, headers=REVIEW)
    assert page.status_code == 200, page.get_json()
    return page.get_json()["recognitions"]


def test_store_results_keeps_a_face_to_look_at(client):
    obama = people_images()["obama"]
    body = store(client, obama[0], "door")
    assert len(body["faces"]) == 1
    (row,) = listed(client)
    assert row["camera_id"] == "door" and row["label"] == "unknown" and row["person_id"] is None
    assert row["score"] == row["confidence"] and row["threshold"] is None  # no model yet
    assert row["face_url"] == f"/recognitions/{row['id']}/face"

    face = client.get(row["face_url"], headers=REVIEW)
    assert face.status_code == 200 and face.mimetype == "image/jpeg"
    thumbnail = cv2.imdecode(np.frombuffer(face.data, np.uint8), cv2.IMREAD_COLOR)
    assert max(thumbnail.shape[:2]) <= 112 and min(thumbnail.shape[:2]) >= 40
    assert len(face.data) < 10_000

    # Faces are for review and admin keys; an edge device's key lists rows but sees no face.
    assert client.get(row["face_url"], headers=RECOGNIZE).status_code == 403
    assert client.get(row["face_url"], headers=ADMIN).status_code == 200
    missing = client.get(f"/recognitions/{row['id'] + 1000}/face", headers=REVIEW)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"


def test_search_finds_the_tracks_of_a_person_never_enrolled(client):
    people = people_images()
    obama, biden = people["obama"], people["biden"]
    store(client, obama[0], "door")
    store(client, obama[1], "garage", "yard")
    for photo in biden:  # one passage of biden: both crops are one track
        store(client, photo, "door", track_id="biden-walk")
    rows = {row["id"]: row for row in listed(client)}
    assert len(rows) == 4 and {row["label"] for row in rows.values()} == {"unknown"}

    response = client.post("/recognitions/search", data=upload(obama[2]), headers=REVIEW)
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["searched"] == 3 and len(body["results"]) == 3  # tracks, not sightings
    first, second, other = body["results"]
    assert {first["camera_id"], second["camera_id"]} == {"door", "garage"}
    assert {rows[first["sighting_id"]]["camera_id"], rows[second["sighting_id"]]["camera_id"]} == {
        "door",
        "garage",
    }
    assert min(first["similarity"], second["similarity"]) >= body["threshold"] > 0
    assert first["match"] and second["match"]
    assert other["id"] == "biden-walk" and other["crops"] == 2 and other["faces"] == 2
    assert not other["match"] and other["similarity"] < body["threshold"]
    assert other["sighting_id"] in rows and other["track_similarity"] < body["threshold"]
    assert [r["similarity"] for r in body["results"]] == sorted(
        (r["similarity"] for r in body["results"]), reverse=True
    )
    assert first["sighting_face_url"] == f"/recognitions/{first['sighting_id']}/face"
    assert first["face_url"] == first["sighting_face_url"]  # a one-crop track's best face
    assert first["last_seen_at"] and first["label"] == "unknown" and first["crops"] == 1

    # Filters narrow what is compared.
    garage = client.post(
        "/recognitions/search",
        data=upload(obama[2], camera_id="garage", limit="1"),
        headers=REVIEW,
    ).get_json()
    assert garage["searched"] == 1 and [r["camera_id"] for r in garage["results"]] == ["garage"]
    yard = client.post(
        "/recognitions/search", data=upload(obama[2], location_id="yard"), headers=REVIEW
    ).get_json()
    assert yard["searched"] == 1 and yard["results"][0]["location_id"] == "yard"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = client.post(
        "/recognitions/search", data=upload(obama[2], since=future), headers=REVIEW
    ).get_json()
    assert later["searched"] == 0 and later["results"] == []

    # Bad input is a clear 4xx.
    for fields, code in (
        ({"limit": "0"}, "invalid_parameter"),
        ({"limit": "201"}, "invalid_parameter"),
        ({"since": "yesterday"}, "invalid_parameter"),
        ({"camera_id": "../x"}, "invalid_id"),
    ):
        bad = client.post("/recognitions/search", data=upload(obama[2], **fields), headers=REVIEW)
        assert bad.status_code == 400 and bad.get_json()["error"] == code, fields
    scene = people_images()["obama"][0].parents[2] / "scenes" / "two_people.jpg"
    several = client.post("/recognitions/search", data=upload(scene), headers=REVIEW)
    assert several.status_code == 422 and several.get_json()["error"] == "several_faces"
    refused = client.post("/recognitions/search", data=upload(obama[2]), headers=RECOGNIZE)
    assert refused.status_code == 403


def test_a_worker_loads_its_search_index_at_start_not_at_the_first_search(client, app, make_app):
    """The first search in each worker used to load every track's code (4.6 s at 1M tracks);
    a new worker now loads them in the background as soon as its networks are in."""
    for photo in people_images()["biden"]:
        store(client, photo, "door", track_id="biden-walk")
    store(client, people_images()["obama"][0], "door")
    started = make_app(replace(service_of(app).settings))  # another worker on the same database
    deadline, loaded = time.monotonic() + 30, []
    while not loaded and time.monotonic() < deadline:
        indexes = service_of(started).db.__dict__.get("_track_indexes", {})
        loaded = [index.size for index in list(indexes.values()) if index.size]
        time.sleep(0.05)
    assert loaded == [2]  # biden's track and obama's, and no search was made


def test_retention_purges_old_sightings_with_their_faces(client, app):
    obama = people_images()["obama"]
    store(client, obama[0], "door")
    store(client, obama[1], "door")
    db = service_of(app).db
    old, recent = sorted(row["id"] for row in listed(client))
    with db.engine.begin() as connection:  # as if it had been stored 40 days ago
        long_ago = datetime.now(UTC) - timedelta(days=40)
        connection.execute(
            update(Recognition).where(Recognition.id == old).values(recognized_at=long_ago)
        )
        track = select(Recognition.track_id).where(Recognition.id == old).scalar_subquery()
        for table, key in ((Track, Track.id), (TrackCode, TrackCode.track_id)):
            connection.execute(update(table).where(key == track).values(last_seen_at=long_ago))
    assert client.get(f"/recognitions/{old}/face", headers=REVIEW).status_code == 200

    # Search never reaches past the retention window, even before the purge ran.
    found = client.post("/recognitions/search", data=upload(obama[2]), headers=REVIEW).get_json()
    assert [r["sighting_id"] for r in found["results"]] == [recent]

    purger = RetentionPurger(db, retention_days=30)
    assert purger.purge_once() == 1
    assert [row["id"] for row in listed(client)] == [recent]
    assert client.get(f"/recognitions/{old}/face", headers=REVIEW).status_code == 404
    assert purger.purge_once() == 0
    assert RetentionPurger(db, retention_days=0).purge_once() == 0  # 0: kept forever


def test_deleting_a_person_removes_their_faces(client):
    obama = people_images()["obama"]
    assert client.post("/dataset/obama", headers=ADMIN).status_code == 201
    for photo in obama[:2]:
        assert client.post("/dataset/obama/image", data=upload(photo), headers=ADMIN).status_code
    assert client.post("/model/train?wait=true", headers=ADMIN).get_json()["state"] == "succeeded"
    store(client, obama[2], "door")
    (row,) = listed(client)
    assert row["person_id"] == "obama" and row["score"] >= row["threshold"] > 0
    assert client.get(row["face_url"], headers=REVIEW).status_code == 200

    assert client.delete("/dataset/obama", headers=ADMIN).status_code == 200
    assert listed(client) == []
    assert client.get(row["face_url"], headers=REVIEW).status_code == 404
    found = client.post("/recognitions/search", data=upload(obama[3]), headers=REVIEW).get_json()
    assert found["searched"] == 0 and found["results"] == []
