"""Which face an enrolment photo is of: the dominant one, on real photos and on plain boxes."""

import numpy as np
import pytest

from recognition import load_image
from recognition.align import align_face, similarity_transform
from recognition.networks.sface import ARCFACE_112
from recognition.subject import choose_subject
from tests.conftest import FACES

LFW = FACES / "lfw" / "enrolled"


def test_a_clearly_larger_face_is_the_subject():
    assert choose_subject([(0, 0, 50, 50), (100, 100, 200, 200)], 400, 400) == 1


def test_among_similar_sizes_the_face_nearest_the_centre_is_the_subject():
    boxes = [(10, 10, 110, 110), (150, 150, 250, 250)]
    assert choose_subject(boxes, 400, 400) == 1


def test_two_equally_plausible_faces_have_no_subject():
    boxes = [(50, 150, 150, 250), (250, 150, 350, 250)]  # side by side, same size
    assert choose_subject(boxes, 400, 400) is None
    assert choose_subject([], 400, 400) is None


def test_a_bystander_cut_by_the_frame_counts_for_what_shows():
    # MTCNN extends a half-visible face's box past the edge (Frances_Fisher_0001 in LFW).
    boxes = [(-91, 7, 42, 162), (82, 69, 177, 196)]
    assert choose_subject(boxes, 250, 250) == 1


@pytest.mark.parametrize(
    "photo",
    ["Frances_Fisher/Frances_Fisher_0001.jpg", "Betsy_Smith/Betsy_Smith_0002.jpg"],
)
def test_lfw_photos_with_bystanders_enrol_their_subject(analyzer, photo):
    rgb = load_image((LFW / photo).read_bytes())
    faces, chosen, embedding = analyzer.subject(rgb)
    assert len(faces) >= 2 and chosen is not None and embedding is not None
    left, top, right, bottom = faces[chosen].box
    assert abs((left + right) / 2 - 125) < 30 and abs((top + bottom) / 2 - 125) < 40


def test_the_scene_of_two_people_has_no_clear_subject(analyzer):
    rgb = load_image((FACES / "scenes" / "two_people.jpg").read_bytes())
    faces, chosen, _ = analyzer.subject(rgb)
    assert len(faces) == 2 and chosen is None


def test_the_similarity_transform_recovers_a_known_one():
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    source = ARCFACE_112 * 2 + 7
    target = source @ (scale * rotation).T + shift
    matrix = similarity_transform(source, target)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_a_face_in_a_huge_photo_aligns_like_the_same_face_in_a_small_one(analyzer):
    portrait = load_image((FACES / "people" / "obama" / "obama2.jpg").read_bytes())
    face = analyzer.detect(portrait)[0]
    small = align_face(portrait, face.landmarks, ARCFACE_112, 112)
    big = np.kron(portrait, np.ones((4, 4, 1), np.uint8))  # 4x the pixels, same picture
    large = align_face(big, face.landmarks * 4 + 1.5, ARCFACE_112, 112)
    assert small.shape == large.shape == (112, 112, 3)
    assert np.abs(small.astype(int) - large.astype(int)).mean() < 6
