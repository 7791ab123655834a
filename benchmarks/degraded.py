"""Open-set recognition on degraded faces: clean enrolment, probes and strangers blurred, shrunk,
darkened or JPEG-crushed, the way a cheap camera at night or at a distance sees them.

Every LFW person enrols up to 3 clean photos (1,291 people); their other photos are the probes
and the 1,000 strangers the impostors, each degraded the same way. Each embedder answers with
its calibrated threshold for 1% false accepts at that gallery size, as the service would.
Reads the LFW calibration set in ../shared/faces/lfw (FACEREC_LFW overrides it).

    python benchmarks/degraded.py [--limit 400]     # minutes: detection + every embedder
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import lfw  # noqa: E402
from openset import ENROL, by_person  # noqa: E402

from recognition import UNKNOWN, FaceAnalyzer, FaceClassifier, load_image  # noqa: E402
from recognition.calibration import threshold_for  # noqa: E402
from recognition.networks.embedder import normalize  # noqa: E402
from recognition.subject import choose_subject  # noqa: E402

NETWORKS = ("casia", "sface", "dlib")
EMBEDDERS = ("casia", "dlib", "sface", "sface+dlib")


def blurred(rgb):
    return cv2.GaussianBlur(rgb, (0, 0), 2.5)


def small(rgb):
    """The face at ~45 px (LFW's are ~110), the service's minimum face being 40."""
    height, width = rgb.shape[:2]
    return cv2.resize(rgb, (width * 2 // 5, height * 2 // 5), interpolation=cv2.INTER_AREA)


def dark(rgb):
    """A quarter of the light, with sensor noise, as an underexposed night frame."""
    noise = np.random.default_rng(0).normal(0, 4, rgb.shape)
    return np.clip(rgb * 0.25 + noise, 0, 255).astype(np.uint8)


def jpeg(rgb):
    _, data = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 12]
    )
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


DEGRADATIONS = {"blur": blurred, "small": small, "dark": dark, "jpeg": jpeg}


def embed_degraded(rows, degrade, analyzers: dict[str, FaceAnalyzer], data) -> dict:
    """Each network's embedding of each degraded photo's subject (NaN where none was found)."""
    detector = analyzers[NETWORKS[0]]
    out = {
        n: np.full((len(rows), a.embedder.dim), np.nan, np.float32) for n, a in analyzers.items()
    }
    for i, row in enumerate(rows):
        rgb = degrade(load_image((lfw.LFW / str(data.paths[row])).read_bytes()))
        faces = detector.detect(rgb)
        chosen = choose_subject([f.box for f in faces], rgb.shape[1], rgb.shape[0])
        if chosen is not None:
            for name, analyzer in analyzers.items():
                out[name][i] = analyzer.embed(rgb, [faces[chosen]])[0]
    out["sface+dlib"] = normalize(np.hstack([out["sface"], out["dlib"]]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="at most this many probes/strangers")
    args = parser.parse_args()
    clean = {name: lfw.load(name) for name in EMBEDDERS}
    data = clean["sface"]
    people = by_person(data)
    enrol, labels, probes, truth = [], [], [], []
    for person in sorted(people):
        rows = people[person]
        keep = min(ENROL, len(rows) - 1)
        enrol += rows[:keep]
        labels += [person] * keep
        probes += rows[keep:]
        truth += [person] * (len(rows) - keep)
    strangers = list(np.flatnonzero(data.stranger & data.accepted))
    if args.limit:
        probes, truth, strangers = (
            probes[: args.limit],
            truth[: args.limit],
            strangers[: args.limit],
        )
    truth = np.array(truth)
    classifiers = {
        name: FaceClassifier.fit(
            clean[name].embeddings[enrol],
            labels,
            threshold_for(name, len(people), 0.01),
            name,
        )
        for name in EMBEDDERS
    }
    root = Path(__file__).resolve().parents[1] / "models"
    analyzers = {
        n: FaceAnalyzer.from_bundle(root, threads=1, min_face_size=lfw.MIN_FACE_SIZE, embedder=n)
        for n in NETWORKS
    }
    print(
        f"{len(people)} people enrolled (clean), {len(probes)} probes, {len(strangers)} strangers"
    )
    print("| degradation | embedder | face found | named right | strangers unknown |")
    print("|---|---|---|---|---|")
    for name, degrade in {"none": None, **DEGRADATIONS}.items():
        started = time.perf_counter()
        if degrade is None:
            probe_vectors = {e: clean[e].embeddings[probes] for e in EMBEDDERS}
            stranger_vectors = {e: clean[e].embeddings[strangers] for e in EMBEDDERS}
        else:
            probe_vectors = embed_degraded(probes, degrade, analyzers, data)
            stranger_vectors = embed_degraded(strangers, degrade, analyzers, data)
        for embedder in EMBEDDERS:
            found = ~np.isnan(probe_vectors[embedder][:, 0])
            named = classifiers[embedder].predict(np.nan_to_num(probe_vectors[embedder][found]))
            right = sum(p.label == t for p, t in zip(named, truth[found], strict=True))
            seen = ~np.isnan(stranger_vectors[embedder][:, 0])
            fooled = classifiers[embedder].predict(np.nan_to_num(stranger_vectors[embedder][seen]))
            accepted = sum(p.label != UNKNOWN for p in fooled)
            print(
                f"| {name} | {embedder} | {found.mean():.1%} | {right / len(probes):.2%} | "
                f"{1 - accepted / len(strangers):.2%} |"
            )
        print(f"<!-- {name}: {time.perf_counter() - started:.0f} s -->")


if __name__ == "__main__":
    main()
