"""Duplicate and look-alike warnings on real faces (issue 23): enrolling a person a second time
under a new id is warned (before any training, and after), a different person is not; the check
step stores nothing; a person's look-alikes are listed with the 1:1 threshold; naming an unknown
group after someone already enrolled warns too (SQLite and MariaDB)."""

from __future__ import annotations

import pytest

from tests.api.conftest import ADMIN, FACES, RECOGNIZE, settings_for, upload
from tests.api.test_sightings import REVIEW, app, client, store  # noqa: F401 (fixtures)
from tests.api.test_unknowns import AI, _wait_until_grouped

PEOPLE = FACES / "people"


@pytest.fixture(scope="module")
def solo(make_app, tmp_path_factory):
    return make_app(settings_for(tmp_path_factory.mktemp("lookalikes"))).test_client()


def enrol(http, person: str, *photos) -> list[dict]:
    http.post(f"/dataset/{person}", headers=ADMIN)
    answers = []
    for photo in photos:
        response = http.post(f"/dataset/{person}/image", data=upload(photo), headers=ADMIN)
        assert response.status_code in (200, 201), response.get_json()
        answers.append(response.get_json())
    return answers


def check(http, person: str, photo) -> dict:
    response = http.post(f"/dataset/{person}/look-alike-check", data=upload(photo), headers=ADMIN)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_second_enrolment_is_warned_before_and_after_training(solo):
    first = enrol(solo, "obama", PEOPLE / "obama/obama1.jpg", PEOPLE / "obama/obama2.jpg")
    assert all(answer["warnings"] == [] for answer in first)  # his own faces never warn
    assert enrol(solo, "biden", PEOPLE / "biden/biden1.jpg")[0]["warnings"] == []
    enrol(solo, "kit", PEOPLE / "kit_harington/kit1.jpg")

    # No model yet: the stored faces are compared. The check stores nothing, not even the person.
    checked = check(solo, "obama_twin", PEOPLE / "obama/obama3.jpg")
    assert [w["looks_like"] for w in checked["warnings"]] == ["obama"], checked
    assert checked["warnings"][0]["score"] >= checked["warnings"][0]["threshold"] > 0.6
    assert checked["quality"] > 0.2 and checked["faces_found"] == 1
    assert solo.get("/dataset/obama_twin/images", headers=RECOGNIZE).status_code == 404
    assert check(solo, "rose", PEOPLE / "rose_leslie/rose1.jpg")["warnings"] == []

    # Saved anyway: a warning, not a refusal. The same photos, as in the issue.
    twin = enrol(solo, "obama_twin", PEOPLE / "obama/obama1.jpg")[0]
    assert twin["created"] is True and twin["warnings"][0]["looks_like"] == "obama"
    assert twin["warnings"][0]["score"] > 0.99

    assert solo.post("/model/train?wait=true", headers=ADMIN).get_json()["state"] == "succeeded"
    after = check(solo, "another", PEOPLE / "obama/obama4.jpg")["warnings"]
    assert {w["looks_like"] for w in after} == {"obama", "obama_twin"}, after
    assert check(solo, "kit", PEOPLE / "kit_harington/kit2.jpg")["warnings"] == []


def test_a_persons_look_alikes_are_ranked_with_the_one_to_one_threshold(solo):
    body = solo.get("/dataset/obama_twin/look-alikes", headers=ADMIN).get_json()
    assert body["id_name"] == "obama_twin" and body["model_version"]
    assert 0.55 < body["threshold"] < body["warning_threshold"] < 0.8, body
    first, *rest = body["look_alikes"]
    assert first["person_id"] == "obama" and first["score"] > 0.99, body
    assert first["above_threshold"] and first["warned"]
    assert rest and not any(r["above_threshold"] for r in rest), body  # biden, kit
    assert [r["score"] for r in body["look_alikes"]] == sorted(
        (r["score"] for r in body["look_alikes"]), reverse=True
    )
    one = solo.get("/dataset/biden/look-alikes?limit=1", headers=ADMIN).get_json()
    assert len(one["look_alikes"]) == 1 and not one["look_alikes"][0]["warned"]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/dataset/nobody/look-alikes", 404, "not_found"),
        ("/dataset/obama/look-alikes?limit=0", 400, "invalid_parameter"),
        ("/dataset/obama/look-alikes?limit=x", 400, "invalid_parameter"),
        ("/dataset/unknown/look-alikes", 400, "invalid_id"),
    ],
)
def test_look_alikes_refuse_bad_requests(solo, path, status, code):
    response = solo.get(path, headers=ADMIN)
    assert response.status_code == status and response.get_json()["error"] == code


def test_the_check_refuses_what_enrolment_refuses(solo):
    url = "/dataset/someone/look-alike-check"
    photo = upload(PEOPLE / "obama/obama1.jpg")
    assert solo.post(url, data=photo, headers=RECOGNIZE).status_code == 403  # admin, as enrolment
    several = solo.post(url, data=upload(FACES / "scenes/two_people.jpg"), headers=ADMIN)
    assert several.status_code == 422 and several.get_json()["error"] == "several_faces"
    assert solo.post(url, headers=ADMIN).status_code == 400
    bad = solo.post("/dataset/bad%20id/look-alike-check", data=upload(PEOPLE / "obama/obama1.jpg"),
                    headers=ADMIN)  # fmt: skip
    assert bad.status_code == 400


def test_naming_a_group_after_an_enrolled_person_warns(app, client):  # noqa: F811
    enrol(client, "ai_sugiyama", AI[4])
    for index, photo in enumerate(AI[:3]):
        store(client, photo, camera=f"cam-{index}")  # no model: unknown, grouped
    groups = _wait_until_grouped(app, 3)
    named = client.post(
        f"/unknowns/{groups[0]['id']}/enrol", data={"person_id": "ai_again"}, headers=ADMIN
    )
    assert named.status_code == 200, named.get_json()
    warnings = named.get_json()["warnings"]
    assert [w["looks_like"] for w in warnings] == ["ai_sugiyama"], warnings
    assert named.get_json()["images_added"] == 3
