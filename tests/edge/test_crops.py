"""Crops: the margin grows the box, the frame clips it, the JPEG holds exactly those pixels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.crops import crop_face, encode_jpeg, grow_box, limit_size
from edge.pipeline import FaceCropper
from tests.conftest import FACES


def test_margin_grows_each_side_by_a_fraction_of_the_box():
    assert grow_box((100, 100, 200, 140), 0.25, (1000, 1000, 3)) == (75, 90, 225, 150)
    assert grow_box((100, 100, 200, 140), 0.0, (1000, 1000, 3)) == (100, 100, 200, 140)


def test_grown_box_is_clipped_to_the_frame():
    assert grow_box((0, 5, 50, 60), 0.5, (64, 60, 3)) == (0, 0, 60, 64)


def test_partial_face_at_the_border_crops_inside_the_frame(detector):
    image = cv2.imread(str(FACES / "hard" / "obama_partial_face.jpg"))
    face = detector.detect(image)[0]
    pixels, box = crop_face(image, face.box, 0.25)
    assert box[0] == 0  # the face touches the left edge
    assert pixels.shape[:2] == (box[3] - box[1], box[2] - box[0])
    assert np.array_equal(pixels, image[box[1] : box[3], box[0] : box[2]])


def test_jpeg_round_trip_keeps_size_and_quality_changes_bytes(detector):
    image = cv2.imread(str(FACES / "people" / "obama" / "obama1.jpg"))
    pixels, _ = crop_face(image, detector.detect(image)[0].box)
    high, low = encode_jpeg(pixels, 95), encode_jpeg(pixels, 40)
    decoded = cv2.imdecode(np.frombuffer(high, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == pixels.shape
    assert np.abs(decoded.astype(int) - pixels).mean() < 3
    assert len(low) < len(high)
    with pytest.raises(ValueError, match="quality"):
        encode_jpeg(pixels, 0)


def test_limit_size_shrinks_only_large_images():
    image = np.zeros((300, 200, 3), np.uint8)
    assert limit_size(image, 150).shape == (150, 100, 3)
    assert limit_size(image, 400) is image


def test_cropper_drops_small_faces_and_shrinks_big_ones(detector):
    image = cv2.imread(str(FACES / "scenes" / "obama_and_biden.jpg"))
    all_faces = FaceCropper(detector).detect(image)
    widths = sorted(f.width for f in all_faces)
    cropper = FaceCropper(detector, min_size=widths[0] + 1, max_size=100)
    crops = cropper.crops(image)
    assert len(crops) == len(all_faces) - 1
    for crop in crops:
        decoded = cv2.imdecode(np.frombuffer(crop.jpeg, np.uint8), cv2.IMREAD_COLOR)
        left, top, right, bottom = crop.face_in_crop()
        assert right - left == pytest.approx(100, abs=2)  # the face is now max_size wide
        assert left >= 0 and right <= decoded.shape[1] + 1 and bottom <= decoded.shape[0] + 1
