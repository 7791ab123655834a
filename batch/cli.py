"""`facerec-batch`: recognise everyone in recorded videos and photos with Spark.

facerec-batch recordings/ --output sightings.parquet --fps 2 --store
facerec-batch 'cams/*/2024-05-*.mp4' extra.jpg --master spark://spark-master:7077
facerec-batch search --face suspect.jpg sightings.parquet    # the archive's tracks of a face

Exit status: 0 all inputs done, 3 some inputs were skipped (listed), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime

from api.config import Settings
from batch import search
from batch.inputs import InputError, expand_inputs
from batch.job import (
    BatchOptions,
    BatchReport,
    resolve_model_version,
    run_batch,
    spark_session,
    tracks_path,
)
from storage.errors import NotFound

log = logging.getLogger("facerec.batch")
EXIT_SKIPPED = 3


def _timestamp(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a timezone, e.g. {text}+00:00")
    return moment.timestamp()


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _conf(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facerec-batch", description=__doc__.split("\n\n")[0].removeprefix("`facerec-batch`: ")
    )
    parser.add_argument("inputs", nargs="+", help="video/image files, folders or quoted globs")
    recordings = parser.add_argument_group("recordings")
    recordings.add_argument(
        "--camera-id", help="camera of every input (default: its folder's name)"
    )
    recordings.add_argument(
        "--recorded-at",
        type=_timestamp,
        help="when the recordings started, ISO 8601 with zone (default: each file's mtime)",
    )
    recordings.add_argument(
        "--fps", type=_positive, default=2.0, help="frames sampled per video second (2)"
    )
    results = parser.add_argument_group("results")
    results.add_argument("--output", default="recognitions.parquet", help="Parquet folder to write")
    results.add_argument(
        "--store", action="store_true", help="also write the crops and tracks to the database"
    )
    results.add_argument(
        "--model-version", help="classifier version (default: the current one, pinned at start)"
    )
    spark = parser.add_argument_group("Spark")
    spark.add_argument("--master", default="local[*]", help="any Spark master (local[*])")
    spark.add_argument(
        "--conf", type=_conf, action="append", default=[], help="extra Spark KEY=VALUE"
    )
    spark.add_argument(
        "--segment-seconds",
        type=_positive,
        default=60.0,
        help="longer videos are cut into time ranges of this length, one Spark task each (60)",
    )
    spark.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads per task (1)")
    return parser


def options_from_args(args: argparse.Namespace, settings: Settings) -> BatchOptions:
    return BatchOptions(
        inputs=args.inputs,
        output=args.output,
        bundle_dir=str(settings.bundle_dir),
        model_dir=str(settings.model_dir),
        model_version=args.model_version,
        fps=args.fps,
        segment_seconds=args.segment_seconds,
        camera_id=args.camera_id,
        started_at=args.recorded_at,
        database_url=settings.database_url if args.store else None,
        threads=args.threads,
        face_margin=settings.face_margin,
        min_face_size=settings.min_face_size,
        false_accept_rate=settings.false_accept_rate,
        match_threshold=settings.match_threshold,
        track_false_accept_rate=settings.track_false_accept_rate,
        join_rate=settings.unknown_nearby_join_rate,
    )


def print_report(report: BatchReport, output: str) -> None:
    print(
        f"{len(report.items)} segments, {report.video_seconds:.1f} s of video, "
        f"{report.rows} faces in {report.tracks} tracks -> {output} and "
        f"{tracks_path(output)} (model {report.model_version}) in {report.wall_seconds:.1f} s"
    )
    stored = sum(item.stored for item in report.items)
    if stored:
        print(f"{stored} rows and {report.stored_tracks} tracks stored in the database")
    for item in report.failed:
        print(f"SKIPPED {item.path}: {item.error}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    settings = Settings.from_env()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if argv[:1] == ["search"]:
        return search.main(argv[1:], settings, spark_session)
    args = build_parser().parse_args(argv)
    options = options_from_args(args, settings)
    try:  # bad inputs and a missing model fail in a second, before the JVM starts
        expand_inputs(options.inputs)
        resolve_model_version(options)
    except (InputError, NotFound, ValueError) as error:
        print(f"facerec-batch: {error}", file=sys.stderr)
        return 2
    spark = spark_session(args.master, conf=dict(args.conf))
    spark.sparkContext.setLogLevel("WARN")
    try:
        report = run_batch(spark, options)
    except (InputError, NotFound, ValueError) as error:
        print(f"facerec-batch: {error}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    print_report(report, options.output)
    return EXIT_SKIPPED if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
