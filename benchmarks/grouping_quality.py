"""How well unknown faces were grouped (recognition/grouping.py): what benchmarks/unknowns.py
reports and tests/recognition/test_grouping.py checks. Not used by the service."""

from __future__ import annotations

import numpy as np

from recognition.grouping import FaceGroups


def group_all(groups: FaceGroups, embeddings: np.ndarray) -> np.ndarray:
    """Each face's group, the faces arriving in order."""
    return np.array([groups.assign(e)[0] for e in embeddings], np.int64)


def purity_and_fragmentation(groups: np.ndarray, people: np.ndarray) -> tuple[float, float]:
    """(share of faces in a group whose majority is their own person, groups per person)."""
    majority = 0
    for group in np.unique(groups):
        _, counts = np.unique(people[groups == group], return_counts=True)
        majority += counts.max()
    per_person = np.mean([len(np.unique(groups[people == p])) for p in np.unique(people)])
    return majority / len(groups), float(per_person)
