"""The one recognition step on real faces: named sightings with their thumbnails."""

import cv2
import numpy as np

from recognition import UNKNOWN, FaceClassifier, load_image
from recognition.calibration import threshold_for
from recognition.gallery import encode
from recognition.sighting import THUMBNAIL_SIZE, recognize, thumbnail
from tests.conftest import FACES, people_images


def _obama_and_biden(analyzer) -> FaceClassifier:
    embeddings, labels = [], []
    for person in ("obama", "biden"):
        for path in people_images()[person][:2]:
            embeddings.append(analyzer.subject(load_image(path.read_bytes()))[2])
            labels.append(person)
    threshold = threshold_for(analyzer.embedder.name, 2, 0.01)
    return FaceClassifier.fit(np.stack(embeddings), labels, threshold, analyzer.embedding_space)


def test_a_scene_gives_named_sightings_with_small_jpegs_of_each_face(analyzer):
    classifier = _obama_and_biden(analyzer)
    rgb = load_image((FACES / "scenes" / "obama_and_biden.jpg").read_bytes())
    result = recognize(analyzer, classifier, rgb, model_version="v7")
    seen = result.sightings
    assert result.faces_found == len(seen)
    assert result.model_version == "v7" and result.embedding_space == analyzer.embedding_space
    assert result.enrolled == {"obama", "biden"}  # nobody asked: all named count as enrolled
    largest = recognize(analyzer, classifier, rgb, max_faces=1)
    assert len(largest.sightings) == 1 and largest.faces_found == result.faces_found
    assert largest.sightings[0].box == seen[0].box
    assert {s.label for s in seen} - {UNKNOWN} == {"obama", "biden"}  # and a bystander
    for sighting in seen:
        assert sighting.known == (sighting.score >= sighting.threshold)
        assert sighting.embedding.shape == (analyzer.embedder.dim,)
        assert sighting.codes == encode(sighting.embedding[None])[0].tobytes()
        face = cv2.imdecode(np.frombuffer(sighting.thumbnail, np.uint8), cv2.IMREAD_COLOR)
        assert max(face.shape[:2]) <= THUMBNAIL_SIZE and len(sighting.thumbnail) < 12_000
    untrained = recognize(analyzer, None, rgb).sightings
    assert [s.label for s in untrained] == [UNKNOWN] * len(seen)
    assert all(s.threshold is None and s.score == 0.0 for s in untrained)


def test_someone_deleted_since_training_is_never_named_and_never_recorded_as_enrolled(analyzer):
    classifier = _obama_and_biden(analyzer)
    rgb = load_image((FACES / "scenes" / "obama_and_biden.jpg").read_bytes())
    asked = []

    def still_enrolled(names):
        asked.append(set(names))
        return set(names) - {"obama"}

    result = recognize(analyzer, classifier, rgb, still_enrolled=still_enrolled)
    assert "obama" not in {s.label for s in result.sightings}
    assert "biden" in {s.label for s in result.sightings}
    assert result.enrolled == {"biden"}
    assert asked[0] == {"obama", "biden"}  # every name is checked, each once
    assert sum(len(names) for names in asked) == len(set().union(*asked))


def test_boxes_are_given_in_the_uploads_own_pixels(analyzer):
    rgb = load_image((FACES / "people" / "obama" / "obama1.jpg").read_bytes())
    full = recognize(analyzer, None, rgb, thumbnails=False).sightings[0]
    halved = recognize(analyzer, None, rgb, scale=0.5, thumbnails=False).sightings[0]
    assert np.allclose(halved.box, np.array(full.box) * 2)
    assert np.allclose(halved.landmarks, full.landmarks * 2)


def test_a_thumbnail_has_a_fixed_size_however_large_the_frame(analyzer):
    """Its cost is bounded by its pixels, not the frame's (timed in benchmarks/sightings.py)."""
    rgb = load_image((FACES / "people" / "obama" / "obama1.jpg").read_bytes())
    box = np.array(analyzer.detect(rgb)[0].box)
    for zoom in (1, 4):
        frame = cv2.resize(rgb, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
        data = thumbnail(frame, box * zoom)
        face = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert max(face.shape[:2]) == THUMBNAIL_SIZE, zoom
        assert len(data) < 12_000, zoom


def test_a_face_cut_by_the_border_still_gives_a_thumbnail():
    rgb = np.full((50, 80, 3), 128, np.uint8)
    assert thumbnail(rgb, (-30.0, -10.0, 20.0, 45.0))[:2] == b"\xff\xd8"
