"""Gallery + OneVsRestSVM at 100 to 100,000 people: train time, classify time, model size, RSS.

Synthetic clustered faces: each person a random unit centre (plus a common component, so two
people's faces have cosine ~0.12 as real ones do, not 0), 5 enrolled faces and one probe each =
centre + Gaussian noise, renormalised; the noise gives a same-person cosine of ~0.6, as real
faces. Classify = the gallery's 20 nearest faces -> best per person (`best_per_class`), then
the SVM's scores for those candidates (`scores_for`), for a batch of 200 probes (classify_ms, per
face) and as 200 single-face calls (single_ms), both with one BLAS thread as a serving worker
has; all_scores_ms = every person's SVM score, batch
of 200. Model = the bytes of `to_arrays` of both; RSS = a fresh process after np.load +
from_arrays. --lfw: real embeddings (benchmarks/lfw.py's cache), enrol all photos but each
person's last, probe the last: nearest neighbour vs this SVM vs scikit-learn's LinearSVC.

    .venv/bin/python benchmarks/gallery.py [--dims 512 128] [--people 100 1000 10000] [--huge]
    .venv/bin/python benchmarks/gallery.py --lfw ~/.cache/facerec/lfw/casia-*.npz
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recognition.gallery import DEFAULT_HNSW_THRESHOLD, Gallery, decode, encode  # noqa: E402
from recognition.svm import OneVsRestSVM  # noqa: E402

FACES_PER_PERSON = 5
NOISE = 0.8  # |noise| / |centre|: same-person cosine ~ 1 / (1 + 0.8^2) = 0.61
COMMON = 0.5  # weight of the direction every centre shares
PROBES = 200
K = 20

LOAD_AND_MEASURE = """
import sys, numpy as np
sys.path.insert(0, {root!r})
from recognition.gallery import Gallery
from recognition.svm import OneVsRestSVM
def rss():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024
before = rss()
with np.load({path!r}, allow_pickle=False) as saved:
    arrays = dict(saved)
