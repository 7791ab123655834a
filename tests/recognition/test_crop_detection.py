"""Detection on an edge crop starts at a face a third of the crop: same faces, fewer levels.

The crops are cut as the edge cuts them (UltraFace, 25% margin, longer side <= 300 px, JPEG q90)
from every photo of tests/data (LFW aside) and from the clip's frames.
"""

import cv2
import numpy as np
import pytest

from edge.crops import crop_face, encode_jpeg, limit_size
from edge.detector import UltraFaceDetector
from recognition import FaceAnalyzer, load_image
from tests.conftest import FACES

CROP_FRACTION = 1 / 3  # the service's default (FACEREC_CROP_MIN_FACE_FRACTION)
PHOTOS = ("people/*/*", "scenes/*", "hard/*")


@pytest.fixture(scope="module")
def service_analyzer(bundle_dir):
    return FaceAnalyzer.from_bundle(bundle_dir, min_face_size=40)  # the service's min face


def _edge_crops(bundle_dir, frames) -> list[np.ndarray]:
    detector = UltraFaceDetector(bundle_dir / "ultraface/version-RFB-320.onnx")
    crops = []
    for bgr in frames:
        for detection in detector.detect(bgr):
            pixels, _ = crop_face(bgr, detection.box, 0.25)
            crops.append(load_image(encode_jpeg(limit_size(pixels, 300), 90)))
    return crops


@pytest.fixture(scope="module")
def photo_crops(bundle_dir) -> list[np.ndarray]:
    paths = sorted(p for pattern in PHOTOS for p in FACES.glob(pattern))
    frames = [cv2.cvtColor(load_image(p.read_bytes()), cv2.COLOR_RGB2BGR) for p in paths]
    return _edge_crops(bundle_dir, frames)


@pytest.fixture(scope="module")
def clip_crops(bundle_dir) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(FACES / "video/short_hamilton_clip.mp4"))
    frames, index = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % 5 == 0:
            frames.append(frame)
        index += 1
    capture.release()
    return _edge_crops(bundle_dir, frames)


def _iou(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    inter = np.prod(np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None))
    return float(inter / (np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter))


def _assert_same_faces(analyzer, crops):
    assert crops
    found = 0
    for crop in crops:
        whole = analyzer.detect(crop)
        as_crop = analyzer.detect(crop, CROP_FRACTION)
        assert len(as_crop) == len(whole), crop.shape
        for a, b in zip(whole, as_crop, strict=True):
            assert _iou(a.box, b.box) >= 0.95, crop.shape
            np.testing.assert_allclose(a.landmarks, b.landmarks, atol=2.0)
        found += bool(whole)
    assert found >= 0.9 * len(crops)  # the crops do hold faces: the comparison is not vacuous


def test_crops_of_every_photo_give_the_same_faces(service_analyzer, photo_crops):
    assert len(photo_crops) >= 25
    _assert_same_faces(service_analyzer, photo_crops)


def test_crops_of_the_clip_give_the_same_faces(service_analyzer, clip_crops):
    assert len(clip_crops) >= 50
    _assert_same_faces(service_analyzer, clip_crops)


def test_a_crop_keeps_only_the_pyramid_levels_of_large_faces(service_analyzer):
    mtcnn = service_analyzer.backend.mtcnn
    whole = mtcnn.scales(300, 210)
    as_crop = mtcnn.scales(300, 210, CROP_FRACTION)
    assert len(whole) == 5 and len(as_crop) == 3
    assert as_crop == whole[-3:]  # the same levels as the whole image's, so the same boxes
    assert max(as_crop) * 210 / 3 <= 12.0 + 1e-6  # none looks for a face under a third


def test_a_small_crop_still_honours_the_minimum_face_size(service_analyzer):
    mtcnn = service_analyzer.backend.mtcnn
    assert mtcnn.smallest_face(90, 90, CROP_FRACTION) == 40
    assert mtcnn.scales(90, 90, CROP_FRACTION) == mtcnn.scales(90, 90)


def test_p_net_runs_on_fewer_pixels_for_a_crop(service_analyzer, photo_crops):
    mtcnn = service_analyzer.backend.mtcnn

    def pnet_pixels(fraction):
        return sum(
            int(h * s + 1) * int(w * s + 1)
            for crop in photo_crops
            for h, w in [crop.shape[:2]]
            for s in mtcnn.scales(h, w, fraction)
        )

    assert pnet_pixels(CROP_FRACTION) < 0.35 * pnet_pixels(0.0)
