"""FaceAnalyzer on real images: what it finds, what it refuses, and how it embeds."""

import io
import subprocess
import sys

import numpy as np
from PIL import Image

from api.recognition import load_image
from tests.conftest import FACES, ROOT


def _jpeg(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_every_portrait_has_its_face(analyzer):
    for path in sorted((FACES / "people").glob("*/*")):
        faces = analyzer.detect(load_image(path.read_bytes()))
        assert faces, path
        assert faces[0].probability > 0.95


def test_embeddings_are_unit_vectors_of_512(analyzer):
    rgb = load_image((FACES / "scenes/two_people.jpg").read_bytes())
    faces, embeddings = analyzer.analyze(rgb)
    assert len(faces) == 2
    assert embeddings.shape == (2, 512) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_the_same_face_embeds_close_and_different_people_far(analyzer):
    def embedding(name):
        return analyzer.analyze(load_image((FACES / "people" / name).read_bytes()))[1][0]

    obama_a, obama_b = embedding("obama/obama2.jpg"), embedding("obama/obama4.jpg")
    biden = embedding("biden/biden1.jpg")
    assert np.linalg.norm(obama_a - obama_b) < 0.9 < 1.1 < np.linalg.norm(obama_a - biden)


def test_a_faceless_image_has_no_faces(analyzer):
    rng = np.random.default_rng(1)
    sky = np.clip(rng.normal(140, 8, (480, 640, 3)), 0, 255).astype(np.uint8)
    assert analyzer.analyze(load_image(_jpeg(sky)))[0] == []


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
        "import sys; from api.recognition import FaceAnalyzer, FaceClassifier, load_image\n"
        "a = FaceAnalyzer.from_bundle('models')\n"
        "a.analyze(load_image(open('../shared/faces/people/biden/biden1.jpg', 'rb').read()))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True)
