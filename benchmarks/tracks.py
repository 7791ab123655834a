"""Walk-by tracks on LFW: one decision per person passing a camera, from the mean of its frames
(each frame weighted by its quality, as the service weighs a track's crops).

Reads the LFW calibration set in ../shared/faces/lfw (FACEREC_LFW overrides it). Each enrolled
person enrols up to 3 clean photos; a known-person track is made of that person's photos that
are NOT enrolled (people with 4-5 photos keep 1-2 back), a stranger track of one stranger's photo
(strangers/). A track is up to 8 frames, each degraded as a camera would see it (face 48-120 px,
Gaussian or motion blur, JPEG quality 30-90, brightness +-40%, roll +-15 degrees; seeded by
`--seed`, the photo and the frame); its grey twin is the same frames in grey (3 equal channels).
Every frame is detected and its subject embedded by the default embedder (sface+dlib), and its
quality measured as the service measures a crop's (`crop_quality`: face size and detector
confidence); both are cached in var/tracks/<embedding space>/seed<seed>/, so a second run is
fast. `--quality-weight 0` averages frames equally (the rule before quality weights).

Strangers are shuffled (seeded) and split in two: the even half calibrates the track impostor
tails (per frame-count bucket and condition), the odd half is reported on, never the other way.
The tails print as a Python literal for recognition/track_calibration.py.

    nice -n 10 .venv/bin/python benchmarks/tracks.py --quick   # 100 known + 100 stranger tracks
    nice -n 10 .venv/bin/python benchmarks/tracks.py           # every track: the tables in docs
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lfw import LFW, MIN_FACE_SIZE, photos  # noqa: E402

from recognition import FaceAnalyzer, FaceClassifier, load_image  # noqa: E402
from recognition import tracks as tracks_module  # noqa: E402
from recognition.calibration import threshold_for  # noqa: E402
from recognition.networks import impostor_tail  # noqa: E402
from recognition.networks.embedder import normalize  # noqa: E402
from recognition.subject import choose_subject  # noqa: E402
from recognition.tracks import crop_quality, weighted_mean  # noqa: E402

try:
    from recognition.calibration import threshold_from_tail  # noqa: E402
except ImportError:  # an older calibration.py: the same maths as threshold_for
    import math

    def threshold_from_tail(tail, people: int, false_accept_rate: float) -> float:
        q = 1 - (1 - false_accept_rate) ** (1 / max(int(people), 1))
        x = [math.log10(share) for share, _ in tail]
        y = [similarity for _, similarity in tail]
        position = math.log10(q)
        if position >= x[0]:
            return y[0]
        for i in range(1, len(x)):
            if position >= x[i] or i == len(x) - 1:
                slope = (y[i] - y[i - 1]) / (x[i] - x[i - 1])
                return y[i - 1] + slope * (position - x[i - 1])
        raise AssertionError("unreachable")


ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "tracks"
EMBEDDER = "sface+dlib"
FRAMES = 8  # most frames a track's decision averages
ENROL = 3
BUCKETS = (("1", 1, 1), ("2", 2, 2), ("3-4", 3, 4), ("5-8", 5, 8))
CONDITIONS = ("colour", "grey")
SHARES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)
MEASURABLE = 5  # a share q is kept when q x pairs reaches this many pairs
FALSE_ACCEPT = 0.01
TRACK_RATES = (0.01, 0.005, 0.0025)  # false accepts per track the track rule is shown at
SIZES = (100, 1000)
DRAWS = 3
REPORT_FRAMES = (1, 2, 4, 8)
FACE_GUESS = 110.0  # px, an LFW subject's face when the clean photo shows none

_analyzer: FaceAnalyzer | None = None


def analyzer() -> FaceAnalyzer:
    global _analyzer
    if _analyzer is None:
        _analyzer = FaceAnalyzer.from_bundle(
            ROOT / "models", threads=1, min_face_size=MIN_FACE_SIZE, embedder=EMBEDDER
        )
    return _analyzer


def subject(rgb: np.ndarray):
    """(the subject's unit embedding or NaNs, its face width or NaN, its quality as the service
    measures it: `crop_quality`, or NaN)."""
    faces = analyzer().detect(rgb)
    chosen = choose_subject([f.box for f in faces], rgb.shape[1], rgb.shape[0])
    if chosen is None:
        return np.full(analyzer().embedder.dim, np.nan, np.float32), float("nan"), float("nan")
    box = faces[chosen].box
    quality = crop_quality(box, faces[chosen].probability)
    return analyzer().embed(rgb, [faces[chosen]])[0], float(box[2] - box[0]), quality


def motion_kernel(length: int, angle: float) -> np.ndarray:
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    turn = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    kernel = cv2.warpAffine(kernel, turn, (length, length))
    return kernel / max(float(kernel.sum()), 1e-6)


def degrade(rgb: np.ndarray, face: float, rng: np.random.Generator) -> np.ndarray:
    """One camera frame of a photo: rolled, the face resized to 48-120 px, blurred, lit
    differently and JPEG-compressed."""
    height, width = rgb.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), rng.uniform(-15, 15), 1.0)
    frame = cv2.warpAffine(rgb, turn, (width, height), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT_101)  # fmt: skip
    scale = rng.uniform(48, 120) / face
    size = (max(round(width * scale), 8), max(round(height * scale), 8))
    frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        frame = cv2.GaussianBlur(frame, (0, 0), rng.uniform(0.5, 1.8))
    else:
        frame = cv2.filter2D(
            frame, -1, motion_kernel(int(rng.integers(3, 10)), rng.uniform(0, 180))
        )
    frame = np.clip(frame.astype(np.float32) * rng.uniform(0.6, 1.4), 0, 255).astype(np.uint8)
    quality = int(rng.integers(30, 91))
    _, data = cv2.imencode(".jpg", frame[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1])


def grey(rgb: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)


def space_dir() -> Path:
    return CACHE / analyzer().embedding_space.replace("@", "-")


def photo_frames(job: tuple[str, int, int]) -> tuple[str, int]:
    """Embeds `count` degraded frames of one photo, colour and grey, into the cache."""
    path, count, seed = job
    out = frames_file(path, count, seed)
    if out.exists():
        return path, count
    rgb = load_image((LFW / path).read_bytes())
    _, face, _ = subject(rgb)
    face = face if np.isfinite(face) else FACE_GUESS
    found: dict[str, list] = {key: [] for key in ("colour", "grey", "colour_q", "grey_q")}
    for index in range(count):
        rng = np.random.default_rng([seed, zlib.crc32(path.encode()), index])
        frame = degrade(rgb, face, rng)
        for condition, image in (("colour", frame), ("grey", grey(frame))):
            embedding, _, quality = subject(image)
            found[condition].append(embedding)
            found[f"{condition}_q"].append(quality)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".tmp.npz")
    np.savez(partial, **{key: np.array(values) for key, values in found.items()})
    partial.replace(out)
    return path, count


def enrolled_photos() -> dict[str, list[str]]:
    """Each enrolled person's photos (relative paths, sorted)."""
    people: dict[str, list[str]] = {}
    for path, person, stranger in photos():
        if not stranger:
            people.setdefault(person, []).append(path)
    return people


