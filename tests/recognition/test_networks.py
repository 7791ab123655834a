"""The registry of networks (recognition/networks/): one module per network, one way to choose an
embedder and a backend by name, and every choice that starts can also train."""

import dataclasses

import numpy as np
import pytest

from recognition import FaceAnalyzer, load_image, networks
from recognition.bundle import load_manifest
from recognition.calibration import threshold_for
from tests.conftest import FACES, faces_and_embeddings


def test_the_bundle_holds_exactly_the_registrys_networks_and_ultraface(bundle_dir):
    files = set(load_manifest(bundle_dir)["files"])
    registered = {name for network in networks.BUNDLED for name in network.files}
    assert registered <= files
    assert {name.split("/")[0] for name in files - registered} == {"ultraface"}


def test_every_embedder_that_can_be_chosen_has_a_threshold():
    for name in networks.EMBEDDERS:
        for backend in networks.BACKENDS.values():
            if not backend.embedders or name in backend.embedders:
                networks.choose(name, backend.name)
                assert 0 < threshold_for(name, 100, 0.01) < 1


def test_the_torch_backend_embeds_as_casia_and_gets_a_threshold(bundle_dir):
    pytest.importorskip("torch")
    pytest.importorskip("facenet_pytorch")
    reference = FaceAnalyzer.from_bundle(bundle_dir, backend="torch", embedder="casia")
    served = FaceAnalyzer.from_bundle(bundle_dir, embedder="casia")
    assert reference.embedder.name == "casia"
    assert reference.embedding_space == served.embedding_space
    # What the trainer and the service ask with the analyzer's embedder name.
    assert threshold_for(reference.embedder.name, 10, 0.01) == threshold_for("casia", 10, 0.01)
    rgb = load_image((FACES / "people/obama/obama2.jpg").read_bytes())
    _, embeddings = faces_and_embeddings(reference, rgb)
    assert embeddings.shape == (1, reference.embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("embedder", "backend", "message"),
    [
        ("arcface", "onnx", r"unknown embedder 'arcface' \(FACEREC_EMBEDDER\)"),
        ("casia", "tensorflow", r"unknown backend 'tensorflow' \(FACEREC_BACKEND\)"),
        ("sface+dlib", "torch", "FACEREC_BACKEND=torch runs only .* not FACEREC_EMBEDDER"),
    ],
)
def test_a_choice_that_cannot_run_is_refused_before_anything_loads(embedder, backend, message):
    with pytest.raises(ValueError, match=message):
        FaceAnalyzer.from_bundle("no-such-bundle", backend=backend, embedder=embedder)


def test_an_embedder_without_calibration_is_refused_at_start_up(monkeypatch):
    uncalibrated = dataclasses.replace(networks.EMBEDDERS["sface"], impostor_tail=None)
    monkeypatch.setitem(networks.EMBEDDERS, "sface", uncalibrated)
    with pytest.raises(ValueError, match="FACEREC_EMBEDDER=sface has no calibration table"):
        networks.choose("sface")
