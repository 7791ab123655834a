"""Enrol real people, then recognise held-out photos, strangers and group scenes."""

import numpy as np
import pytest

from recognition import UNKNOWN, FaceClassifier, load_image
from recognition.calibration import threshold_for
from tests.conftest import FACES, faces_and_embeddings, people_images

STRANGER = "lin_manuel_miranda"


def _embed_one(analyzer, path):
    _, chosen, embedding = analyzer.subject(load_image(path.read_bytes()))
    assert chosen is not None, f"no clear face in {path}"
    return embedding


def _fit(analyzer, embeddings, labels):
    threshold = threshold_for(analyzer.embedder.name, len(set(labels)), 0.01)
    return FaceClassifier.fit(np.array(embeddings), labels, threshold, analyzer.embedding_space)


@pytest.fixture(scope="module")
def enrolment(analyzer):
    """Train on every person but the stranger, holding out one image of each with >= 2."""
    embeddings, labels, held_out = [], [], {}
    for person, paths in people_images().items():
        if person == STRANGER:
            held_out[person] = paths[0]
            continue
        if len(paths) >= 2:
            held_out[person], paths = paths[-1], paths[:-1]
        for path in paths:
            embeddings.append(_embed_one(analyzer, path))
            labels.append(person)
    return _fit(analyzer, embeddings, labels), held_out


def test_the_default_embedder_is_the_fusion_measured_best(analyzer):
    assert analyzer.embedder.name == "sface+dlib" and analyzer.embedder.dim == 256
    assert analyzer.embedding_space.startswith("sface+dlib@")


def test_every_held_out_photo_is_recognised(analyzer, enrolment):
    classifier, held_out = enrolment
    for person, path in held_out.items():
        if person == STRANGER:
            continue
        prediction = classifier.predict(_embed_one(analyzer, path)[None])[0]
        assert prediction.label == person, (path, prediction)
        assert prediction.score >= prediction.threshold == classifier.threshold


def test_a_person_never_enrolled_is_unknown(analyzer, enrolment):
    classifier, held_out = enrolment
    prediction = classifier.predict(_embed_one(analyzer, held_out[STRANGER])[None])[0]
    assert prediction.label == UNKNOWN
    assert prediction.score < prediction.threshold
    assert prediction.candidates[0][0] != STRANGER  # the gallery proposed someone anyway


@pytest.mark.parametrize(
    ("scene", "people"),
    [("two_people.jpg", {"obama", "biden"}), ("obama_and_biden.jpg", {"obama", "biden"})],
)
def test_group_scenes_name_the_right_people(analyzer, enrolment, scene, people):
    classifier, _ = enrolment
    _, embeddings = faces_and_embeddings(
        analyzer, load_image((FACES / "scenes" / scene).read_bytes())
    )
    named = {p.label for p in classifier.predict(embeddings)} - {UNKNOWN}
    assert named == people


def test_candidates_are_people_ranked_by_the_svm_with_their_similarity(enrolment):
    classifier, _ = enrolment
    embeddings = classifier.gallery.embeddings
    for embedding, owner in zip(embeddings, classifier.gallery.classes, strict=True):
        prediction = classifier.predict(embedding[None])[0]
        assert prediction.label == classifier.labels[owner]
        assert prediction.score == pytest.approx(1.0, abs=1e-2)  # its own enrolled face
        labels = [label for label, _ in prediction.candidates]
        assert len(labels) == len(set(labels)) and set(labels) <= set(classifier.labels)


def test_a_saved_classifier_predicts_the_same(enrolment):
    classifier, _ = enrolment
    loaded = FaceClassifier.from_bytes(classifier.to_bytes())
    embeddings = classifier.gallery.embeddings
    assert loaded.predict(embeddings) == classifier.predict(embeddings)
    assert loaded.embedding_space == classifier.embedding_space


def test_a_pickle_is_refused():
    import pickle

    with pytest.raises(ValueError, match="not a facerec classifier"):
        FaceClassifier.from_bytes(pickle.dumps({"format": 2}))


def test_a_forgotten_person_is_never_named(analyzer, enrolment):
    classifier, held_out = enrolment
    obama = _embed_one(analyzer, held_out["obama"])[None]
    assert classifier.predict(obama)[0].label == "obama"
    assert classifier.predict(obama, frozenset({"obama"}))[0].label != "obama"
    without = classifier.without(["obama"])
    assert "obama" not in without.labels and without.gallery.size < classifier.gallery.size
    assert without.predict(obama)[0].label == UNKNOWN
    biden = _embed_one(analyzer, held_out["biden"])[None]
    assert without.predict(biden)[0].label == "biden"


def test_one_enrolled_person_is_recognised_by_similarity_alone(analyzer):
    obama = people_images()["obama"]
    classifier = _fit(analyzer, [_embed_one(analyzer, p) for p in obama[:3]], ["obama"] * 3)
    assert classifier.svm is None
    assert classifier.predict(_embed_one(analyzer, obama[3])[None])[0].label == "obama"
    biden = _embed_one(analyzer, people_images()["biden"][0])
    assert classifier.predict(biden[None])[0].label == UNKNOWN


def test_training_needs_data():
    with pytest.raises(ValueError):
        FaceClassifier.fit(np.zeros((0, 256)), [], 0.5)


def test_the_threshold_grows_with_the_gallery():
    thresholds = [threshold_for("sface+dlib", n, 0.01) for n in (1, 100, 1000, 10_000)]
    assert thresholds == sorted(thresholds) and len(set(thresholds)) == 4
    assert threshold_for("sface+dlib", 100, 0.001) > threshold_for("sface+dlib", 100, 0.01)
    with pytest.raises(ValueError):
        threshold_for("sface+dlib", 100, 0)
