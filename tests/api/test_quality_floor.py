"""The quality floor on real faces: a face below FACEREC_MIN_CROP_QUALITY names nobody, is no
evidence for its track (though recorded and counted) and is refused for enrolment; enrolment
answers each image's quality and lists it."""

from __future__ import annotations

import cv2
import pytest

from tests.api.conftest import ADMIN, RECOGNIZE, settings_for, upload
from tests.conftest import people_images

FLOOR = 0.5
SMALL_FACE = 46  # px: detected (MTCNN's floor is 40) but of quality ~0.4, below FLOOR


def shrunk(path, face_width: float) -> bytes:
    """The photo scaled so its face is SMALL_FACE px wide, as JPEG."""
    bgr = cv2.imread(str(path))
    scale = SMALL_FACE / face_width
    small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


@pytest.fixture(scope="module")
def trained(make_app, tmp_path_factory):
    app = make_app(settings_for(tmp_path_factory.mktemp("floor"), min_crop_quality=FLOOR))
    client = app.test_client()
    images = people_images()
    widths, qualities = {}, []
    for person, count in (("obama", 2), ("biden", 1)):
        assert client.post(f"/dataset/{person}", headers=ADMIN).status_code == 201
        for path in images[person][:count]:
            response = client.post(f"/dataset/{person}/image", data=upload(path), headers=ADMIN)
            body = response.get_json()
            assert response.status_code == 201, body
            assert FLOOR <= body["quality"] <= 1.0
            widths[path] = body["face"]["right"] - body["face"]["left"]
            qualities += [body["quality"]] if person == "obama" else []
    job = client.post("/model/train", query_string={"wait": "true"}, headers=ADMIN).get_json()
    assert job["state"] == "succeeded", job
    return client, widths, qualities


def test_enrolment_answers_lists_and_floors_quality(trained):
    client, widths, qualities = trained
    listed = client.get("/dataset/obama/images", headers=RECOGNIZE).get_json()
    assert [i["quality"] for i in listed["images"]] == pytest.approx(qualities)
    path = next(p for p in widths if "obama" in str(p))
    refused = client.post(
        "/dataset/obama/image", data=upload(shrunk(path, widths[path])), headers=ADMIN
    )
    assert refused.status_code == 422 and refused.get_json()["error"] == "low_quality"
    assert "quality" in refused.get_json()["message"]
    after = client.get("/dataset/obama/images", headers=RECOGNIZE).get_json()
    assert len(after["images"]) == 2
    assert client.get("/dataset/nobody/images", headers=RECOGNIZE).status_code == 404


def store(client, data: bytes | object, track_id: str) -> dict:
    form = upload(data, camera_id="door", location_id="hall", track_id=track_id)
    response = client.post("/face-recognition/store-results", data=form, headers=RECOGNIZE)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["faces"][0]


def test_a_face_below_the_floor_names_nobody_and_is_no_evidence(trained):
    client, widths, _ = trained
    path = next(p for p in widths if "obama" in str(p))
    small = shrunk(path, widths[path])
    seen = client.post(
        "/face-recognition/get-results", data=upload(small), headers=RECOGNIZE
    ).get_json()["faces"][0]
    assert seen["below_quality_floor"] is True and seen["quality"] < FLOOR
    assert seen["top_prediction"]["label"] == "unknown"

    good = store(client, path, "walk")
    assert good["below_quality_floor"] is False and good["track"]["label"] == "obama"
    poor = store(client, small, "walk")
    assert poor["top_prediction"]["label"] == "unknown" and poor["below_quality_floor"] is True
    assert poor["track"]["label"] == "obama" and poor["track"]["faces"] == 1
    track = client.get("/tracks/door/walk", headers=RECOGNIZE).get_json()
    assert track["crops"] == 2 and track["faces"] == 1

    alone = store(client, small, "blur")["track"]
    assert alone["label"] == "unknown" and alone["faces"] == 0
    assert client.get("/tracks/door/blur", headers=RECOGNIZE).get_json()["crops"] == 1


def test_the_floor_is_read_from_the_environment(monkeypatch):
    from api.config import Settings

    monkeypatch.setenv("FACEREC_MIN_CROP_QUALITY", "0.42")
    assert Settings.from_env().min_crop_quality == 0.42
    monkeypatch.setenv("FACEREC_MIN_CROP_QUALITY", "1.5")
    with pytest.raises(ValueError, match="FACEREC_MIN_CROP_QUALITY"):
        Settings.from_env()
