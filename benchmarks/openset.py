"""Open-set recognition on real strangers (../shared/faces/lfw): known people named right vs
strangers answered `unknown`, at 100 and 1,000 enrolled people, through FaceClassifier itself.

    python benchmarks/openset.py            # every embedder: table + docs/img/openset.png
    python benchmarks/openset.py --table    # each embedder's `tail(...)`: recognition/networks/

Protocol: a draw of N people with at least 2 photos; each enrols up to 3 photos (never all:
one is always left to probe) and the rest are probes. Strangers are the 1,000 photos of
`strangers/` (the calibration set, so in-sample) and, out of sample, every photo of the LFW
people not drawn. Five draws per size; the means are printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import lfw  # noqa: E402

from recognition import UNKNOWN, FaceClassifier  # noqa: E402
from recognition.calibration import threshold_for  # noqa: E402
from recognition.networks.embedder import TAIL_SHARES  # noqa: E402

EMBEDDERS = ("casia", "dlib", "sface", "sface+dlib")
SIZES = (100, 1000)
DRAWS = 5
ENROL = 3
PLOT = Path(__file__).resolve().parents[1] / "docs" / "img" / "openset.png"


def by_person(data: lfw.LfwEmbeddings) -> dict[str, list[int]]:
    people: dict[str, list[int]] = {}
    for row in np.flatnonzero(~data.stranger & data.accepted):
        people.setdefault(str(data.people[row]), []).append(int(row))
    return {person: rows for person, rows in people.items() if len(rows) >= 2}


def impostor_tail(data: lfw.LfwEmbeddings) -> list[tuple[float, float]]:
    """Similarity reached by a share q of (stranger, person enrolled with <= 3 photos) pairs."""
    people = by_person(data)
    rows = [r for person in sorted(people) for r in people[person][:ENROL]]
    owner = np.array([i for i, p in enumerate(sorted(people)) for _ in people[p][:ENROL]])
    strangers = data.embeddings[np.flatnonzero(data.stranger & data.accepted)]
    similarity = strangers @ data.embeddings[rows].T
    best = np.full((len(people), len(strangers)), -2.0, np.float32)
    np.maximum.at(best, owner, similarity.T)
    return [(q, round(float(np.quantile(best, 1 - q)), 4)) for q in TAIL_SHARES]


def draw(data: lfw.LfwEmbeddings, size: int, seed: int):
    """(enrol rows, enrol labels, probe rows, probe labels, out-of-sample stranger rows)."""
    people = by_person(data)
    chosen = set(np.random.default_rng(seed).choice(sorted(people), size, replace=False))
    enrol, enrol_labels, probes, probe_labels, others = [], [], [], [], []
    for person in sorted(people):
        rows = people[person]
        if person not in chosen:
            others += rows
            continue
        keep = min(ENROL, len(rows) - 1)
        enrol += rows[:keep]
        enrol_labels += [person] * keep
        probes += rows[keep:]
        probe_labels += [person] * (len(rows) - keep)
    return enrol, enrol_labels, probes, np.array(probe_labels), others


def evaluate(data: lfw.LfwEmbeddings, size: int, seed: int) -> dict:
    enrol, labels, probes, truth, others = draw(data, size, seed)
    threshold = threshold_for(data.embedder, size, 0.01)
    started = time.perf_counter()
    classifier = FaceClassifier.fit(data.embeddings[enrol], labels, threshold, data.embedder)
    train_seconds = time.perf_counter() - started
    strangers = np.flatnonzero(data.stranger & data.accepted)

    def run(rows):
        predictions = classifier.predict(data.embeddings[rows])
        best = np.array([p.candidates[0][0] for p in predictions])
        score = np.array([p.score for p in predictions])
        named = np.array([p.label != UNKNOWN for p in predictions])
        return best, score, named

    best, score, named = run(probes)
    _, stranger_score, stranger_named = run(strangers)
    _, _, other_named = run(others)
    return {
        "threshold": threshold,
        "known_right": float(((best == truth) & named).mean()),
        "rank1": float((best == truth).mean()),
        "strangers_rejected": float(1 - stranger_named.mean()),
        "others_rejected": float(1 - other_named.mean()),
        "train_s": train_seconds,
        "curve": (best == truth, score, stranger_score),
        "probes": len(probes),
    }


def curve(results: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Known-named-right against strangers-rejected over every threshold, pooled over draws."""
    thresholds = np.linspace(-0.2, 1.0, 601)
    right = np.concatenate([r["curve"][0] for r in results])
    score = np.concatenate([r["curve"][1] for r in results])
    stranger = np.concatenate([r["curve"][2] for r in results])
    known = [(right & (score >= t)).mean() for t in thresholds]
    rejected = [(stranger < t).mean() for t in thresholds]
    return np.array(rejected), np.array(known)


