"""Unknown faces grouped one at a time, on real LFW photos: one group per person."""

import numpy as np

from benchmarks.grouping_quality import group_all, purity_and_fragmentation
from recognition import load_image
from recognition.calibration import threshold_for
from recognition.grouping import FaceGroups, Nearby, Seen
from tests.conftest import FACES

LFW = FACES / "lfw"
PEOPLE = ("Aaron_Peirsol", "Abdoulaye_Wade", "Ahmed_Chalabi", "Ai_Sugiyama")


def test_each_person_seen_again_becomes_one_group_of_their_own(analyzer):
    photos = [(p, path) for p in PEOPLE for path in sorted((LFW / "enrolled" / p).glob("*.jpg"))]
    photos += [(path.stem, path) for path in sorted((LFW / "strangers").glob("*.jpg"))[:6]]
    order = np.random.default_rng(1).permutation(len(photos))
    people = np.array([photos[i][0] for i in order])
    embeddings = np.stack(
        [analyzer.subject(load_image(photos[i][1].read_bytes()))[2] for i in order]
    )
    threshold = threshold_for(analyzer.embedder.name, 1, 1e-5)
    groups = group_all(FaceGroups(threshold), embeddings)
    purity, per_person = purity_and_fragmentation(groups, people)
    assert purity == 1.0 and per_person == 1.0, (groups, people)
    assert len(np.unique(groups)) == len(PEOPLE) + 6


def test_a_face_joins_the_group_of_its_nearest_earlier_face():
    groups = FaceGroups(0.8)
    a, b = np.eye(3, dtype=np.float32)[:2]
    near_a = np.array([0.95, 0.31, 0], np.float32)
    assert groups.assign(a) == (0, 1.0)
    assert groups.assign(b)[0] == 1
    group, similarity = groups.assign(near_a / np.linalg.norm(near_a))
    assert group == 0 and 0.8 <= similarity < 1
    assert group_all(groups, np.stack([b, a])).tolist() == [1, 0]


def at_cosine(base: np.ndarray, cosine: float) -> np.ndarray:
    """A unit vector at exactly `cosine` from unit vector `base`."""
    other = np.zeros_like(base)
    other[np.argmin(np.abs(base))] = 1
    other -= (other @ base) * base
    other /= np.linalg.norm(other)
    return (cosine * base + np.sqrt(1 - cosine**2) * other).astype(np.float32)


def test_tracks_near_in_camera_and_time_join_at_the_looser_threshold():
    """0.69 is below the join threshold (0.72) and above the nearby one (0.67): it joins only a
    track of the same camera within the window, never one elsewhere or later."""
    first = np.eye(8, dtype=np.float32)[0]
    again = at_cosine(first, 0.69)
    cases = [
        (Seen("door", 100.0, 110.0), True),  # the same camera, 40 s after: one person
        (Seen("door", 200.0, 210.0), False),  # the same camera, 120 s after
        (Seen("gate", 100.0, 110.0), False),  # another camera at the same time
        (None, False),  # where and when unknown: the join threshold
    ]
    for seen, joins in cases:
        groups = FaceGroups(0.72, nearby=Nearby(0.67, 60.0))
        groups.add(first, 0, Seen("door", 50.0, 60.0))
        group, _ = groups.assign(again, seen)
        assert (group == 0) is joins, seen
    # Near in place and time, but too unlike even for the looser threshold: a group of its own.
    groups = FaceGroups(0.72, nearby=Nearby(0.67, 60.0))
    groups.add(first, 0, Seen("door", 50.0, 60.0))
    assert groups.assign(at_cosine(first, 0.6), Seen("door", 61.0, 62.0))[0] == 1