def clean_gallery(workers: int) -> dict[str, np.ndarray]:
    """The clean embedding of up to 3 enrolment photos of each LFW person (cached)."""
    out = space_dir() / "enrolled.npz"
    if out.exists():
        with np.load(out, allow_pickle=False) as saved:
            return {k: saved[k] for k in saved.files}
    listing = [(p, person) for person, paths in enrolled_photos().items() for p in paths[:ENROL]]
    started = time.perf_counter()
    with multiprocessing.Pool(workers) as pool:
        vectors = pool.map(_clean, [p for p, _ in listing], chunksize=16)
    print(
        f"embedded {len(listing)} clean enrolment photos in {time.perf_counter() - started:.0f} s"
    )
    saved = {
        "paths": np.array([p for p, _ in listing]),
        "people": np.array([person for _, person in listing]),
        "embeddings": np.array(vectors, np.float32),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out.with_suffix(".tmp.npz"), **saved)
    out.with_suffix(".tmp.npz").replace(out)
    return saved


def _clean(path: str) -> np.ndarray:
    return subject(load_image((LFW / path).read_bytes()))[0]


def shuffled(items: list, seed: int) -> list:
    return [items[i] for i in np.random.default_rng(seed).permutation(len(items))]


def choose_tracks(known: int, strangers: int, seed: int):
    """(known people -> their held-out photos, calibration strangers, reported strangers)."""
    people = enrolled_photos()
    probed = shuffled(sorted(p for p, paths in people.items() if len(paths) > ENROL), seed)
    tracks = {person: people[person][ENROL:] for person in probed[:known]}
    chosen = shuffled(sorted(p for p, _, stranger in photos() if stranger), seed)[:strangers]
    return tracks, chosen[0::2], chosen[1::2]


