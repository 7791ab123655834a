"""Issue 11, items 9 and 10: strip-shaped images and ids with a trailing newline are 400s."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from api.errors import BadRequest
from api.params import valid_id
from recognition import InvalidImage, load_image
from tests.api.conftest import ADMIN, RECOGNIZE, upload

STRIPS = [(5000, 1), (1, 5000), (12000, 2)]


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 90, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"] == code


# --- item 9: 5000x1, 1x5000, 12000x2 were 500 (cv2.error inv_scale_x > 0) ----------------------


@pytest.mark.parametrize(("width", "height"), STRIPS, ids=lambda v: str(v))
def test_a_strip_is_an_invalid_image(width, height):
    with pytest.raises(InvalidImage, match=f"{width}x{height}"):
        load_image(png(width, height))


@pytest.mark.parametrize(("width", "height"), STRIPS, ids=lambda v: str(v))
def test_a_strip_is_400_on_every_route_that_takes_an_image(client, width, height):
    data = png(width, height)
    response = client.post(
        "/face-recognition/get-results", data=upload(data, "strip.png"), headers=RECOGNIZE
    )
    assert_json_error(response, 400, "invalid_image")
    response = client.post(
        "/face-recognition/store-results",
        data=upload(data, "strip.png", camera_id="cam", location_id="hall"),
        headers=RECOGNIZE,
    )
    assert_json_error(response, 400, "invalid_image")
    client.post("/dataset/strips", headers=ADMIN)
    response = client.post("/dataset/strips/image", data=upload(data, "strip.png"), headers=ADMIN)
    assert_json_error(response, 400, "invalid_image")


def test_wide_but_plausible_frames_still_load():
    assert load_image(png(2000, 100)).shape == (100, 2000, 3)  # 20:1, the limit
    assert load_image(png(1, 1)).shape == (1, 1, 3)


# --- item 10: `/dataset/obama%0A` created `obama\n` ---------------------------------------------


@pytest.mark.parametrize("value", ["obama\n", "obama\r\n", "\nobama", "oba\nma"])
def test_an_id_is_matched_whole(value):
    with pytest.raises(BadRequest):
        valid_id(value, "person id")


def test_an_id_ending_in_a_newline_is_400_everywhere(client):
    assert_json_error(client.post("/dataset/obama%0A", headers=ADMIN), 400, "invalid_id")
    assert_json_error(client.delete("/dataset/obama%0A", headers=ADMIN), 400, "invalid_id")
    response = client.get("/database/obama%0A/last-known-location", headers=ADMIN)
    assert_json_error(response, 400, "invalid_id")
    response = client.get("/recognitions?camera=cam%0A", headers=RECOGNIZE)
    assert_json_error(response, 400, "invalid_id")
    names = [p["id_name"] for p in client.get("/dataset", headers=ADMIN).get_json()["face_ids"]]
    assert not [name for name in names if name.startswith("obama")]
