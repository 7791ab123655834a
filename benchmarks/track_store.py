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
    .venv/bin/python benchmarks/track_store.py --before a838347 --repeats 5

`--before REV` answers "no higher than before": it checks REV out in a temporary git worktree
and runs, alternately and each in a fresh process, REV's sightings-only path and this tree's
two paths, `--repeats` times, then prints the median of each path's p50s (this machine's
timings drift by a millisecond over minutes; alternating keeps the comparison fair). a838347
is the commit issue 22 was filed against, before tracks.

`--bytes N` measures what a crop takes on disk instead: each path stores N crops into a scratch
database of its own (a crop with its track: 8 to a track, every track ended after, as tracks
end), and the bytes its tables grew by (data and indexes, rebuilt) are divided by N.

    .venv/bin/python benchmarks/track_store.py --before a838347 --repeats 1 --bytes 4000
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
# The code measured: this tree, or the worktree of `--before` (a child process's).
CODE = Path(os.environ.get("FACEREC_BENCH_CODE", ROOT))
sys.path.insert(0, str(CODE))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scratch import drop, scratch_database, stored_bytes  # noqa: E402

from recognition import FaceAnalyzer, FaceClassifier, load_image  # noqa: E402
from recognition.sighting import recognize  # noqa: E402
from storage import Database  # noqa: E402

SIGHTINGS, TRACKED = "sightings only (before tracks)", "with its track (now)"
SINGLE = "without a track id (now)"

PHOTO = ROOT / "tests" / "data" / "people" / "obama"
PEOPLE, FACES_EACH, CROPS_PER_TRACK = 1_000, 3, 8


class Photo(NamedTuple):
    """A real photo, the analyzer that reads it and its `Recognized` (its faces, embeddings,
    codes and thumbnails, named by no model)."""

    analyzer: FaceAnalyzer
    rgb: np.ndarray
    seen: object


def real_crop() -> Photo:
    analyzer = FaceAnalyzer.from_bundle(ROOT / "models")
    rgb = load_image(sorted(PHOTO.iterdir())[0].read_bytes())
    return Photo(analyzer, rgb, recognize(analyzer, None, rgb))


def judge_of(dim: int, space: str):
    from recognition.tracks import TrackJudge  # not in a tree from before tracks

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


def sightings_path(db, seen):
    """Store one crop's sightings, as the service stored a crop before tracks."""
    return lambda _: db.record_sightings(seen, camera_id="cam", location_id="site")


def tracked_path(db, photo: Photo, single: bool = False):
    """Store one crop into its track (8 crops a track), or as a track of its own (`single`: a
    client that sends no track id, as every client before tracks): this tree's path, its faces
    named by the judge's classifier and decided as the service decides them (a track of only
    the crop takes the crop's own decision: `TrackJudge.deciding`)."""
    from recognition.subject import choose_subject
    from recognition.tracks import crop_quality
    from storage import TrackCropInfo

    seen = photo.seen
    judge = judge_of(seen.sightings[0].embedding.shape[0], seen.embedding_space)
    named = recognize(photo.analyzer, judge.classifier, photo.rgb)
    height, width = photo.rgb.shape[:2]
    subject = choose_subject([s.box for s in named.sightings], width, height)
    face = named.sightings[subject]
    quality = crop_quality(face.box, face.probability)
    decide = judge.deciding(face)

    def into_track(i: int):
        key = f"crop-{i}" if single else f"t-{i // CROPS_PER_TRACK}"
        crop = TrackCropInfo(key=key, subject=subject, quality=quality, grey=False, single=single)
        db.record_track_sightings(named, crop, decide, camera_id="cam", location_id="site")

    return into_track


def bytes_per_crop(crops: int, sightings_only: bool) -> dict[str, float]:
    """Each path's bytes per crop: N crops into a scratch database of its own."""
    photo = real_crop()
    paths = {SIGHTINGS: None}
    if not sightings_only:
        paths |= {TRACKED: False, SINGLE: True}
    found = {}
    for path, single in paths.items():
        name, url = scratch_database("track_bytes")
        try:
            db = Database(url)
            db.create_schema()
            empty = stored_bytes(name)
            store = (
                sightings_path(db, photo.seen)
                if single is None
                else tracked_path(db, photo, single)
            )
            timed(crops, store)
            if single is not None:  # every track ends, as tracks do
                later = datetime.now(UTC) + timedelta(days=1)
                db.close_quiet_tracks(later, limit=crops)
            db.close()
            found[path] = (stored_bytes(name) - empty) / crops
        finally:
            drop(name)
    return found


