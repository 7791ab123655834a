"""FaceAnalyzer on real images: what it finds, what it refuses, and how it embeds."""

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from recognition import FaceAnalyzer, load_image
from tests.conftest import FACES, ROOT, faces_and_embeddings


def _jpeg(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_every_portrait_has_its_face(analyzer):
    for path in sorted((FACES / "people").glob("*/*")):
        faces = analyzer.detect(load_image(path.read_bytes()))
        assert faces, path
        assert faces[0].probability > 0.95


@pytest.fixture(scope="module", params=["casia", "sface", "dlib", "sface+dlib"])
def each_embedder(request, bundle_dir):
    return FaceAnalyzer.from_bundle(bundle_dir, embedder=request.param)


def _embedding(analyzer, name):
    return faces_and_embeddings(analyzer, load_image((FACES / "people" / name).read_bytes()))[1][0]


def test_embeddings_are_unit_vectors_of_the_embedders_size(each_embedder):
    rgb = load_image((FACES / "scenes/two_people.jpg").read_bytes())
    faces, embeddings = faces_and_embeddings(each_embedder, rgb)
    size = {"casia": 512, "sface": 128, "dlib": 128, "sface+dlib": 256}
    assert len(faces) == 2
    assert embeddings.shape == (2, size[each_embedder.embedder.name])
    assert embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_the_same_face_is_nearer_than_another_person_with_every_embedder(each_embedder):
    obama_a = _embedding(each_embedder, "obama/obama2.jpg")
    obama_b = _embedding(each_embedder, "obama/obama4.jpg")
    biden = _embedding(each_embedder, "biden/biden1.jpg")
    assert obama_a @ obama_b > obama_a @ biden


def test_each_embedder_has_its_own_embedding_space(bundle_dir):
    spaces = {
        FaceAnalyzer.from_bundle(bundle_dir, embedder=name).embedding_space
        for name in ("casia", "sface", "sface+dlib")
    }
    assert len(spaces) == 3


def test_an_unknown_embedder_is_refused(bundle_dir):
    with pytest.raises(ValueError, match="unknown embedder"):
        FaceAnalyzer.from_bundle(bundle_dir, embedder="arcface")


def test_a_faceless_image_has_no_faces(analyzer):
    rng = np.random.default_rng(1)
    sky = np.clip(rng.normal(140, 8, (480, 640, 3)), 0, 255).astype(np.uint8)
    assert faces_and_embeddings(analyzer, load_image(_jpeg(sky)))[0] == []


def test_a_one_pixel_image_has_no_faces(analyzer):
    assert analyzer.detect(np.zeros((1, 1, 3), np.uint8)) == []


def test_a_6000_pixel_image_is_answered_with_boxes_in_its_own_coordinates(analyzer):
    portrait = load_image((FACES / "people/obama/obama2.jpg").read_bytes())
    big = np.full((6000, 6000, 3), 200, np.uint8)
    big[2000 : 2000 + portrait.shape[0], 3000 : 3000 + portrait.shape[1]] = portrait
    faces = analyzer.detect(big)
    assert len(faces) == 1
    left, top, right, bottom = faces[0].box
    small = analyzer.detect(portrait)[0].box
    assert abs(left - 3000 - small[0]) < 15 and abs(top - 2000 - small[1]) < 15


def test_the_serving_path_never_imports_torch():
    script = (
        "import sys; from recognition import FaceAnalyzer, FaceClassifier, load_image\n"
        "a = FaceAnalyzer.from_bundle('models')\n"
        "rgb = load_image(open('tests/data/people/biden/biden1.jpg', 'rb').read())\n"
        "a.embed(rgb, a.detect(rgb))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True)