def frame_jobs(tracks: dict, strangers: list[str], seed: int) -> list[tuple[str, int, int]]:
    """(photo, frames, seed) for every photo of every track, known and strangers interleaved."""
    known = [(p, FRAMES // len(paths), seed) for paths in tracks.values() for p in paths]
    unknown = [(p, FRAMES, seed) for p in strangers]
    jobs = []
    for i in range(max(len(known), len(unknown))):
        jobs += known[i : i + 1] + unknown[i : i + 1]
    return jobs


def embed_frames(jobs: list, workers: int) -> None:
    todo = [j for j in jobs if not frames_file(*j).exists()]
    if not todo:
        return
    started = time.perf_counter()
    with multiprocessing.Pool(workers) as pool:
        for done, _ in enumerate(pool.imap_unordered(photo_frames, todo), 1):
            if done % 50 == 0 or done == len(todo):
                print(
                    f"  {done}/{len(todo)} photos ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
    print(
        f"embedded {sum(j[1] for j in todo)} frames x 2 conditions in {time.perf_counter() - started:.0f} s"
    )


def frames_file(path: str, count: int, seed: int) -> Path:
    """Where a photo's degraded frames are cached (v2: with each frame's quality)."""
    return space_dir() / f"seed{seed}" / f"{Path(path).stem}-{count}-v2.npz"


def track(paths: list[str], seed: int, condition: str) -> np.ndarray:
    """A track's found frames [n, d + 1] in camera order (its photos' frames interleaved), each
    embedding followed by its quality (see `weighted_mean`)."""
    count = FRAMES // len(paths)
    per_photo = []
    for path in paths:
        with np.load(frames_file(path, count, seed)) as saved:
            per_photo.append(np.hstack([saved[condition], saved[f"{condition}_q"][:, None]]))
    frames = np.stack(per_photo, axis=1).reshape(-1, per_photo[0].shape[1])
    return frames[~np.isnan(frames[:, 0])]


def mean_of(frames: np.ndarray, k: int) -> np.ndarray | None:
    """The track's first k frames as the service averages a track's evidence."""
    if not len(frames[:k]):
        return None
    return weighted_mean(frames[:k, :-1], frames[:k, -1])


def best_per_person(queries: np.ndarray, gallery: dict[str, np.ndarray]) -> np.ndarray:
    """[queries, people]: each query's similarity to each person's nearest enrolled face."""
    found = ~np.isnan(gallery["embeddings"][:, 0])
    people, owner = np.unique(gallery["people"][found], return_inverse=True)
    similarity = queries @ gallery["embeddings"][found].T
    best = np.full((len(people), len(queries)), -2.0, np.float32)
    np.maximum.at(best, owner, similarity.T)
    return best.T


def person_means(gallery: dict[str, np.ndarray]) -> np.ndarray:
    """[people, d]: each person's unit mean enrolled face, people in np.unique order."""
    found = ~np.isnan(gallery["embeddings"][:, 0])
    people, owner = np.unique(gallery["people"][found], return_inverse=True)
    sums = np.zeros((len(people), gallery["embeddings"].shape[1]), np.float32)
    np.add.at(sums, owner, gallery["embeddings"][found])
    return normalize(sums)


def tails(strangers: list[str], seed: int, gallery: dict) -> dict:
    """{condition: {bucket: ((q, similarity), ...)}} from the stranger tracks of each bucket: one
    frame against each person's nearest face (a single face), more against each person's mean
    face (as recognition.tracks.TrackJudge scores them)."""
    table: dict = {}
    means_of_people = person_means(gallery)
    for condition in CONDITIONS:
        tracks = [track([p], seed, condition) for p in strangers]
        for label, low, high in BUCKETS:
            means = np.array([mean_of(t, high) for t in tracks if len(t) >= low])
            if high == 1:
                scores = best_per_person(means, gallery).ravel()
            else:
                scores = (means @ means_of_people.T).ravel()
            kept = [q for q in SHARES if q * len(scores) >= MEASURABLE]
            table.setdefault(condition, {})[label] = tuple(
                (q, round(float(np.quantile(scores, 1 - q)), 4)) for q in kept
            )
    return table


def bucket(table: dict, frames: int):
    return next(table[label] for label, low, high in BUCKETS if low <= frames <= high)


def draw_gallery(tracks: dict, gallery: dict, size: int, seed: int):
    """(the probed people enrolled, a FaceClassifier of `size` people): as many probed people as
    fit, the rest drawn from the other LFW people."""
    found = ~np.isnan(gallery["embeddings"][:, 0])
    everyone = sorted(set(gallery["people"][found].tolist()))
    rng = np.random.default_rng(seed)
    probed = sorted(p for p in tracks if p in set(everyone))
    take = sorted(rng.choice(probed, min(size, len(probed)), replace=False).tolist())
    rest = sorted(set(everyone) - set(take))
    members = set(take) | set(rng.choice(rest, size - len(take), replace=False).tolist())
    rows = found & np.isin(gallery["people"], sorted(members))
    classifier = FaceClassifier.fit(
        gallery["embeddings"][rows], gallery["people"][rows], 0.0, EMBEDDER
    )
    return take, classifier


def predict(classifier: FaceClassifier, queries: list) -> tuple[list[str], np.ndarray]:
    """The classifier's proposed person and score for each query (thresholds applied later)."""
    if not queries:
        return [], np.zeros(0)
    predictions = classifier.predict(np.array(queries, np.float32))
    return [p.candidates[0][0] for p in predictions], np.array([p.score for p in predictions])


def judge(frame_predictions, mean_predictions, truth, k_list, thresholds) -> dict:
    """{(rule, k index): True when the track is decided right} for one track, from the
    classifier's (person, score) for each of its frames and (person, nearest-face score,
    mean-face score, frames) for its mean at each k."""
    single, track_t = thresholds
    labels, scores = frame_predictions
    out = {}
    for i, k in enumerate(k_list):
        named = [label for label, s in zip(labels[:k], scores[:k], strict=True) if s >= single]
        if truth is None:
            out["single frames", i] = not named
        else:
            out["single frames", i] = bool(named) and Counter(named).most_common(1)[0][0] == truth
        if mean_predictions[i] is None:
            for rule in ["mean @ single", *track_t]:
                out[rule, i] = truth is None
            continue
        label, nearest, template, frames = mean_predictions[i]
        rules = [("mean @ single", nearest, single)] + [
            (rule, nearest if frames == 1 else template, t(frames)) for rule, t in track_t.items()
        ]
        for rule, score, threshold in rules:
            out[rule, i] = (
                score < threshold if truth is None else (score >= threshold and label == truth)
            )
    return out


def predicted_cases(classifier, cases, seed: int, condition: str):
    """Each case (track photos, truth) as (truth, k_list, frame predictions, mean predictions),
    every frame and mean of every track predicted in one batch."""
    prepared, queries = [], []
    for paths, truth in cases:
        frames = track(paths, seed, condition)
        mixed = int(np.random.default_rng([seed, zlib.crc32(paths[0].encode())]).integers(1, 9))
        k_list = [*REPORT_FRAMES, mixed]
        means = [mean_of(frames, k) for k in k_list]
        counts = [min(k, len(frames)) for k in k_list]
        prepared.append((truth, k_list, len(queries), len(frames), means, counts))
        queries += list(frames[:, :-1]) + [m for m in means if m is not None]
    labels, scores = predict(classifier, queries)
    for truth, k_list, start, count, means, counts in prepared:
        position, mean_predictions = start + count, []
        for mean, frames in zip(means, counts, strict=True):
            if mean is None:
                mean_predictions.append(None)
                continue
            label = labels[position]
            template = classifier.mean_similarity(mean, label)
            mean_predictions.append((label, scores[position], template, frames))
            position += 1
        frames = (labels[start : start + count], scores[start : start + count])
        yield truth, k_list, frames, mean_predictions


def track_rules(table: dict, size: int, single: float, grey: bool) -> dict:
    """{rule: frames -> threshold}: the service's track rule (recognition.tracks.TrackJudge) at
    several false-accept rates per track: one frame is a single face (colour: the single-face
    threshold; grey: the grey one-frame table at 1%), more frames the track tables."""

    def rule(rate: float):
        def threshold(frames: int) -> float:
            if frames == 1:
                return threshold_from_tail(table["1"], size, FALSE_ACCEPT) if grey else single
            return threshold_from_tail(bucket(table, frames), size, rate)

        return threshold

    return {f"track rule @ {rate:.2%}": rule(rate) for rate in TRACK_RATES}


def evaluate(tracks, reported, seed, gallery, table, condition, size) -> dict:
    """{(rule, k index): [known right, known, strangers unknown, strangers]} over the draws."""
    counts: dict = {}
    single = threshold_for(EMBEDDER, size, FALSE_ACCEPT)
    thresholds = (single, track_rules(table[condition], size, single, condition == "grey"))
    for draw in range(DRAWS if size < len(tracks) else 1):
        take, classifier = draw_gallery(tracks, gallery, size, seed + 100 * size + draw)
        cases = [(tracks[p], p) for p in take] + [([s], None) for s in reported]
        for truth, k_list, frames, means in predicted_cases(classifier, cases, seed, condition):
            for key, right in judge(frames, means, truth, k_list, thresholds).items():
                tally = counts.setdefault(key, [0, 0, 0, 0])
                tally[0 if truth is not None else 2] += int(right)
                tally[1 if truth is not None else 3] += 1
    return counts


def shipped_table(measured: dict) -> dict:
    """What recognition/track_calibration.py holds: the measured tails, except that one colour
    frame is a single face, judged on the single-face table as the service judges it."""
    table = {condition: dict(buckets) for condition, buckets in measured.items()}
    table["colour"]["1"] = tuple(impostor_tail(EMBEDDER))
    return table


def print_table(measured: dict) -> None:
    print("# measured (colour '1' as measured on degraded single frames):")
    print(f"# {measured['colour']['1']}")
    print(f'    "{EMBEDDER}": {{')
    for condition, buckets in shipped_table(measured).items():
        print(f'        "{condition}": {{')
        for label, tail in buckets.items():
            print(f'            "{label}": {tail},')
        print("        },")
    print("    },")


def print_report(tracks, reported, seed, gallery, table) -> None:
    heads = [f"{k} frame{'s' if k > 1 else ''}" for k in REPORT_FRAMES] + ["1-8 (mixed)"]
    print("\nknown tracks named right / stranger tracks unknown")
    print("| condition | people | rule | threshold | " + " | ".join(heads) + " |")
    print("|---|---|---|---|" + "---|" * len(heads))
    for condition in CONDITIONS:
        for size in SIZES:
            counts = evaluate(tracks, reported, seed, gallery, table, condition, size)
            single = threshold_for(EMBEDDER, size, FALSE_ACCEPT)
            named_rules = [("single frames", f"{single:.3f}"), ("mean @ single", f"{single:.3f}")]
            rules = track_rules(table[condition], size, single, condition == "grey")
            for rule, threshold in rules.items():
                named_rules.append((rule, "/".join(f"{threshold(k):.3f}" for k in REPORT_FRAMES)))
            for rule, threshold in named_rules:
                cells = []
                for i in range(len(heads)):
                    right, known, unknown, strangers = counts[rule, i]
                    cells.append(f"{right / known:.2%} / {unknown / strangers:.2%}")
                print(
                    f"| {condition} | {size} | {rule} | {threshold} | " + " | ".join(cells) + " |"
                )
    example = counts["mean @ single", 0]
    print(
        f"(known tracks in the last row, over its draws: {example[1]}; stranger tracks: {example[3]})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 known + 100 stranger tracks")
    parser.add_argument("--known", type=int, default=0, help="known-person tracks (0: every one)")
    parser.add_argument("--strangers", type=int, default=0, help="stranger tracks (0: 1,000)")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--quality-weight", type=float, default=tracks_module.QUALITY_WEIGHT,
        help="a frame's weight in its track's mean is its quality to this power (0: equal)",
    )  # fmt: skip
    args = parser.parse_args()
    tracks_module.QUALITY_WEIGHT = args.quality_weight
    known = args.known or (100 if args.quick else 10_000)
    strangers = args.strangers or (100 if args.quick else 10_000)
    started = time.perf_counter()
    gallery = clean_gallery(args.workers)
    tracks, calibration, reported = choose_tracks(known, strangers, args.seed)
    print(f"{len(tracks)} known-person tracks, {len(calibration)} + {len(reported)} stranger "
          f"tracks (calibrate + report), seed {args.seed}, "
          f"quality weight {args.quality_weight:g}")  # fmt: skip
    embed_frames(frame_jobs(tracks, calibration + reported, args.seed), args.workers)
    measured = tails(calibration, args.seed, gallery)
    print_table(measured)
    print_report(tracks, reported, args.seed, gallery, shipped_table(measured))
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