def measure(url: str, rounds: int, sightings_only: bool) -> dict[str, list[float]]:
    photo = real_crop()
    seen = photo.seen
    db = Database(url)
    db.create_schema()
    timed(5, lambda _: db.record_sightings(seen, camera_id="warm", location_id="site"))
    results = {SIGHTINGS: timed(rounds, sightings_path(db, seen))}
    if not sightings_only:
        results[TRACKED] = timed(rounds, tracked_path(db, photo))
        results[SINGLE] = timed(rounds, tracked_path(db, photo, single=True))
    db.close()
    return results


@contextlib.contextmanager
def worktree(revision: str):
    """`revision` checked out in a temporary git worktree, with this tree's model bundle."""
    folder = Path(tempfile.mkdtemp(prefix="facerec-before-"))
    git = ["git", "-C", str(ROOT), "worktree"]
    subprocess.run(
        [*git, "add", "--detach", str(folder), revision], check=True, capture_output=True
    )
    try:
        (folder / "models").symlink_to(ROOT / "models")
        yield folder
    finally:
        subprocess.run([*git, "remove", "--force", str(folder)], check=True, capture_output=True)


def compare(revision: str, rounds: int, repeats: int, crops: int | None) -> None:
    """REV's sightings-only path and this tree's paths, alternately, each in a new process."""
    figures: dict[str, list[float]] = {}
    measured = ["--bytes", str(crops)] if crops else ["--rounds", str(rounds)]
    figure = "bytes" if crops else "p50"
    with worktree(revision) as tree:
        for _ in range(repeats):
            for code, label, only in ((tree, revision, ["--sightings-only"]), (ROOT, "now", [])):
                out = subprocess.run(
                    [sys.executable, __file__, *measured, *only],
                    env={**os.environ, "FACEREC_BENCH_CODE": str(code)},
                    check=True, capture_output=True, text=True,
                ).stdout  # fmt: skip
                pattern = rf"^  (.+?)\s+{figure}\s+([\d.]+)"
                for path, value in re.findall(pattern, out, re.MULTILINE):
                    figures.setdefault(f"{label}: {path}", []).append(float(value))
    unit = f"{crops} crops each, bytes per crop" if crops else f"{rounds} crops each, ms per crop"
    print(f"mariadb, {unit}, {repeats} alternating runs:")
    for path, values in figures.items():
        runs = " ".join(f"{v:.2f}" for v in values)
        print(f"  {path:45s} median {figure} {statistics.median(values):7.2f}  (runs: {runs})")


def report(results: dict[str, list[float]], backend: str, rounds: int) -> None:
    print(f"{backend}, {rounds} crops each, ms per crop:")
    for path, times in results.items():
        ordered = sorted(times)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(f"  {path:32s} p50 {statistics.median(times):6.2f}  p95 {p95:6.2f}  "
              f"mean {statistics.fmean(times):6.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--before", metavar="REV", help="compare with REV's sightings-only path")
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs (--before)")
    parser.add_argument("--bytes", type=int, metavar="N", help="bytes per crop, over N crops")
    parser.add_argument("--sightings-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.before:
        compare(args.before, args.rounds, args.repeats, args.bytes)
        return
    if args.bytes:
        for path, size in bytes_per_crop(args.bytes, args.sightings_only).items():
            print(f"  {path:32s} bytes {size:8.1f}")
        return
    # One BLAS thread, as a serving worker runs (api/service.py): woken BLAS threads between
    # database round trips cost milliseconds on a busy machine, which no worker pays.
    threadpool_limits(limits=1, user_api="blas")
    if args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            results = measure(f"sqlite:///{folder}/bench.db", args.rounds, args.sightings_only)
    else:
        name, url = scratch_database("track_store")
        try:
            results = measure(url, args.rounds, args.sightings_only)
        finally:
            drop(name)
    report(results, "sqlite" if args.sqlite else "mariadb", args.rounds)


if __name__ == "__main__":
    main()
