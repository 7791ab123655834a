"""Strangers seen again become groups (real LFW faces, SQLite and MariaDB): listed, looked at,
named (enrolled, then recognised after training) and dismissed."""

from __future__ import annotations

import time

import pytest

from api.service import service_of
from tests.api.conftest import ADMIN, FACES, RECOGNIZE, upload
from tests.api.test_sightings import REVIEW, app, client, store  # noqa: F401 (fixtures)

LFW = FACES / "lfw"
AI = sorted((LFW / "enrolled" / "Ai_Sugiyama").glob("*.jpg"))  # 5 photos
AHMED = sorted((LFW / "enrolled" / "Ahmed_Chalabi").glob("*.jpg"))  # 5 photos
LONE = sorted((LFW / "strangers").glob("*.jpg"))[:3]


def _wait_until_grouped(flask_app, count: int, seconds: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + seconds
    db = service_of(flask_app).db
    while time.monotonic() < deadline:
        groups, _ = db.unknown_groups(limit=500)
        if sum(g["size"] for g in groups) >= count:
            return groups
        time.sleep(0.2)
    raise AssertionError(f"{count} sightings not grouped in {seconds} s: {groups}")


def test_strangers_seen_again_are_grouped_named_and_dismissed(app, client):  # noqa: F811
    for index, photo in enumerate(AI[:4] + AHMED[:4] + LONE):
        store(client, photo, camera=f"cam-{index % 2}")
    _wait_until_grouped(app, 11)

    page = client.get("/unknowns", headers=REVIEW).get_json()
    sizes = [g["size"] for g in page["groups"]]
    assert sizes[:2] == [4, 4] and sizes[2:] == [1, 1, 1] and page["total"] == 5
    assert client.get("/unknowns", headers=RECOGNIZE).status_code == 403  # review or admin
    ai_group, ahmed_group = page["groups"][:2]
    assert ai_group["cameras"] == ["cam-0", "cam-1"] and ai_group["face_url"]
    assert client.get(ai_group["face_url"], headers=REVIEW).mimetype == "image/jpeg"

    detail = client.get(f"/unknowns/{ai_group['id']}", headers=REVIEW).get_json()
    assert len(detail["faces"]) == 4 and all(f["face_url"] for f in detail["faces"])
    members = {f["id"] for f in detail["faces"]}

    # Which group is whose: enrol the one holding Ai's first photo's sighting.
    first = client.get(f"/unknowns/{ahmed_group['id']}", headers=REVIEW).get_json()["faces"]
    ai_id, other_id = ai_group["id"], ahmed_group["id"]
    if min(members) > min(f["id"] for f in first):
        ai_id, other_id = other_id, ai_id
    named = client.post(
        f"/unknowns/{ai_id}/enrol", data={"person_id": "ai_sugiyama"}, headers=ADMIN
    )
    assert named.status_code == 200, named.get_json()
    assert named.get_json()["images_added"] == 4 and named.get_json()["sightings_named"] == 4
    assert client.get(f"/unknowns/{ai_id}", headers=REVIEW).status_code == 404
    assert client.post("/model/train?wait=true", headers=ADMIN).get_json()["state"] == "succeeded"
    answer = client.post(
        "/face-recognition/get-results", data=upload(AI[4]), headers=RECOGNIZE
    ).get_json()
    assert answer["faces"][0]["top_prediction"]["label"] == "ai_sugiyama"

    gone = client.delete(f"/unknowns/{other_id}", headers=ADMIN).get_json()
    assert gone == {"deleted": other_id, "sightings": 4}
    assert client.get(f"/unknowns/{other_id}", headers=REVIEW).status_code == 404
    assert client.delete(f"/unknowns/{other_id}", headers=ADMIN).status_code == 404


@pytest.mark.parametrize("person", ["unknown", "bad id"])
def test_a_group_cannot_be_named_with_a_bad_id(client, person):  # noqa: F811
    response = client.post("/unknowns/1/enrol", data={"person_id": person}, headers=ADMIN)
    assert response.status_code == 400


def test_the_crops_of_one_unknown_track_form_exactly_one_group(app, client):  # noqa: F811
    """A track is one person by construction: the grouper groups it whole, by its mean face,
    even where single crops of it would fall apart; later crops join its group."""
    walk = AI[:3] + AHMED[:1]  # one 'track' whose crops are not all alike: still one group
    for photo in walk:
        store(client, photo, camera="door", track_id="walk-1")
    store(client, LONE[0], camera="door")
    groups = _wait_until_grouped(app, len(walk) + 1)
    assert sorted(g["size"] for g in groups) == [1, len(walk)] and len(groups) == 2
    store(client, AI[3], camera="door", track_id="walk-1")  # a later crop of the same track
    groups = _wait_until_grouped(app, len(walk) + 2)
    assert sorted(g["size"] for g in groups) == [1, len(walk) + 1] and len(groups) == 2
    walk_group = max(groups, key=lambda g: g["size"])
    faces = client.get(f"/unknowns/{walk_group['id']}", headers=REVIEW).get_json()["faces"]
    assert len(faces) == len(walk) + 1

    named = client.post(
        f"/unknowns/{walk_group['id']}/enrol", data={"person_id": "walker"}, headers=ADMIN
    ).get_json()
    assert named["images_added"] == len(walk) + 1 and named["sightings_named"] == len(walk) + 1
