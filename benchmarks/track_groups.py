"""Grouping unknown TRACKS on LFW: which join rate keeps groups pure and one person one group.

The grouper (workers/grouper.py) groups strangers' tracks, each by its code (the mean of its
best crops), not single faces. Fewer, steadier codes than faces: the join rate chosen for faces
(benchmarks/unknowns.py) may be stricter than tracks need. Every LFW person arrives as their
tracks, in a shuffled order: each of up to 3 clean photos is a 1-crop track (a good shot), and
the camera-degraded frames of their other photos (benchmarks/tracks.py's cache, seed 22, colour;
people with 4-5 photos) are one walk-by track, the mean of its frames. Each of the 1,000
strangers is one degraded track (one group each at best). For each join rate (share of pairs of
different people the threshold lets through): purity (tracks in a group whose majority is their
own person), groups per person, and how many people with a walk-by track found it joined to one
of their good shots. Reads ../shared/faces/lfw through benchmarks/tracks.py's cache.

    nice -n 5 .venv/bin/python benchmarks/track_groups.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tracks as walk  # noqa: E402
from grouping_quality import group_all, purity_and_fragmentation  # noqa: E402
from lfw import photos  # noqa: E402

from recognition.calibration import threshold_for  # noqa: E402
from recognition.grouping import FaceGroups  # noqa: E402

RATES = (1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3)
SEED = 22


def cached(paths: list[str]) -> bool:
    count = walk.FRAMES // len(paths)
    folder = walk.space_dir() / f"seed{SEED}"
    return all((folder / f"{Path(p).stem}-{count}.npz").exists() for p in paths)


def walk_by(paths: list[str]) -> np.ndarray | None:
    """A walk-by track's code: the mean of its found degraded frames (None: no face found)."""
    if not cached(paths):
        return None
    return walk.mean_of(walk.track(paths, SEED, "colour"), walk.FRAMES)


def all_tracks() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes [n, d], person of each, whether each is a walk-by) for every LFW track."""
    gallery = walk.clean_gallery(workers=1)
    found = ~np.isnan(gallery["embeddings"][:, 0])
    codes = list(gallery["embeddings"][found])
    people = list(gallery["people"][found])
    walked = [False] * len(codes)
    held = {p: paths[walk.ENROL :] for p, paths in walk.enrolled_photos().items()}
    strangers = [[path] for path, _, stranger in photos() if stranger]
    for person, paths in [*held.items(), *((p[0], p) for p in strangers)]:
        code = walk_by(paths) if paths else None
        if code is not None:
            codes.append(code)
            people.append(person)
            walked.append(True)
    return np.array(codes, np.float32), np.array(people), np.array(walked)


def joined_walks(groups: np.ndarray, people: np.ndarray, walked: np.ndarray) -> tuple[int, int]:
    """(people with a walk-by track and a good shot, of them whose walk-by joined a good shot's
    group)."""
    both = joined = 0
    for person in np.unique(people[walked]):
        mine = people == person
        shots, walks = groups[mine & ~walked], groups[mine & walked]
        if len(shots):
            both += 1
            joined += bool(np.isin(walks, shots).any())
    return both, joined


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default=walk.EMBEDDER)
    args = parser.parse_args()
    codes, people, walked = all_tracks()
    order = np.random.default_rng(0).permutation(len(codes))
    codes, people, walked = codes[order], people[order], walked[order]
    print(f"{len(codes)} tracks: {(~walked).sum()} good shots, {walked.sum()} walk-bys")
    print("| join rate | threshold | purity | groups per person | walk-by joined its person |")
    print("|---|---|---|---|---|")
    for rate in RATES:
        threshold = threshold_for(args.embedder, 1, rate)
        groups = group_all(FaceGroups(threshold), codes)
        purity, per_person = purity_and_fragmentation(groups, people)
        both, joined = joined_walks(groups, people, walked)
        print(
            f"| {rate:g} | {threshold:.3f} | {100 * purity:.2f}% | {per_person:.2f} | "
            f"{joined}/{both} ({100 * joined / max(both, 1):.1f}%) |"
        )


if __name__ == "__main__":
    main()
