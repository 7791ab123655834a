"""Duplicate and look-alike warnings at enrolment, measured on LFW (issue 23).

A gallery of 1,000 LFW people (seeded draw of the 1,291; each with the up-to-3 clean photos of
benchmarks/tracks.py's cached clean gallery) is the serving model. Then:
- a **second enrolment**: for each of the 1,000, one photo enrolled under a new id: a photo the
  gallery does not hold when the person has more than 3, else one of the same photos (what the
  issue did: "same photos"). Warned when the person is among the look-alikes at the threshold.
- a **different person**: every photo of the 291 LFW people not drawn, and the 1,000 strangers.
  Warned when anyone is.
The warning is `recognition.lookalikes.look_alikes`, as the service calls it, at each threshold
in the table: the 1:1 threshold (a gallery of one, 1% false accepts), and the thresholds
calibrated for the gallery's size at several false-warning rates.

Embeddings of the photos outside the clean gallery are cached in var/lookalikes/<space>/.

    nice -n 10 .venv/bin/python benchmarks/lookalikes.py --cache /work/main/var/tracks
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tracks  # noqa: E402
from lfw import photos  # noqa: E402

from recognition import FaceClassifier  # noqa: E402
from recognition.calibration import threshold_for  # noqa: E402
from recognition.lookalikes import look_alikes  # noqa: E402

GALLERY = 1000
RATES = (0.05, 0.02, 0.01, 0.005, 0.002)


def extra_embeddings(paths: list[str], workers: int) -> dict[str, np.ndarray]:
    """The subject embedding (NaN when none) of each photo outside the clean gallery (cached)."""
    out = tracks.ROOT / "var" / "lookalikes" / tracks.space_dir().name / "extra.npz"
    if out.exists():
        with np.load(out, allow_pickle=False) as saved:
            if set(saved["paths"]) >= set(paths):
                return dict(zip(saved["paths"], saved["embeddings"], strict=True))
    started = time.perf_counter()
    with multiprocessing.Pool(workers) as pool:
        vectors = pool.map(tracks._clean, paths, chunksize=16)
    print(f"embedded {len(paths)} photos in {time.perf_counter() - started:.0f} s")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out.with_suffix(".tmp.npz"), paths=np.array(paths), embeddings=np.array(vectors))
    out.with_suffix(".tmp.npz").replace(out)
    return dict(zip(paths, vectors, strict=True))


def draw(gallery: dict, seed: int):
    """(the classifier of GALLERY people, second-enrolment probes [(person, vector)], different
    people's probes [(label, vector)], the extra photos to embed)."""
    people = tracks.enrolled_photos()
    drawn = set(tracks.shuffled(sorted(people), seed)[:GALLERY])
    keep = np.isin(gallery["people"], sorted(drawn))
    classifier = FaceClassifier.fit(
        gallery["embeddings"][keep], gallery["people"][keep], 1.0, "lfw"
    )
    clean = dict(zip(gallery["paths"], gallery["embeddings"], strict=True))
    held_out = {
        p: paths[tracks.ENROL]
        for p, paths in people.items()
        if p in drawn and len(paths) > tracks.ENROL
    }
    others = [path for p, paths in people.items() if p not in drawn for path in paths]
    strangers = [path for path, _, stranger in photos() if stranger]
    return classifier, drawn, clean, held_out, others, strangers


def warned(classifier, vector, threshold: float, person: str | None) -> bool:
    """Would enrolling this face under a new id warn (of `person`, when given)?"""
    if not np.isfinite(vector).all():
        return False  # no face: the enrolment is refused, not warned
    found = look_alikes(classifier, vector[None], exclude="a-new-id", limit=5)
    return any(score >= threshold and (person is None or who == person) for who, score in found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=tracks.CACHE, help="benchmarks/tracks.py's")
    args = parser.parse_args()
    tracks.CACHE = args.cache
    gallery = tracks.clean_gallery(args.workers)
    classifier, drawn, clean, held_out, others, strangers = draw(gallery, args.seed)
    extra = extra_embeddings(
        sorted(set(held_out.values()) | set(others) | set(strangers)), args.workers
    )
    twins = []  # (person, vector): the second enrolment
    for person in sorted(drawn):
        path = held_out.get(person) or min(
            p for p, who in zip(gallery["paths"], gallery["people"], strict=True) if who == person
        )
        twins.append(
            (person, extra[path] if person in held_out else clean[path], person in held_out)
        )
    probes = [("other", extra[p]) for p in others] + [("stranger", extra[p]) for p in strangers]
    thresholds = [("1:1 (gallery of one, 1%)", threshold_for(tracks.EMBEDDER, 1, 0.01))]
    thresholds += [
        (f"{GALLERY} people, {r:.1%}", threshold_for(tracks.EMBEDDER, GALLERY, r)) for r in RATES
    ]
    print(
        f"gallery {GALLERY} people ({classifier.gallery.size} faces); second enrolments: "
        f"{len(twins)} ({sum(h for *_, h in twins)} with a photo not in the gallery); "
        f"different: {len(others)} photos of {len(people_of(others))} LFW people not drawn, {len(strangers)} strangers"
    )
    print(
        "| threshold | value | second enrolment warned (same photo / other photo) | different person warned (LFW / strangers) |"
    )
    print("|---|---|---|---|")
    for name, threshold in thresholds:
        same = np.array([warned(classifier, v, threshold, p) for p, v, _ in twins])
        other_photo = np.array([h for *_, h in twins])
        different = np.array([warned(classifier, v, threshold, None) for _, v in probes])
        lfw = np.array([kind == "other" for kind, _ in probes])
        print(
            f"| {name} | {threshold:.4f} | **{same.mean():.2%}** ({same[~other_photo].mean():.2%} / "
            f"{same[other_photo].mean():.2%}) | **{different.mean():.2%}** ({different[lfw].mean():.2%} / "
            f"{different[~lfw].mean():.2%}) |"
        )


def people_of(paths: list[str]) -> set[str]:
    return {Path(p).parent.name for p in paths}


if __name__ == "__main__":
    main()
