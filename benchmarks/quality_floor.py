"""How often a face is named wrong, by its crop quality: where FACEREC_MIN_CROP_QUALITY lies.

The faces are LFW's (../shared/faces/lfw, FACEREC_LFW overrides it), as benchmarks/tracks.py
sees them: every enrolled person enrols up to 3 clean photos (the cached clean gallery of
benchmarks/tracks.py), a known face is one of the held-out photos of a person with 4-5 photos,
a stranger's face one photo of a stranger. Each photo becomes `--frames` camera frames degraded
as benchmarks/tracks.py does (face 48-120 px, blur, JPEG 30-90, light, roll), then shrunk by a
further 0.35-1 so that faces down to the detector's 40 px floor (and their low quality) occur.
Each frame is detected with the service's settings (MTCNN, min face 40), its subject embedded
with sface+dlib, scored with `recognition.tracks.crop_quality` and named against a gallery of
1,000 people at the single-face threshold for 1% false accepts.

For each quality band it prints how many faces were named right, named wrong (a known face
named as someone else, or a stranger named) and left unknown; then, for each candidate floor,
the wrong names and the right names a floor there removes.

    nice -n 10 .venv/bin/python benchmarks/quality_floor.py --cache /work/main/var/tracks
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tracks  # noqa: E402
from lfw import LFW  # noqa: E402

from recognition import load_image  # noqa: E402
from recognition.calibration import decision_threshold  # noqa: E402
from recognition.subject import choose_subject  # noqa: E402
from recognition.tracks import crop_quality  # noqa: E402

GALLERY = 1000
FALSE_ACCEPT = 0.01
BANDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.01)
FLOORS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6)
RIGHT_NAMES_SPENT = 0.02  # the floor chosen: the highest that loses at most this share of them


def frame_faces(job: tuple[str, int, int]) -> list[tuple[float, np.ndarray]]:
    """(quality, embedding) of the subject of each degraded frame of one photo (none found:
    left out)."""
    path, count, seed = job
    rgb = load_image((LFW / path).read_bytes())
    _, face = tracks.subject(rgb)
    face = face if np.isfinite(face) else tracks.FACE_GUESS
    found = []
    for index in range(count):
        rng = np.random.default_rng([seed, zlib.crc32(path.encode()), index, 7])
        frame = tracks.degrade(rgb, face, rng)
        shrink = rng.uniform(0.35, 1.0)
        size = (max(round(frame.shape[1] * shrink), 8), max(round(frame.shape[0] * shrink), 8))
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        faces = tracks.analyzer().detect(frame)
        chosen = choose_subject([f.box for f in faces], frame.shape[1], frame.shape[0])
        if chosen is not None:
            subject = faces[chosen]
            quality = crop_quality(subject.box, subject.probability)
            found.append((quality, tracks.analyzer().embed(frame, [subject])[0]))
    return found


def embed(jobs: list, workers: int, out: Path) -> dict[str, np.ndarray]:
    """{"paths", "quality", "embeddings"} of every found frame (cached in `out`)."""
    if out.exists():
        with np.load(out, allow_pickle=False) as saved:
            return {k: saved[k] for k in saved.files}
    started = time.perf_counter()
    paths, qualities, vectors = [], [], []
    with multiprocessing.Pool(workers) as pool:
        for (path, _, _), faces in zip(jobs, pool.imap(frame_faces, jobs), strict=True):
            for quality, vector in faces:
                paths.append(path)
                qualities.append(quality)
                vectors.append(vector)
    print(f"embedded {len(jobs)} photos' frames in {time.perf_counter() - started:.0f} s")
    saved = {
        "paths": np.array(paths),
        "quality": np.array(qualities, np.float32),
        "embeddings": np.array(vectors, np.float32),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out.with_suffix(".tmp.npz"), **saved)
    out.with_suffix(".tmp.npz").replace(out)
    return saved


def outcomes(frames: dict, truth: dict[str, str | None], classifier) -> np.ndarray:
    """Per frame: 1 named right, -1 named wrong, 0 left unknown."""
    threshold = decision_threshold(tracks.EMBEDDER, GALLERY, FALSE_ACCEPT)
    labels, scores = tracks.predict(classifier, list(frames["embeddings"]))
    result = np.zeros(len(labels), np.int8)
    for i, (path, label, score) in enumerate(zip(frames["paths"], labels, scores, strict=True)):
        if score >= threshold:
            result[i] = 1 if truth[str(path)] == label else -1
    print(f"single-face threshold for {GALLERY} people at {FALSE_ACCEPT:.0%}: {threshold:.4f}")
    return result


def report(quality: np.ndarray, result: np.ndarray, known: np.ndarray) -> None:
    print("\n| quality | faces (known + strangers) | known named right | named wrong "
          "| wrong share of named |")  # fmt: skip
    print("|---|---|---|---|---|")
    for low, high in zip(BANDS, BANDS[1:], strict=False):
        band = (quality >= low) & (quality < high)
        right, wrong = int((result[band] == 1).sum()), int((result[band] == -1).sum())
        share = f"{wrong / (right + wrong):.1%}" if right + wrong else "-"
        name = f"{low:.1f}-{min(high, 1.0):.1f}"
        print(f"| {name} | {int(band.sum())} ({int(known[band].sum())} + "
              f"{int((~known[band]).sum())}) | {right} ({right / max(known[band].sum(), 1):.0%}) "
              f"| {wrong} | {share} |")  # fmt: skip
    print("\n| floor | faces below | wrong names removed | right names lost |")
    print("|---|---|---|---|")
    for floor in FLOORS:
        below = quality < floor
        wrong, right = int((result[below] == -1).sum()), int((result[below] == 1).sum())
        print(f"| {floor:.2f} | {int(below.sum())} ({below.mean():.1%}) | {wrong} of "
              f"{int((result == -1).sum())} | {right} of {int((result == 1).sum())} |")  # fmt: skip
    named_right = max(int((result == 1).sum()), 1)
    chosen = max(
        f
        for f in FLOORS
        if ((quality < f) & (result == 1)).sum() <= RIGHT_NAMES_SPENT * named_right
    )
    print(f"\nthe highest floor losing at most {RIGHT_NAMES_SPENT:.0%} of right names: {chosen}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--known", type=int, default=150, help="known people probed")
    parser.add_argument("--strangers", type=int, default=200, help="stranger photos")
    parser.add_argument("--frames", type=int, default=4, help="degraded frames per photo")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=tracks.CACHE, help="benchmarks/tracks.py's")
    args = parser.parse_args()
    tracks.CACHE = args.cache
    gallery = tracks.clean_gallery(args.workers)
    probed, strangers, _ = tracks.choose_tracks(args.known, 2 * args.strangers, args.seed)
    enrolled, classifier = tracks.draw_gallery(probed, gallery, GALLERY, args.seed)
    truth: dict[str, str | None] = {p: person for person in enrolled for p in probed[person]}
    truth.update({p: None for p in strangers})
    jobs = [(path, args.frames, args.seed) for path in sorted(truth)]
    name = f"quality-{args.known}-{args.strangers}-{args.frames}-seed{args.seed}.npz"
    frames = embed(jobs, args.workers, tracks.ROOT / "var" / "quality_floor" / name)
    print(f"{len(jobs)} photos ({len(strangers)} strangers), {len(frames['paths'])} faces found")
    known = np.array([truth[str(p)] is not None for p in frames["paths"]])
    report(frames["quality"], outcomes(frames, truth, classifier), known)


if __name__ == "__main__":
    main()
