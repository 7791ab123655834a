"""What a crop costs to store, before tracks and with them, on the real MariaDB (and SQLite).

Before issue 22 a store-results wrote the crop's sightings (`Database.record_sightings`). Now a
crop with a `track_id` also joins its track: the track's row is locked, the crop's quality row
written, the track's best crops read back and decided again (recognition.tracks.TrackJudge with
a 1,000-person classifier), its code replaced, its events (and alert rules) written
(`Database.record_track_sightings`). Both paths store the same real face (a tests/data photo,
its embedding and ~112 px thumbnail), into a scratch database that is dropped at the end; the
track path sends 8 crops per track, as a walk-by gives at most.

    .venv/bin/python benchmarks/track_store.py                 # MariaDB on 127.0.0.1:3306
    .venv/bin/python benchmarks/track_store.py --sqlite        # a temporary SQLite file
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sightings import drop, scratch_database  # noqa: E402

from recognition import FaceAnalyzer, FaceClassifier, load_image  # noqa: E402
from recognition.sighting import recognize  # noqa: E402
from recognition.subject import choose_subject  # noqa: E402
from recognition.tracks import TrackJudge, crop_quality  # noqa: E402
from storage import Database, TrackCropInfo  # noqa: E402

PHOTO = ROOT / "tests" / "data" / "people" / "obama"
PEOPLE, FACES_EACH, CROPS_PER_TRACK = 1_000, 3, 8


def real_crop(analyzer: FaceAnalyzer):
    """A real photo's `Recognized` (its faces, embeddings, codes and thumbnails)."""
    rgb = load_image(sorted(PHOTO.iterdir())[0].read_bytes())
    seen = recognize(analyzer, None, rgb)
    subject = choose_subject([s.box for s in seen.sightings], rgb.shape[1], rgb.shape[0])
    face = seen.sightings[subject]
    return seen, subject, crop_quality(face.box, face.probability)


def judge_of(dim: int, space: str) -> TrackJudge:
    rng = np.random.default_rng(0)
    faces = rng.standard_normal((PEOPLE * FACES_EACH, dim)).astype(np.float32)
    faces /= np.linalg.norm(faces, axis=1, keepdims=True)
    names = [f"p{i}" for i in range(PEOPLE) for _ in range(FACES_EACH)]
    return TrackJudge(FaceClassifier.fit(faces, names, 0.7, space), 0.01)


def timed(rounds: int, store) -> list[float]:
    times = []
    for i in range(rounds):
        began = time.perf_counter()
        store(i)
        times.append((time.perf_counter() - began) * 1000)
    return times


def measure(url: str, rounds: int) -> dict[str, list[float]]:
    analyzer = FaceAnalyzer.from_bundle(ROOT / "models")
    seen, subject, quality = real_crop(analyzer)
    judge = judge_of(seen.sightings[0].embedding.shape[0], seen.embedding_space)
    db = Database(url)
    db.create_schema()
    timed(5, lambda _: db.record_sightings(seen, camera_id="warm", location_id="site"))
    before = timed(rounds, lambda _: db.record_sightings(seen, camera_id="cam", location_id="site"))

    def into_track(i: int):
        crop = TrackCropInfo(key=f"t-{i // CROPS_PER_TRACK}", subject=subject, quality=quality,
                             grey=False)  # fmt: skip
        db.record_track_sightings(seen, crop, judge.decide, camera_id="cam", location_id="site")

    tracked = timed(rounds, into_track)
    return {"sightings only (before tracks)": before, "with its track (now)": tracked}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    # One BLAS thread, as a serving worker runs (api/service.py): woken BLAS threads between
    # database round trips cost milliseconds on a busy machine, which no worker pays.
    threadpool_limits(limits=1, user_api="blas")
    if args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            results = measure(f"sqlite:///{folder}/bench.db", args.rounds)
    else:
        name, url = scratch_database("track_store")
        try:
            results = measure(url, args.rounds)
        finally:
            drop(name)
    print(f"{'sqlite' if args.sqlite else 'mariadb'}, {args.rounds} crops each, ms per crop:")
    for path, times in results.items():
        ordered = sorted(times)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(f"  {path:32s} p50 {statistics.median(times):6.2f}  p95 {p95:6.2f}  "
              f"mean {statistics.fmean(times):6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
