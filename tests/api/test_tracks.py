"""Tracks through the HTTP API on real faces: crops sent with one camera_id and track_id are one
record, decided over every crop received; a crop without a track id is a track of its own; a
track lists, reads, shows its best face and ends."""

from __future__ import annotations

import pytest

from tests.api.conftest import ADMIN, RECOGNIZE, upload
from tests.conftest import people_images


@pytest.fixture(scope="module")
def trained(app):
    client = app.test_client()
    images = people_images()
    for person, count in (("obama", 2), ("biden", 1)):
        assert client.post(f"/dataset/{person}", headers=ADMIN).status_code in (200, 201)
        for path in images[person][:count]:
            response = client.post(f"/dataset/{person}/image", data=upload(path), headers=ADMIN)
            assert response.status_code in (200, 201), response.get_json()
    job = client.post("/model/train", query_string={"wait": "true"}, headers=ADMIN).get_json()
    assert job["state"] == "succeeded", job
    return client


def store(client, path, **fields) -> dict:
    data = upload(path, camera_id="door", location_id="hall", **fields)
    response = client.post("/face-recognition/store-results", data=data, headers=RECOGNIZE)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_crops_of_one_track_are_decided_together(trained):
    obama = people_images()["obama"]
    answers = [store(trained, path, track_id="walk:1")["faces"][0]["track"] for path in obama]
    assert [a["faces"] for a in answers] == list(range(1, len(obama) + 1))
    assert all(a["id"] == "walk:1" and a["label"] == "obama" for a in answers)
    assert answers[-1]["score"] >= answers[-1]["threshold"]
    track = trained.get("/tracks/door/walk:1", headers=RECOGNIZE).get_json()
    assert track["crops"] == len(obama) and track["label"] == "obama"
    assert track["person_id"] == "obama" and track["ended"] is False
    assert trained.get(track["face_url"], headers=ADMIN).mimetype == "image/jpeg"
    ended = trained.post("/tracks/door/walk:1/end", headers=RECOGNIZE).get_json()
    assert ended["ended"] is True and ended["crops"] == len(obama)


def test_a_crop_without_a_track_id_is_a_track_of_its_own(trained):
    before = trained.get("/tracks", query_string={"person": "biden"}, headers=RECOGNIZE)
    face = store(trained, people_images()["biden"][1])["faces"][0]
    assert face["track"]["faces"] == 1 and face["track"]["id"].startswith("crop-")
    after = trained.get("/tracks", query_string={"person": "biden"}, headers=RECOGNIZE)
    assert after.get_json()["total"] == before.get_json()["total"] + 1


def test_get_results_previews_the_track_without_recording(trained):
    obama = people_images()["obama"]
    store(trained, obama[0], track_id="peek")
    data = upload(obama[1], track_id="peek", camera_id="door")
    body = trained.post("/face-recognition/get-results", data=data, headers=RECOGNIZE).get_json()
    assert body["faces"][0]["track"]["faces"] == 2 and body["faces"][0]["track"]["label"] == "obama"
    assert trained.get("/tracks/door/peek", headers=RECOGNIZE).get_json()["crops"] == 1


@pytest.mark.parametrize(
    ("method", "path", "data", "status"),
    [
        ("post", "/face-recognition/store-results", {"track_id": "no spaces"}, 400),
        ("get", "/tracks/door/never-seen", None, 404),
        ("get", "/tracks/door/bad%20id", None, 400),
        ("get", "/tracks", {"per_page": "0"}, 400),
    ],
)
def test_bad_track_requests_are_clear_4xx(trained, method, path, data, status):
    if path.startswith("/face-recognition"):
        data = upload(people_images()["obama"][0], camera_id="door", location_id="hall", **data)
        response = trained.post(path, data=data, headers=RECOGNIZE)
    else:
        response = getattr(trained, method)(path, query_string=data, headers=RECOGNIZE)
    assert response.status_code == status and "error" in response.get_json()


def test_a_track_never_names_someone_deleted_since_training(app):
    client = app.test_client()
    rose = people_images()["rose_leslie"]
    assert client.post("/dataset/rose_leslie", headers=ADMIN).status_code in (200, 201)
    response = client.post("/dataset/rose_leslie/image", data=upload(rose[0]), headers=ADMIN)
    assert response.status_code in (200, 201), response.get_json()
    job = client.post("/model/train", query_string={"wait": "true"}, headers=ADMIN).get_json()
    assert job["state"] == "succeeded", job
    assert store(client, rose[1], track_id="leaving")["faces"][0]["track"]["label"] == "rose_leslie"
    assert client.delete("/dataset/rose_leslie", headers=ADMIN).status_code == 200
    data = upload(rose[1], track_id="leaving", camera_id="door")
    body = client.post("/face-recognition/get-results", data=data, headers=RECOGNIZE).get_json()
    assert body["faces"][0]["track"]["label"] != "rose_leslie"
    assert store(client, rose[1], track_id="leaving")["faces"][0]["track"]["label"] != "rose_leslie"
