"""`facerec-batch search --face PHOTO sightings.parquet`: the archive's sightings of a face.

The same search as `POST /recognitions/search`, over Parquet written by `facerec-batch`: the
photo's subject is embedded with the embedder that wrote the archive, and Spark scores every row
with a dot product in SQL (no Python UDF: the rows never leave the JVM) and keeps the best.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from api.config import Settings
from recognition import FaceAnalyzer, InvalidImage, load_image
from recognition.calibration import decision_threshold


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facerec-batch search", description="rank archived sightings by a photo's face"
    )
    parser.add_argument("parquet", help="what facerec-batch --output wrote")
    parser.add_argument("--face", required=True, help="a photo of the person to look for")
    parser.add_argument("--top", type=int, default=20, help="how many sightings to list (20)")
    parser.add_argument("--master", default="local[*]", help="any Spark master (local[*])")
    return parser


def face_query(photo: Path, settings: Settings, embedder: str):
    """The photo's subject as a unit vector of `embedder`, and the 1:1 threshold."""
    analyzer = FaceAnalyzer.from_bundle(
        settings.bundle_dir, min_face_size=settings.min_face_size, embedder=embedder
    )
    _, chosen, embedding = analyzer.subject(load_image(photo.read_bytes()))
    if chosen is None:
        raise ValueError(f"{photo}: no clear face to look for")
    threshold = decision_threshold(
        embedder, 1, settings.false_accept_rate, settings.match_threshold
    )
    return analyzer.embedding_space, embedding, threshold


def search(spark, parquet: str, space: str, embedding, top: int):
    """The `top` rows of `space` most similar to `embedding`, best first (Spark rows)."""
    from pyspark.sql import functions as F

    query = F.array(*[F.lit(float(v)) for v in embedding])
    score = F.aggregate(
        F.zip_with("embedding", query, lambda x, y: x * y), F.lit(0.0), lambda acc, v: acc + v
    )
    rows = spark.read.parquet(parquet).where(F.col("embedding_space") == space)
    return (
        rows.select("source", "camera_id", "location_id", "timestamp", "recognized_at", "label",
                    score.alias("score"))
        .orderBy(F.col("score").desc())
        .limit(top)
        .collect()
    )  # fmt: skip


def main(argv: list[str], settings: Settings, spark_session) -> int:
    args = build_parser().parse_args(argv)
    if not Path(args.parquet).exists():
        print(f"facerec-batch search: no Parquet at {args.parquet}", file=sys.stderr)
        return 2
    spark = spark_session(args.master, conf={})
    spark.sparkContext.setLogLevel("WARN")
    try:
        spaces = [
            r[0]
            for r in spark.read.parquet(args.parquet).select("embedding_space").distinct().collect()
        ]
        if not spaces:
            print("facerec-batch search: the archive holds no sightings", file=sys.stderr)
            return 2
        space_name = spaces[0]
        space, embedding, threshold = face_query(
            Path(args.face), settings, space_name.partition("@")[0]
        )
        if space not in spaces:
            print(
                f"facerec-batch search: the archive's faces are {spaces}, not {space}",
                file=sys.stderr,
            )
            return 2
        print(f"threshold {threshold:.3f} (a match is at or above it)")
        for row in search(spark, args.parquet, space, embedding, args.top):
            mark = "MATCH" if row.score >= threshold else "     "
            print(
                f"{mark} {row.score:.3f}  {row.recognized_at:%Y-%m-%d %H:%M:%S}  "
                f"{row.camera_id}  {row.location_id}  t={row.timestamp:.1f}s  {row.label}"
            )
    except (InvalidImage, ValueError, OSError) as error:
        print(f"facerec-batch search: {error}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    return 0