def named_right_at(results: list[dict], strangers_unknown: float) -> float:
    """Known-named-right at the threshold that answers exactly this share of strangers unknown
    (pooled over draws): the best any threshold rule could do at that rejection rate."""
    right = np.concatenate([r["curve"][0] for r in results])
    score = np.concatenate([r["curve"][1] for r in results])
    threshold = np.quantile(np.concatenate([r["curve"][2] for r in results]), strangers_unknown)
    return float((right & (score > threshold)).mean())


def plot(curves: dict, operating: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(SIZES), figsize=(11, 4.2), sharey=True)
    for axis, size in zip(axes, SIZES, strict=True):
        for embedder in EMBEDDERS:
            rejected, known = curves[embedder, size]
            axis.plot(rejected * 100, known * 100, label=embedder)
            x, y = operating[embedder, size]
            axis.plot([x * 100], [y * 100], "o", color=axis.lines[-1].get_color())
        axis.set_xlim(90, 100.05)
        axis.set_ylim(60, 100.5)
        axis.axvline(99, color="grey", lw=0.6, ls="--")
        axis.axhline(98.5, color="grey", lw=0.6, ls="--")
        axis.set_title(f"{size} people enrolled (LFW, {DRAWS} draws)")
        axis.set_xlabel("strangers answered unknown (%)")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("enrolled people's other photos named right (%)")
    axes[0].legend(loc="lower left")
    figure.suptitle("Open-set recognition; dots: the default threshold (1% false accepts)")
    figure.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(PLOT, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="print the impostor tails")
    parser.add_argument("--embedders", nargs="+", default=list(EMBEDDERS))
    args = parser.parse_args()
    if args.table:
        for embedder in args.embedders:
            similarities = ", ".join(str(s) for _, s in impostor_tail(lfw.load(embedder)))
            print(f"{embedder}: tail({similarities})")
        return
    curves, operating = {}, {}
    print(
        "| embedder | people | threshold | named right | rank-1 | strangers unknown | "
        "not-enrolled LFW unknown | named right at 99.0% strangers unknown | train s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for embedder in args.embedders:
        data = lfw.load(embedder)
        for size in SIZES:
            results = [evaluate(data, size, seed) for seed in range(DRAWS)]
            mean = {k: np.mean([r[k] for r in results]) for k in results[0] if k != "curve"}
            print(
                f"| {embedder} | {size} | {mean['threshold']:.3f} | {mean['known_right']:.2%} | "
                f"{mean['rank1']:.2%} | {mean['strangers_rejected']:.2%} | "
                f"{mean['others_rejected']:.2%} | {named_right_at(results, 0.99):.2%} | "
                f"{mean['train_s']:.2f} |"
            )
            curves[embedder, size] = curve(results)
            operating[embedder, size] = (mean["strangers_rejected"], mean["known_right"])
        enrolled = ~data.stranger
        print(
            f"|  | enrolment photos accepted: {data.accepted[enrolled].mean():.2%} | | | | | | | |"
        )
    if set(args.embedders) == set(EMBEDDERS):
        plot(curves, operating)
        print(f"plot: {PLOT}")


if __name__ == "__main__":
    main()
