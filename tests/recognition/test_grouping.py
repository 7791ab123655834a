"""Unknown faces grouped one at a time, on real LFW photos: one group per person."""

import numpy as np

from benchmarks.grouping_quality import group_all, purity_and_fragmentation
from recognition import load_image
from recognition.calibration import threshold_for
from recognition.grouping import FaceGroups
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
