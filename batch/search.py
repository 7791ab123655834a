"""`facerec-batch search --face PHOTO sightings.parquet`: the archive's tracks of a face.

Search by face over Parquet written by `facerec-batch`, one result per track (a person passing a
camera), not per frame: the photo's subject is embedded with the embedder that wrote the
archive; Spark scores each track by the dot product of the photo with the mean of the track's
best crops (what the track was decided on) in SQL (no Python UDF: the rows never leave the JVM),
keeps the best tracks, and shows each one's crop most like the photo.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from api.config import Settings
from batch.job import tracks_path
from recognition import FaceAnalyzer, InvalidImage, load_image
from recognition.tracks import track_threshold


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
    """The photo's subject as a unit vector of `embedder`, with the analyzer's embedding space."""
    analyzer = FaceAnalyzer.from_bundle(
        settings.bundle_dir, min_face_size=settings.min_face_size, embedder=embedder
    )
    _, chosen, embedding = analyzer.subject(load_image(photo.read_bytes()))
    if chosen is None:
        raise ValueError(f"{photo}: no clear face to look for")
    return analyzer.embedding_space, embedding


def match_threshold(settings: Settings, embedder: str, faces: int) -> float:
    """What a track's mean of `faces` crops needs to match the photo 1:1 (1% false accepts by
    default): the stranger-track tables, as a track's decision uses; a fixed
    FACEREC_MATCH_THRESHOLD wins."""
    if settings.match_threshold is not None:
        return settings.match_threshold
    return track_threshold(embedder, 1, faces, False, settings.false_accept_rate)


def _similarity(column: str, query):
    from pyspark.sql import functions as F

    return F.aggregate(
        F.zip_with(column, query, lambda x, y: x * y), F.lit(0.0), lambda acc, v: acc + v
    )


def search(spark, parquet: str, space: str, embedding, top: int):
    """The `top` tracks of `space` whose best crops' mean is most similar to `embedding`, best
    first, one Spark row each: the track, its score, and its crop most like the photo
    (`crop_timestamp`, `crop_score`, `crop_box_*`)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    query = F.array(*[F.lit(float(v)) for v in embedding])
    keys = ["source", "track_id"]
    tracks = (
        spark.read.parquet(tracks_path(parquet))
        .where(F.col("embedding_space") == space)
        .select(*keys, "camera_id", "location_id", "first_timestamp", "last_timestamp",
                "first_seen_at", "crops", "faces", "label", _similarity("embedding", query)
                .alias("score"))
        .orderBy(F.col("score").desc())
        .limit(top)
    )  # fmt: skip
    crops = spark.read.parquet(parquet).join(F.broadcast(tracks.select(*keys)), keys)
    best = Window.partitionBy(*keys).orderBy(F.col("crop_score").desc(), "crop_timestamp")
    shown = (
        crops.select(*keys, F.col("timestamp").alias("crop_timestamp"),
                     _similarity("embedding", query).alias("crop_score"),
                     *[F.col(f"box_{side}").alias(f"crop_box_{side}")
                       for side in ("left", "top", "right", "bottom")])
        .withColumn("rank", F.row_number().over(best))
        .where(F.col("rank") == 1)
        .drop("rank")
    )  # fmt: skip
    return tracks.join(shown, keys, "left").orderBy(F.col("score").desc()).collect()


def main(argv: list[str], settings: Settings, spark_session) -> int:
    args = build_parser().parse_args(argv)
    if not Path(args.parquet).exists():
        print(f"facerec-batch search: no Parquet at {args.parquet}", file=sys.stderr)
        return 2
    if not Path(tracks_path(args.parquet)).exists():
        print(
            f"facerec-batch search: no tracks at {tracks_path(args.parquet)} (written before "
            "batch tracked faces: run facerec-batch again)",
            file=sys.stderr,
        )
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
        embedder = space_name.partition("@")[0]
        space, embedding = face_query(Path(args.face), settings, embedder)
        if space not in spaces:
            print(
                f"facerec-batch search: the archive's faces are {spaces}, not {space}",
                file=sys.stderr,
            )
            return 2
        print("MATCH: the track's score reaches the 1:1 threshold for its number of faces")
        for row in search(spark, args.parquet, space, embedding, args.top):
            threshold = match_threshold(settings, embedder, row.faces)
            mark = "MATCH" if row.score >= threshold else "     "
            print(
                f"{mark} {row.score:.3f} (>= {threshold:.3f})  {row.first_seen_at:%Y-%m-%d %H:%M:%S}"
                f"  {row.camera_id}  {row.location_id}  t={row.first_timestamp:.1f}-"
                f"{row.last_timestamp:.1f}s  {row.crops} crops  {row.label}  {row.track_id}  "
                f"best crop t={row.crop_timestamp:.1f}s ({row.crop_score:.3f})"
            )
    except (InvalidImage, ValueError, OSError) as error:
        print(f"facerec-batch search: {error}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    return 0
