"""The `crop` form field of get-results/store-results: an edge crop is re-detected cheaply, a
whole photo marked as a crop loses only its small faces, a bad value is a 400."""

import cv2
import pytest

from edge.crops import crop_face, encode_jpeg, limit_size
from edge.detector import UltraFaceDetector
from tests.api.conftest import RECOGNIZE, upload
from tests.conftest import BUNDLE, FACES


@pytest.fixture(scope="module")
def edge_crop() -> bytes:
    bgr = cv2.imread(str(FACES / "people/obama/obama2.jpg"))
    detector = UltraFaceDetector(BUNDLE / "ultraface/version-RFB-320.onnx")
    pixels, _ = crop_face(bgr, detector.detect(bgr)[0].box, 0.25)
    return encode_jpeg(limit_size(pixels, 300), 90)


def _boxes(client, data: bytes, **fields) -> list[dict]:
    answer = client.post(
        "/face-recognition/get-results", data=upload(data, **fields), headers=RECOGNIZE
    )
    assert answer.status_code == 200, answer.get_json()
    return [face["bounding_box"] for face in answer.get_json()["faces"]]


def test_an_edge_crop_marked_as_a_crop_gives_the_same_face(client, edge_crop):
    as_photo = _boxes(client, edge_crop)
    as_crop = _boxes(client, edge_crop, crop="true")
    assert len(as_photo) == 1
    assert as_crop == as_photo


def test_a_group_photo_marked_as_a_crop_loses_its_small_faces(client):
    """Why `crop` is the client's word, not guessed from the image: the four faces of this
    photo are 8-13% of its short side, under the third a crop looks for."""
    photo = (FACES / "scenes/obama_and_biden.jpg").read_bytes()
    whole = _boxes(client, photo)
    assert len(whole) == 4
    assert _boxes(client, photo, crop="false") == whole
    assert _boxes(client, photo, crop="true") == []


def test_a_bad_crop_value_is_400(client, edge_crop):
    answer = client.post(
        "/face-recognition/get-results", data=upload(edge_crop, crop="maybe"), headers=RECOGNIZE
    )
    assert answer.status_code == 400
    assert "crop" in answer.get_json()["message"]


def test_the_crop_field_is_in_the_spec(client):
    spec = client.get("/swagger.json").get_json()
    for route in ("/face-recognition/get-results", "/face-recognition/store-results"):
        names = {p["name"] for p in spec["paths"][route]["post"]["parameters"]}
        assert "crop" in names, route
