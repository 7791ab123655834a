"""Corrections through the HTTP API on real faces: "not X" on a stranger's track named X sticks
to the track and, after training, refuses X for that face while X's own faces stay named; "is Y"
with enrol makes Y's images from the track's good crops; undo walks the history back; bad
requests are clear 4xx."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from tests.api.conftest import ADMIN, ADMIN_KEY, RECOGNIZE, RECOGNIZE_KEY, settings_for, upload
from tests.conftest import people_images

REVIEW_KEY = "review-" + secrets.token_hex(12)
REVIEW = {"X-API-Key": REVIEW_KEY}


@pytest.fixture(scope="module")
def client(make_app, tmp_path_factory):
    keys = (("admin", ADMIN_KEY), ("recognize", RECOGNIZE_KEY), ("review", REVIEW_KEY))
    app = make_app(replace(settings_for(tmp_path_factory.mktemp("corrections")), api_keys=keys))
    client = app.test_client()
    images = people_images()
    for person, count in (("kit_harington", 2), ("alex_lacamoire", 2), ("lin", 0)):
        assert client.post(f"/dataset/{person}", headers=ADMIN).status_code in (200, 201)
        for path in images.get(person, [])[:count]:
            response = client.post(f"/dataset/{person}/image", data=upload(path), headers=ADMIN)
            assert response.status_code in (200, 201), response.get_json()
    train(client)
    return client


def train(client) -> None:
    job = client.post("/model/train", query_string={"wait": "true"}, headers=ADMIN).get_json()
    assert job["state"] == "succeeded", job


def store(client, path, track_id: str) -> dict:
    data = upload(path, camera_id="door", location_id="hall", track_id=track_id)
    response = client.post("/face-recognition/store-results", data=data, headers=RECOGNIZE)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["faces"][0]


def sightings_of(client, person: str) -> int:
    query = {"person": person}
    return client.get("/recognitions", query_string=query, headers=REVIEW).get_json()["total"]


def correct(client, path: str, status: int = 200, **form) -> dict:
    response = client.post(path, data=form, headers=REVIEW)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_not_x_sticks_to_the_track_and_to_the_next_model(client):
    kit = people_images()["kit_harington"]
    assert store(client, kit[2], "visit-1")["track"]["label"] == "kit_harington"
    done = correct(client, "/tracks/door/visit-1/label", kind="not")
    assert done["change"]["kind"] == "not" and done["change"]["from"] == "kit_harington"
    # who: the key's name (a key configured without one gets "<scope>-<digest prefix>").
    assert done["change"]["negatives"] == 1 and done["change"]["who"].startswith("review-")
    assert done["track"]["label"] == "unknown" and done["track"]["person_id"] is None
    # The same track's next crop does not name her again, before any training.
    assert store(client, kit[2], "visit-1")["track"]["label"] == "unknown"
    train(client)  # the published model carries the negatives; the worker loads it
    # Her next visit: refused; kit's own enrolled face is still named.
    assert store(client, kit[2], "visit-2")["track"]["label"] == "unknown"
    assert store(client, kit[0], "kit-walks")["track"]["label"] == "kit_harington"
    undone = correct(client, "/tracks/door/visit-1/label/undo")
    assert undone["change"]["kind"] == "undo" and undone["change"]["undoes"] == done["change"]["id"]
    assert undone["track"]["label"] == "kit_harington"
    history = client.get("/tracks/door/visit-1/label", headers=REVIEW).get_json()
    assert [c["kind"] for c in history["changes"]] == ["undo", "not"]
    assert history["changes"][1]["undone_by"] == undone["change"]["id"]
    correct(client, "/tracks/door/visit-1/label/undo", status=409)


def test_is_y_with_enrol_makes_images_and_undo_removes_them(client):
    lin = people_images()["lin_manuel_miranda"][0]
    face = store(client, lin, "stranger-1")
    assert face["track"]["label"] == "unknown"
    done = correct(
        client, "/tracks/door/stranger-1/label", kind="is", person_id="lin", enrol="true"
    )
    assert done["track"]["label"] == "lin" and done["change"]["enrolled"] == 1
    images = client.get("/dataset/lin/images", headers=RECOGNIZE).get_json()["images"]
    assert len(images) == 1 and images[0]["quality"] >= 0.2
    assert sightings_of(client, "lin") == 1  # the track's sighting follows it
    assert store(client, lin, "stranger-1")["track"]["label"] == "lin"  # sticks before training
    correct(client, "/tracks/door/stranger-1/label/undo")
    assert client.get("/dataset/lin/images", headers=RECOGNIZE).get_json()["images"] == []
    assert client.get("/tracks/door/stranger-1", headers=REVIEW).get_json()["label"] == "unknown"
    assert sightings_of(client, "lin") == 0


def test_a_single_sighting_is_corrected_and_undone(client):
    store(client, people_images()["alex_lacamoire"][2], "alex-walks")
    query = {"camera": "door", "per_page": 1}
    face = client.get("/recognitions", query_string=query, headers=REVIEW).get_json()
    face = face["recognitions"][0]
    assert face["label"] == "alex_lacamoire"
    done = correct(client, f"/recognitions/{face['id']}/label", kind="not")
    assert done["sighting"] == {"id": face["id"], "label": "unknown", "person_id": None}
    undone = correct(client, f"/recognitions/{face['id']}/label/undo")
    assert undone["sighting"]["label"] == "alex_lacamoire"
    everything = client.get(
        "/label-changes", query_string={"person": "alex_lacamoire"}, headers=REVIEW
    )
    assert everything.get_json()["total"] == 2


@pytest.mark.parametrize(
    ("path", "form", "headers", "status", "code"),
    [
        ("/tracks/door/kit-walks/label", {"kind": "not"}, RECOGNIZE, 403, "forbidden"),
        ("/tracks/door/kit-walks/label", {"kind": "maybe"}, REVIEW, 400, "invalid_parameter"),
        ("/tracks/door/kit-walks/label", {"kind": "is"}, REVIEW, 400, "missing_parameter"),
        (
            "/tracks/door/kit-walks/label",
            {"kind": "is", "person_id": "nobody"},
            REVIEW,
            404,
            "not_found",
        ),
        (
            "/tracks/door/kit-walks/label",
            {"kind": "not", "person_id": "lin"},
            REVIEW,
            422,
            "cannot_correct",
        ),
        (
            "/tracks/door/kit-walks/label",
            {"kind": "not", "enrol": "true"},
            REVIEW,
            400,
            "invalid_parameter",
        ),
        ("/tracks/door/no-such/label", {"kind": "not"}, REVIEW, 404, "not_found"),
        ("/tracks/door/bad%20id/label", {"kind": "not"}, REVIEW, 400, "bad_request"),
        ("/recognitions/999999/label", {"kind": "not"}, REVIEW, 404, "not_found"),
        ("/recognitions/999999/label/undo", {}, REVIEW, 404, "not_found"),
    ],
)
def test_bad_corrections_are_clear_4xx(client, path, form, headers, status, code):
    store(client, people_images()["kit_harington"][0], "kit-walks")
    response = client.post(path, data=form, headers=headers)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"] == code
