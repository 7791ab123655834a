"""Grouping unknown faces (recognition/grouping.py) on LFW: purity and groups per person.

Every photo of the LFW people with 2-5 photos arrives as an unknown sighting, in a shuffled
order, plus the 1,000 strangers (one photo each, so one group each at best). For a range of
join thresholds: purity (faces in a group whose majority is their own person) and groups per
person (1.0: every person is one group).
Reads the LFW calibration set in ../shared/faces/lfw (FACEREC_LFW overrides it).

    python benchmarks/unknowns.py [--embedder sface+dlib]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import lfw  # noqa: E402
from grouping_quality import group_all, purity_and_fragmentation  # noqa: E402

from recognition.calibration import threshold_for  # noqa: E402
from recognition.grouping import FaceGroups  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="sface+dlib")
    args = parser.parse_args()
    data = lfw.load(args.embedder)
    rows = np.flatnonzero(data.accepted)
    order = np.random.default_rng(0).permutation(rows)
    people = data.people[order]
    repeated = ~data.stranger[order]
    print(f"{len(order)} unknown faces ({repeated.sum()} of people seen 2-5 times)")
    print(
        "| join threshold | false-accept share it corresponds to | groups | purity | "
        "groups per person (seen 2-5 times) |"
    )
    print("|---|---|---|---|---|")
    for far in (0.01, 0.001, 0.0001, 0.00001, 0.000001):
        threshold = threshold_for(args.embedder, 1, far)
        groups = group_all(FaceGroups(threshold), data.embeddings[order])
        purity, _ = purity_and_fragmentation(groups, people)
        _, per_person = purity_and_fragmentation(groups[repeated], people[repeated])
        print(
            f"| {threshold:.3f} | {far:g} | {len(np.unique(groups))} | {purity:.2%} | "
            f"{per_person:.2f} |"
        )


if __name__ == "__main__":
    main()
