"""UltraFace on real faces: every portrait has its face, group photos have each face once."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.detector import UltraFaceDetector, hard_nms
from tests.conftest import FACES, people_images


def test_every_portrait_has_a_face_inside_the_image(detector):
    for person, paths in people_images().items():
        for path in paths:
            image = cv2.imread(str(path))
            faces = detector.detect(image)
            assert faces, f"no face in {person}/{path.name}"
            left, top, right, bottom = faces[0].box
            assert 0 <= left < right <= image.shape[1] and 0 <= top < bottom <= image.shape[0]
            assert faces[0].score > 0.7
            # The best face is a real face, not a speck: at least a twelfth of the image's width.
            assert faces[0].width > image.shape[1] / 12


@pytest.mark.parametrize("model", ["RFB-320", "RFB-640", "slim-320"])
def test_each_model_finds_both_people_once(ultraface_dir, model):
    detector = UltraFaceDetector(ultraface_dir / f"version-{model}.onnx")
    faces = detector.detect(cv2.imread(str(FACES / "scenes" / "two_people.jpg")))
    assert len(faces) == 2
    left_face, right_face = sorted(faces, key=lambda f: f.box[0])
    # Two different people, side by side: the boxes do not overlap.
    assert left_face.box[2] < right_face.box[0]
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)


def test_a_frame_without_faces_gives_none(detector):
    assert detector.detect(np.full((480, 640, 3), 128, np.uint8)) == []


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_ones():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], np.float32)
    scores = np.array([0.8, 0.9, 0.75], np.float32)
    assert hard_nms(boxes, scores, 0.3).tolist() == [1, 2]
    # At a looser threshold the overlapping pair (IoU 0.68) both stay.
    assert sorted(hard_nms(boxes, scores, 0.7).tolist()) == [0, 1, 2]


def test_bad_frames_and_missing_models_are_clear_errors(detector, tmp_path):
    with pytest.raises(ValueError, match="BGR frame"):
        detector.detect(np.zeros((10, 10), np.uint8))
    with pytest.raises(FileNotFoundError, match="--model"):
        UltraFaceDetector(tmp_path / "missing.onnx")
