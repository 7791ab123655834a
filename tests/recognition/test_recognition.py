"""Enrol real people, then recognise held-out photos, strangers and group scenes."""

import numpy as np
import pytest

from api.recognition import UNKNOWN, FaceClassifier, load_image
from tests.conftest import FACES, people_images

STRANGER = "lin_manuel_miranda"


def _embed_one(analyzer, path):
    faces, embeddings = analyzer.analyze(load_image(path.read_bytes()))
    assert faces, f"no face in {path}"
    return embeddings[0]  # the largest face is the subject


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
    return FaceClassifier.fit(np.array(embeddings), labels), held_out


def test_every_held_out_photo_is_recognised(analyzer, enrolment):
    classifier, held_out = enrolment
    for person, path in held_out.items():
        if person == STRANGER:
            continue
        prediction = classifier.predict(_embed_one(analyzer, path)[None])[0]
        assert prediction.label == person, (path, prediction)


def test_a_person_never_enrolled_is_unknown(analyzer, enrolment):
    classifier, held_out = enrolment
    prediction = classifier.predict(_embed_one(analyzer, held_out[STRANGER])[None])[0]
    assert prediction.label == UNKNOWN
    assert prediction.all_predictions[0][0] != STRANGER  # the SVM had to guess someone


@pytest.mark.parametrize(
    ("scene", "people"),
    [("two_people.jpg", {"obama", "biden"}), ("obama_and_biden.jpg", {"obama", "biden"})],
)
def test_group_scenes_name_the_right_people(analyzer, enrolment, scene, people):
    classifier, _ = enrolment
    _, embeddings = analyzer.analyze(load_image((FACES / "scenes" / scene).read_bytes()))
    named = {p.label for p in classifier.predict(embeddings)} - {UNKNOWN}
    assert named == people


def test_predictions_rank_every_person(enrolment):
    classifier, _ = enrolment
    prediction = classifier.predict(classifier.embeddings[:1])[0]
    ranked = prediction.all_predictions
    assert {label for label, _ in ranked} == set(classifier.labels)
    assert [p for _, p in ranked] == sorted((p for _, p in ranked), reverse=True)
    assert sum(p for _, p in ranked) == pytest.approx(1.0)


def test_a_saved_classifier_predicts_the_same(tmp_path, enrolment):
    classifier, _ = enrolment
    classifier.save(tmp_path / "model.npz")
    loaded = FaceClassifier.load(tmp_path / "model.npz")
    assert loaded.predict(classifier.embeddings) == classifier.predict(classifier.embeddings)


def test_a_pickle_is_refused(tmp_path):
    import pickle

    (tmp_path / "evil.npz").write_bytes(pickle.dumps({"format": 1}))
    with pytest.raises(ValueError, match="not a facerec classifier"):
        FaceClassifier.load(tmp_path / "evil.npz")


def test_probabilities_follow_the_svm_decision(enrolment):
    from sklearn.svm import SVC

    classifier, _ = enrolment
    svm = SVC(kernel="linear", class_weight="balanced").fit(
        classifier.embeddings, classifier.enrolled_labels
    )
    decided = svm.predict(classifier.embeddings)
    ours = np.array(classifier.labels)[classifier.probabilities(classifier.embeddings).argmax(1)]
    assert (decided == ours).all()


def test_one_enrolled_person_is_recognised_by_distance_alone(analyzer):
    obama = people_images()["obama"]
    classifier = FaceClassifier.fit(
        np.array([_embed_one(analyzer, p) for p in obama[:3]]), ["obama"] * 3
    )
    assert classifier.predict(_embed_one(analyzer, obama[3])[None])[0].label == "obama"
    biden = _embed_one(analyzer, people_images()["biden"][0])
    assert classifier.predict(biden[None])[0].label == UNKNOWN


def test_training_needs_data():
    with pytest.raises(ValueError):
        FaceClassifier.fit(np.zeros((0, 512)), [])
