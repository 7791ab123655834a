"""The whole life of the service through its HTTP API, on real faces: shared by the SQLite and
MariaDB tests (and usable against any client with Flask's test-client interface)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.conftest import ADMIN, FACES, RECOGNIZE, upload
from tests.conftest import people_images

SCENES = FACES / "scenes"
STRANGER = "lin_manuel_miranda"  # one image only: never enrolled, must come back "unknown"


def split_people() -> tuple[dict, dict]:
    """Enrol every image but the last of each person with two or more; hold the last out."""
    enrol, held_out = {}, {}
    for person, images in people_images().items():
        if len(images) >= 2:
            enrol[person], held_out[person] = images[:-1], images[-1]
    return enrol, held_out


def largest_face_label(body: dict) -> str:
    return body["faces"][0]["top_prediction"]["label"]


def enrol_with_bystanders(client) -> None:
    """A news photo with a bystander enrols its subject; two equal faces are refused."""
    assert client.post("/dataset/frances_fisher", headers=ADMIN).status_code == 201
    photo = FACES / "lfw" / "enrolled" / "Frances_Fisher" / "Frances_Fisher_0001.jpg"
    response = client.post("/dataset/frances_fisher/image", data=upload(photo), headers=ADMIN)
    body = response.get_json()
    assert response.status_code == 201 and body["faces_found"] == 2, body
    face = body["face"]  # the woman in the middle, not the man cut by the left edge
    assert 60 < (face["left"] + face["right"]) / 2 < 190 and face["left"] > 42
    pair = client.post(
        "/dataset/frances_fisher/image", data=upload(SCENES / "two_people.jpg"), headers=ADMIN
    )
    assert pair.status_code == 422 and pair.get_json()["error"] == "several_faces"
    assert client.delete("/dataset/frances_fisher", headers=ADMIN).status_code == 200


def enrol(client, enrol_images: dict) -> dict[str, int]:
    counts = {}
    for person, images in enrol_images.items():
        assert client.post(f"/dataset/{person}", headers=ADMIN).status_code == 201
        for image in images:
            response = client.post(f"/dataset/{person}/image", data=upload(image), headers=ADMIN)
            # Group photos are refused at enrolment: they would teach the wrong face.
            assert response.status_code in (201, 422), response.get_json()
            if response.status_code == 422:
                assert response.get_json()["error"] == "several_faces"
        counts[person] = len(images)
    return counts


def run_flow(client, train_kind: str = "train") -> None:
    enrol_images, held_out = split_people()
    enrol_with_bystanders(client)
    enrol(client, enrol_images)
    listed = {
        p["id_name"]: p["number_of_images"]
        for p in client.get("/dataset", headers=RECOGNIZE).get_json()["face_ids"]
    }
    assert set(listed) == set(enrol_images)
    assert all(count >= 1 for count in listed.values()), listed

    # The same bytes again are stored once.
    again = client.post(
        "/dataset/biden/image", data=upload(enrol_images["biden"][0]), headers=ADMIN
    )
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert again.get_json()["number_of_images"] == listed["biden"]

    # Before any training every face is unknown and there is no version.
    body = client.post(
        "/face-recognition/get-results", data=upload(held_out["biden"]), headers=RECOGNIZE
    ).get_json()
    assert body["model_version"] is None and largest_face_label(body) == "unknown"

    job = client.post(f"/model/{train_kind}?wait=true", headers=ADMIN)
    assert job.status_code == 200, job.get_json()
    job = job.get_json()
    assert job["state"] == "succeeded", job
    model = client.get("/model", headers=ADMIN).get_json()
    assert model["model_version"] == job["model_version"]
    assert model["people"] == sorted(enrol_images)
    assert datetime.fromisoformat(model["trained_at"]) <= datetime.now(UTC)

    # Held-out images: the right person, with a box inside the image.
    for person, image in held_out.items():
        response = client.post(
            "/face-recognition/get-results",
            data=upload(image, include_predictions="true"),
            headers=RECOGNIZE,
        )
        body = response.get_json()
        assert response.status_code == 200 and body["model_version"] == job["model_version"]
        assert largest_face_label(body) == person, (image.name, body["faces"][0])
        face = body["faces"][0]
        box = face["bounding_box"]
        assert 0 <= box["left"] < box["right"] and 0 <= box["top"] < box["bottom"]
        assert [p["label"] for p in face["all_predictions"]][0] == person
        assert sorted(p["label"] for p in face["all_predictions"]) == sorted(enrol_images)

    stranger = people_images()[STRANGER][0]
    body = client.post(
        "/face-recognition/get-results", data=upload(stranger), headers=RECOGNIZE
    ).get_json()
    assert [f["top_prediction"]["label"] for f in body["faces"]] == ["unknown"]
    assert body["faces"][0]["all_predictions"] == []  # only with include_predictions

    two = client.post(
        "/face-recognition/get-results", data=upload(SCENES / "two_people.jpg"), headers=RECOGNIZE
    ).get_json()
    assert len(two["faces"]) == 2
    assert {f["top_prediction"]["label"] for f in two["faces"]} <= set(enrol_images) | {"unknown"}

    check_recognitions(client, held_out)

    # A second version, then back to the first.
    second = client.post("/model/optimized-train?wait=true", headers=ADMIN).get_json()
    assert second["state"] == "succeeded" and second["model_version"] != job["model_version"]
    rolled = client.post("/model/rollback", headers=ADMIN)
    assert rolled.status_code == 200
    assert rolled.get_json()["model_version"] == job["model_version"]

    # A named face reports the similarity that named it and the threshold it cleared.
    named = client.post(
        "/face-recognition/get-results", data=upload(held_out["biden"]), headers=RECOGNIZE
    ).get_json()["faces"][0]["top_prediction"]
    assert named["label"] == "biden" and named["score"] >= named["threshold"] > 0

    # Deleting a person takes their images and recognitions with them, and they are never
    # named again: not by the model in memory, not by any version a rollback could reach.
    assert client.delete("/dataset/biden", headers=ADMIN).get_json() == {"deleted": "biden"}
    after = client.post(
        "/face-recognition/get-results", data=upload(held_out["biden"]), headers=RECOGNIZE
    ).get_json()
    assert largest_face_label(after) != "biden"
    model = client.get("/model", headers=ADMIN).get_json()
    assert "biden" not in model["people"]
    while client.post("/model/rollback", headers=ADMIN).status_code == 200:
        assert "biden" not in client.get("/model", headers=ADMIN).get_json()["people"]
    listed = client.get("/dataset", headers=RECOGNIZE).get_json()["face_ids"]
    assert "biden" not in {p["id_name"] for p in listed}
    page = client.get("/recognitions?person=biden", headers=RECOGNIZE).get_json()
    assert page["total"] == 0
    assert client.get("/database/biden/last-known-location", headers=RECOGNIZE).status_code == 404


def check_recognitions(client, held_out: dict) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    for index, (person, image) in enumerate(sorted(held_out.items())):
        response = client.post(
            "/face-recognition/store-results",
            data=upload(image, camera_id=f"cam-{index % 2}", location_id=f"room-{person}"),
            headers=RECOGNIZE,
        )
        assert response.status_code == 200, response.get_json()
    stored = client.get("/recognitions?per_page=1000", headers=RECOGNIZE).get_json()
    faces = stored["total"]
    assert faces >= len(held_out) and len(stored["recognitions"]) == faces

    # Pages of two cover every row exactly once, newest first.
    seen = []
    pages = client.get("/recognitions?per_page=2", headers=RECOGNIZE).get_json()["pages"]
    assert pages == (faces + 1) // 2
    for page in range(1, pages + 1):
        body = client.get(f"/recognitions?per_page=2&page={page}", headers=RECOGNIZE).get_json()
        assert body["page"] == page and len(body["recognitions"]) <= 2
        seen += [row["id"] for row in body["recognitions"]]
    assert sorted(seen) == sorted(r["id"] for r in stored["recognitions"])
    times = [r["recognized_at"] for r in stored["recognitions"]]
    assert times == sorted(times, reverse=True)

    # Filters.
    kit = client.get("/recognitions?person=kit_harington", headers=RECOGNIZE).get_json()
    assert kit["total"] >= 1 and {r["label"] for r in kit["recognitions"]} == {"kit_harington"}
    assert {r["person_id"] for r in kit["recognitions"]} == {"kit_harington"}
    camera = client.get("/recognitions?camera=cam-0&per_page=1000", headers=RECOGNIZE).get_json()
    assert 0 < camera["total"] < faces and {r["camera_id"] for r in camera["recognitions"]} == {
        "cam-0"
    }
    since = started.isoformat()
    assert (
        client.get("/recognitions", query_string={"since": since}, headers=RECOGNIZE).get_json()[
            "total"
        ]
        == faces
    )
    assert (
        client.get("/recognitions", query_string={"until": since}, headers=RECOGNIZE).get_json()[
            "total"
        ]
        == 0
    )

    where = client.get("/database/kit_harington/last-known-location", headers=RECOGNIZE).get_json()
    assert where["id_name"] == "kit_harington" and where["location_id"] == "room-kit_harington"
    assert datetime.fromisoformat(where["recognized_at"]) >= started
    people = client.get("/database/people", headers=RECOGNIZE).get_json()["people"]
    assert {p["id_name"] for p in people} == set(held_out)
