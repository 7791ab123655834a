"""The ONNX serving path against facenet-pytorch itself (the reference), on every real image."""

import numpy as np
import pytest

from recognition import FaceAnalyzer, load_image
from tests.conftest import FACES

pytestmark = pytest.mark.torch
# The portraits, scenes and hard cases; LFW's 4,518 calibration photos are benchmarks' business.
IMAGES = sorted(
    p
    for p in FACES.rglob("*")
    if p.suffix.lower() in {".jpg", ".png"} and "lfw" not in p.relative_to(FACES).parts
)


def _iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def reference(bundle_dir):
    return FaceAnalyzer.from_bundle(bundle_dir, backend="torch", embedder="casia")


@pytest.fixture(scope="module")
def casia(bundle_dir):
    """The serving path with the design's network, which the reference also runs."""
    return FaceAnalyzer.from_bundle(bundle_dir, embedder="casia")


@pytest.mark.parametrize("path", IMAGES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_mtcnn_matches_facenet_pytorch(analyzer, reference, path):
    rgb = load_image(path.read_bytes())
    ours, theirs = analyzer.detect(rgb), reference.detect(rgb)
    assert len(ours) == len(theirs)
    for face in theirs:
        assert max(_iou(face.box, mine.box) for mine in ours) >= 0.95


def test_embeddings_match_facenet_pytorch(casia, reference):
    for path in IMAGES[:: max(1, len(IMAGES) // 8)]:
        rgb = load_image(path.read_bytes())
        faces = reference.detect(rgb)
        ours, theirs = casia.embed(rgb, faces), reference.embed(rgb, faces)
        assert np.abs(ours - theirs).max() < 1e-4, path


def test_the_converted_network_matches_opencv_running_the_original_graph(reference):
    cv2 = pytest.importorskip("cv2")
    import torch

    from bundler.facenet_graph import graph_path

    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 160, 160)).astype(np.float32)
    net = cv2.dnn.readNetFromTensorflow(str(graph_path()))
    net.setInput(x)
    with torch.no_grad():
        ours = reference.backend.facenet(torch.from_numpy(x)).numpy()
    assert np.abs(net.forward() - ours).max() < 1e-5
