"""A track of two or more crops is judged template against template: the mean of its faces
against the person's mean enrolled face, at the track tables' threshold for its condition."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from recognition import UNKNOWN, FaceClassifier, load_image
from recognition.calibration import decision_threshold
from recognition.gallery import decode_one
from recognition.sighting import recognize
from recognition.subject import choose_subject
from recognition.tracks import (
    TRACK_FALSE_ACCEPT_RATE,
    TrackDecision,
    TrackJudge,
    track_threshold,
)

LFW = Path(__file__).resolve().parents[1] / "data" / "lfw"
FACE_RATE = 0.01


def subject_embedding(analyzer, rgb: np.ndarray) -> np.ndarray:
    faces = analyzer.detect(rgb)
    chosen = choose_subject([f.box for f in faces], rgb.shape[1], rgb.shape[0])
    assert chosen is not None
    return analyzer.embed(rgb, [faces[chosen]])[0]


def frames(analyzer, path: Path) -> np.ndarray:
    """Two frames of one photo as a camera passing would give them: as is, and mirrored."""
    rgb = load_image(path.read_bytes())
    return np.stack([subject_embedding(analyzer, rgb), subject_embedding(analyzer, rgb[:, ::-1])])


@pytest.fixture(scope="module")
def enrolled(analyzer):
    """Every test LFW person but their last photo enrolled; (classifier, held-out photos)."""
    vectors, names, held_out = [], [], {}
    for folder in sorted((LFW / "enrolled").iterdir()):
        photos = sorted(folder.glob("*.jpg"))
        held_out[folder.name] = photos[-1]
        for photo in photos[:-1]:
            vectors.append(subject_embedding(analyzer, load_image(photo.read_bytes())))
            names.append(folder.name)
    people = len(set(names))
    threshold = decision_threshold(analyzer.embedding_space.split("@")[0], people, FACE_RATE)
    classifier = FaceClassifier.fit(np.array(vectors), names, threshold, analyzer.embedding_space)
    return classifier, held_out, np.array(vectors), np.array(names)


def test_the_person_template_is_the_unit_mean_of_their_faces(enrolled):
    classifier, _, vectors, names = enrolled
    probe = vectors[0]
    for person in sorted(set(names)):
        mean = vectors[names == person].mean(axis=0)
        expected = float(probe @ (mean / np.linalg.norm(mean)))
        # The gallery keeps int8 codes of the faces: equal to their precision.
        assert classifier.mean_similarity(probe, person) == pytest.approx(expected, abs=2e-3)
    assert classifier.mean_similarity(probe, "nobody") == float("-inf")


def test_known_tracks_are_named_on_their_template_and_strangers_are_not(analyzer, enrolled):
    classifier, held_out, _, _ = enrolled
    judge = TrackJudge(classifier, FACE_RATE)
    for person, photo in held_out.items():
        evidence = frames(analyzer, photo)
        decision = judge.decide(evidence, grey=False)
        mean = evidence.mean(axis=0) / np.linalg.norm(evidence.mean(axis=0))
        assert decision.label == person and decision.faces == 2
        assert decision.score == pytest.approx(classifier.mean_similarity(mean, person), abs=1e-5)
        # One crop is a single face: its nearest enrolled face, the single-face threshold.
        one = judge.decide(evidence[:1], grey=False)
        assert one.threshold == classifier.threshold
        assert one.score == pytest.approx(classifier.predict(evidence[:1])[0].score, abs=1e-5)
    strangers = sorted((LFW / "strangers").glob("*.jpg"))
    decisions = [judge.decide(frames(analyzer, photo), grey=False) for photo in strangers]
    assert [d.label for d in decisions] == [UNKNOWN] * len(strangers)


def test_track_thresholds_follow_the_condition_and_the_setting(enrolled):
    classifier, *_ = enrolled
    embedder, people = classifier.embedder, len(classifier.labels)
    judge = TrackJudge(classifier, FACE_RATE)
    for grey in (False, True):  # the same rate, each condition's own table
        expected = track_threshold(embedder, people, 4, grey, TRACK_FALSE_ACCEPT_RATE)
        assert judge.threshold(4, grey) == expected
    assert judge.threshold(4, True) < judge.threshold(4, False)  # grey scores lower for everyone
    assert judge.threshold(1, True) == track_threshold(embedder, people, 1, True, FACE_RATE)
    # A longer track is held to a higher bar: its mean lifts strangers too.
    assert judge.threshold(8, False) > judge.threshold(2, False) > judge.threshold(1, False)
    fixed = TrackJudge(classifier, FACE_RATE, track_false_accept_rate=0.01)
    assert fixed.threshold(4, True) == track_threshold(embedder, people, 4, True, 0.01)
    assert fixed.threshold(4, False) < judge.threshold(4, False)
    assert TrackJudge(classifier, FACE_RATE, fixed_threshold=0.5).threshold(8, True) == 0.5


def test_a_grey_crop_of_a_known_face_still_names_them(analyzer, enrolled):
    classifier, held_out, _, _ = enrolled
    judge = TrackJudge(classifier, FACE_RATE)
    person, photo = next(iter(held_out.items()))
    rgb = load_image(photo.read_bytes())
    grey = np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    evidence = np.stack(
        [subject_embedding(analyzer, grey), subject_embedding(analyzer, grey[:, ::-1])]
    )
    assert judge.decide(evidence, grey=True).label == person


def test_a_track_of_one_crop_takes_the_crops_own_decision_without_searching_again(
    analyzer, enrolled
):
    classifier, held_out, _, _ = enrolled
    judge = TrackJudge(classifier, FACE_RATE)
    person, photo = next(iter(held_out.items()))
    seen = recognize(analyzer, classifier, load_image(photo.read_bytes()))
    own = seen.sightings[choose_subject([s.box for s in seen.sightings], 1000, 1000) or 0]
    assert own.label == person
    decide = judge.deciding(own)
    stored = decode_one(own.codes)[None]  # what a stored crop's evidence is
    assert decide(stored, False) == TrackDecision(person, own.score, classifier.threshold, 1)
    assert judge.decide(stored, False).label == person  # the full rule agrees
    # The crop's decision is taken as it is: the gallery is not searched a second time.
    renamed = dataclasses.replace(own, label="someone", score=0.99)
    assert judge.deciding(renamed)(stored, False).label == "someone"
    # Anything else is the full rule: grey, more crops, another face, another threshold.
    assert judge.deciding(renamed)(stored, True) == judge.decide(stored, True)
    two = np.vstack([stored, frames(analyzer, photo)[:1]])
    assert judge.deciding(renamed)(two, False) == judge.decide(two, False)
    stranger = frames(analyzer, sorted((LFW / "strangers").glob("*.jpg"))[0])[:1]
    assert judge.deciding(renamed)(stranger, False) == judge.decide(stranger, False)
    fixed = TrackJudge(classifier, FACE_RATE, fixed_threshold=0.99)
    assert fixed.deciding(renamed)(stored, False) == fixed.decide(stored, False)