gallery, svm = Gallery.from_arrays(arrays), OneVsRestSVM.from_arrays(arrays)
del arrays
print(before, rss())
"""


def every_class_score(svm, queries):
    """Every class's SVM score ([n, classes]); serving scores only the gallery's candidates."""
    return np.asarray(queries, np.float32) @ svm.weights.T + svm.bias


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def synthetic(people: int, dim: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(enrolled faces, their person, probe faces, their person)."""
    common = unit(rng.standard_normal((1, dim)))
    centres = unit(unit(rng.standard_normal((people, dim))) + COMMON * common)

    def faces(owners):
        noise = rng.standard_normal((len(owners), dim)) * (NOISE / np.sqrt(dim))
        return unit(centres[owners] + noise)

    owners = np.repeat(np.arange(people), FACES_PER_PERSON)
    probe_owners = rng.choice(people, min(people, 2000), replace=False)
    return faces(owners), owners, faces(probe_owners), probe_owners


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def loaded_rss(arrays: dict) -> tuple[int, int]:
    """MB of RSS of a fresh Python before and after loading the saved model."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.npz")
        np.savez(path, **arrays)
        script = LOAD_AND_MEASURE.format(root=str(ROOT), path=path)
        output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        if output.returncode:
            raise RuntimeError(output.stderr)
        before, after = output.stdout.split()
        return int(before), int(after)


def recall_at_10(gallery: Gallery, faces: np.ndarray, probes: np.ndarray) -> float:
    similarities = probes @ decode(encode(faces)).T
    exact = np.argpartition(-similarities, 9, axis=1)[:, :10]  # as sets: order does not count
    _, found = gallery.search(probes, 10)
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, found, strict=True)]))


def measure(people: int, dim: int, hnsw_threshold: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    faces, owners, probes, probe_owners = synthetic(people, dim, rng)
    same = float(np.mean(np.sum(faces[0::5] * faces[1::5], axis=1)))
    other = float(np.mean(np.sum(faces[0::5][:-1] * faces[5::5], axis=1)))
    t_gallery, gallery = timed(Gallery, faces, owners, hnsw_threshold)
    t_svm, svm = timed(OneVsRestSVM.fit, faces, owners, hnsw_threshold=hnsw_threshold)

    def classify(face):
        _, candidates = gallery.best_per_class(face, K)
        best = svm.scores_for(face, candidates).argmax(axis=1)
        return np.take_along_axis(candidates, best[:, None], axis=1)

    with threadpool_limits(limits=1, user_api="blas"):  # as a serving worker (api/service.py)
        classify(probes[0])  # warm-up
        t_single, _ = timed(lambda: [classify(face) for face in probes[:PROBES]])
        t_classify, _ = timed(classify, probes[:PROBES])
    t_scores, scores = timed(lambda q: every_class_score(svm, q), probes[:PROBES])
    _, nearest = gallery.best_per_class(probes, K, threads=-1)  # accuracy, not timed
    svm_top1 = np.concatenate(
        [
            every_class_score(svm, probes[i : i + 500]).argmax(axis=1)
            for i in range(0, len(probes), 500)
        ]
    )
    arrays = gallery.to_arrays() | svm.to_arrays()
    rss_before, rss_after = loaded_rss(arrays)
    return {
        "people": people,
        "dim": dim,
        "faces": len(faces),
        "index": gallery.index,
        "same_cos": same,
        "other_cos": other,
        "gallery_s": t_gallery,
        "svm_s": t_svm,
        "classify_ms": t_classify / PROBES * 1000,
        "single_ms": t_single / PROBES * 1000,
        "all_scores_ms": t_scores / PROBES * 1000,
        "model_mb": sum(a.nbytes for a in arrays.values()) / 1e6,
        "rss_mb": rss_after,
        "rss_model_mb": rss_after - rss_before,
        "nn_top1": float(np.mean(nearest[:, 0] == probe_owners)),
        "svm_top1": float(np.mean(svm_top1 == probe_owners)),
        "recall10": recall_at_10(gallery, faces, probes[:PROBES])
        if gallery.index != "exact"
        else 1.0,
    }


def lfw(path: Path) -> None:
    """Enrol every LFW person's photos but the last, probe the last: top-1 of each method."""
    with np.load(path, allow_pickle=False) as saved:
        keep = saved["accepted"] & ~saved["stranger"]
        embeddings, people = saved["embeddings"][keep], saved["people"][keep]
    _, owners = np.unique(people, return_inverse=True)
    last = np.r_[owners[1:] != owners[:-1], True]
    enrolled = ~last & np.isin(owners, owners[~last])
    probe = last & np.isin(owners, owners[~last])
    known, train = np.unique(owners[enrolled], return_inverse=True)
    test = np.searchsorted(known, owners[probe])
    x, q = embeddings[enrolled], embeddings[probe]
    print(f"LFW {path.name}: {len(x)} enrolled faces of {len(known)} people, {len(q)} probes")
    print("| method | top-1 | train s |\n|---|---|---|")
    _, nearest = Gallery(x, train).best_per_class(q, K)
    print(f"| nearest neighbour | {np.mean(nearest[:, 0] == test):.4f} | - |")
    fit_s, svm = timed(OneVsRestSVM.fit, x, train)
    top1 = np.mean(every_class_score(svm, q).argmax(axis=1) == test)
    print(f"| OneVsRestSVM, argmax over all | {top1:.4f} | {fit_s:.1f} |")
    from sklearn.svm import LinearSVC

    fit_s, reference = timed(LinearSVC(class_weight="balanced").fit, x, train)
    top1 = np.mean(reference.decision_function(q).argmax(axis=1) == test)
    print(f"| scikit-learn LinearSVC (all faces) | {top1:.4f} | {fit_s:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, nargs="*", default=[100, 1000, 10000])
    parser.add_argument("--dims", type=int, nargs="+", default=[512, 128])
    parser.add_argument("--huge", action="store_true", help="also 100,000 people (HNSW; minutes)")
    parser.add_argument("--hnsw-threshold", type=int, default=DEFAULT_HNSW_THRESHOLD)
    parser.add_argument("--lfw", type=Path, help="benchmarks/lfw.py's cached .npz of embeddings")
    args = parser.parse_args()
    if args.lfw:
        lfw(args.lfw)
        return
    sizes = args.people + ([100_000] if args.huge else [])
    columns = [
        "people",
        "dim",
        "faces",
        "index",
        "same_cos",
        "other_cos",
        "gallery_s",
        "svm_s",
        "classify_ms",
        "single_ms",
        "all_scores_ms",
        "model_mb",
        "rss_mb",
        "rss_model_mb",
        "nn_top1",
        "svm_top1",
        "recall10",
    ]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for dim in args.dims:
        for people in sizes:
            row = measure(people, dim, args.hnsw_threshold)
            cells = [f"{row[c]:.3g}" if isinstance(row[c], float) else str(row[c]) for c in columns]
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
