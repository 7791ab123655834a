"""1:1 verification on real faces: two photos, or a photo and an enrolled person."""

from __future__ import annotations

import io

import pytest

from tests.api.conftest import ADMIN, FACES, RECOGNIZE, settings_for, upload

PEOPLE = FACES / "people"
VERIFY = "/face-recognition/verify"


def two(first, second) -> dict:
    return {**upload(first), "other_image": (io.BytesIO(second.read_bytes()), "other.jpg")}


@pytest.fixture(scope="module")
def client(make_app, tmp_path_factory):
    return make_app(settings_for(tmp_path_factory.mktemp("verify"))).test_client()


def test_two_photos_of_one_person_are_the_same(client):
    body = client.post(
        VERIFY,
        data=two(PEOPLE / "obama/obama2.jpg", PEOPLE / "obama/obama4.jpg"),
        headers=RECOGNIZE,
    ).get_json()
    assert body["same"] is True and body["score"] >= body["threshold"] > 0, body
    assert body["other_face"]["right"] > body["other_face"]["left"] and body["person_id"] is None


def test_two_people_are_not_the_same(client):
    body = client.post(
        VERIFY,
        data=two(PEOPLE / "obama/obama2.jpg", PEOPLE / "biden/biden1.jpg"),
        headers=RECOGNIZE,
    ).get_json()
    assert body["same"] is False and body["score"] < body["threshold"], body


def test_a_photo_against_an_enrolled_person(client):
    assert client.post("/dataset/obama", headers=ADMIN).status_code == 201
    for name in ("obama1.jpg", "obama2.jpg"):
        client.post("/dataset/obama/image", data=upload(PEOPLE / "obama" / name), headers=ADMIN)
    probe = upload(PEOPLE / "obama/obama4.jpg", person_id="obama")
    assert client.post(VERIFY, data=probe, headers=RECOGNIZE).status_code == 409  # untrained
    assert client.post("/model/train?wait=true", headers=ADMIN).get_json()["state"] == "succeeded"
    body = client.post(
        VERIFY, data=upload(PEOPLE / "obama/obama4.jpg", person_id="obama"), headers=RECOGNIZE
    ).get_json()
    assert body["same"] is True and body["person_id"] == "obama" and body["other_face"] is None
    biden = client.post(
        VERIFY, data=upload(PEOPLE / "biden/biden1.jpg", person_id="obama"), headers=RECOGNIZE
    ).get_json()
    assert biden["same"] is False
    nobody = upload(PEOPLE / "biden/biden1.jpg", person_id="nobody")
    assert client.post(VERIFY, data=nobody, headers=RECOGNIZE).status_code == 404


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        (lambda: upload(PEOPLE / "obama/obama2.jpg"), 400, "missing_field"),
        (
            lambda: {
                **two(PEOPLE / "obama/obama2.jpg", PEOPLE / "biden/biden1.jpg"),
                "person_id": "x",
            },
            400,
            "missing_field",
        ),
        (
            lambda: two(FACES / "scenes/two_people.jpg", PEOPLE / "obama/obama2.jpg"),
            422,
            "several_faces",
        ),
        (lambda: upload(PEOPLE / "obama/obama2.jpg", person_id="bad id"), 400, "invalid_id"),
    ],
)
def test_bad_requests_are_clear_4xx(client, form, status, code):
    response = client.post(VERIFY, data=form(), headers=RECOGNIZE)
    assert response.status_code == status and response.get_json()["error"] == code
