"""facerec-batch throughput: video seconds processed per wall second in local[1] and local[2].

    .venv/bin/python benchmarks/batch.py [--copies 4] [--fps 2] [--segment-seconds 5]

The real clip is processed `copies` times (symlinked under different names, so each is its own
input). Fixed overhead (JVM + SparkSession start, first model load) is measured separately: a
run over one image after a fresh session start.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and benchmarks/api.py would hide the package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

import numpy as np  # noqa: E402

from batch.job import BatchOptions, run_batch, spark_session  # noqa: E402
from recognition import FaceAnalyzer, FaceClassifier, load_image  # noqa: E402
from recognition.calibration import threshold_for  # noqa: E402
from storage.model_store import ModelStore  # noqa: E402

FACES = ROOT / "tests" / "data"  # the vendored faces and clip


def enrol(model_dir: Path) -> None:
    analyzer = FaceAnalyzer.from_bundle(ROOT / "models")
    vectors, labels = [], []
    for person in sorted((FACES / "people").iterdir()):
        for path in sorted(person.iterdir()):
            rgb = load_image(path.read_bytes())
            embeddings = analyzer.embed(rgb, analyzer.detect(rgb))
            vectors.append(embeddings[0])
            labels.append(person.name)
    threshold = threshold_for(analyzer.embedder.name, len(set(labels)), false_accept_rate=0.01)
    classifier = FaceClassifier.fit(
        np.stack(vectors), labels, threshold, embedding_space=analyzer.embedding_space
    )
    ModelStore(model_dir).publish(classifier)


def measure(master: str, options: BatchOptions, startup_options: BatchOptions) -> dict:
    began = time.perf_counter()
    spark = spark_session(master, app_name=f"bench-{master}")
    spark.sparkContext.setLogLevel("ERROR")
    session_seconds = time.perf_counter() - began
    try:
        warm = run_batch(spark, startup_options)  # loads the models in the workers
        report = run_batch(spark, options)
    finally:
        spark.stop()
    return {
        "master": master,
        "session_start_s": session_seconds,
        "first_image_job_s": warm.wall_seconds,
        "video_s": report.video_seconds,
        "wall_s": report.wall_seconds,
        "rate": report.video_seconds / report.wall_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--segment-seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        enrol(scratch / "models")
        videos = scratch / "videos"
        videos.mkdir()
        for copy in range(args.copies):
            (videos / f"clip{copy}.mp4").symlink_to(FACES / "video" / "short_hamilton_clip.mp4")
        common = {
            "bundle_dir": str(ROOT / "models"),
            "model_dir": str(scratch / "models"),
            "fps": args.fps,
            "segment_seconds": args.segment_seconds,
        }
        options = BatchOptions(inputs=[str(videos)], output=str(scratch / "out"), **common)
        startup = BatchOptions(
            inputs=[str(FACES / "scenes" / "two_people.jpg")], output=str(scratch / "s"), **common
        )
        results = [measure(master, options, startup) for master in ("local[1]", "local[2]")]
    for r in results:
        print(
            f"{r['master']}: session start {r['session_start_s']:.1f} s, first one-image job "
            f"{r['first_image_job_s']:.1f} s; {r['video_s']:.1f} video s in {r['wall_s']:.1f} s "
            f"= {r['rate']:.2f} video s per wall s (at --fps {args.fps:g})"
        )
    print(f"speedup local[2] / local[1]: {results[1]['rate'] / results[0]['rate']:.2f}x")


if __name__ == "__main__":
    main()
