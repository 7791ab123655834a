"""The one recognition step on real faces: named sightings with their thumbnails."""

import time

import cv2
import numpy as np

from recognition import UNKNOWN, FaceClassifier, load_image
from recognition.calibration import threshold_for
from recognition.sighting import THUMBNAIL_SIZE, recognize, thumbnail
from tests.conftest import FACES, people_images


def test_a_scene_gives_named_sightings_with_small_jpegs_of_each_face(analyzer):
    embeddings, labels = [], []
    for person in ("obama", "biden"):
        for path in people_images()[person][:2]:
            embeddings.append(analyzer.subject(load_image(path.read_bytes()))[2])
            labels.append(person)
    threshold = threshold_for(analyzer.embedder.name, 2, 0.01)
    classifier = FaceClassifier.fit(
        np.stack(embeddings), labels, threshold, analyzer.embedding_space
    )
    rgb = load_image((FACES / "scenes" / "obama_and_biden.jpg").read_bytes())
    seen, found = recognize(analyzer, classifier, rgb)
    assert found == len(seen)
    largest, found_again = recognize(analyzer, classifier, rgb, max_faces=1)
    assert len(largest) == 1 and found_again == found and largest[0].box == seen[0].box
    assert {s.label for s in seen} - {UNKNOWN} == {"obama", "biden"}  # and a bystander
    for sighting in seen:
        assert sighting.known == (sighting.score >= sighting.threshold)
        assert sighting.embedding.shape == (analyzer.embedder.dim,)
        face = cv2.imdecode(np.frombuffer(sighting.thumbnail, np.uint8), cv2.IMREAD_COLOR)
        assert max(face.shape[:2]) <= THUMBNAIL_SIZE and len(sighting.thumbnail) < 12_000
    untrained, _ = recognize(analyzer, None, rgb)
    assert [s.label for s in untrained] == [UNKNOWN] * len(seen)
    assert all(s.threshold is None and s.score == 0.0 for s in untrained)


def test_a_thumbnail_costs_well_under_five_milliseconds(analyzer):
    rgb = load_image((FACES / "people" / "obama" / "obama1.jpg").read_bytes())
    face = analyzer.detect(rgb)[0]
    started = time.perf_counter()
    for _ in range(20):
        data = thumbnail(rgb, face.box)
    assert (time.perf_counter() - started) / 20 < 0.005
    assert data[:2] == b"\xff\xd8"  # JPEG


def test_a_face_cut_by_the_border_still_gives_a_thumbnail():
    rgb = np.full((50, 80, 3), 128, np.uint8)
    assert thumbnail(rgb, (-30.0, -10.0, 20.0, 45.0))[:2] == b"\xff\xd8"
