"""The Spark side: one task per work item, results cached once, tracks stitched across segments
per file, crops and tracks to Parquet (and with --store one transaction per file), a report
back."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from batch.inputs import WorkItem, expand_inputs, plan_work
from batch.process import ItemResult, process_item
from batch.recognizer import RecognizerSpec, recognizer_for
from batch.stitch import Joins, border_of, file_joins, stitched_track
from batch.store import (
    database_for,
    recording_of,
    store_recording,
    stored_crop,
    stored_track,
)
from storage.model_store import ModelStore

log = logging.getLogger("facerec.batch")

COLUMNS = [
    ("source", "string"),
    ("kind", "string"),
    ("camera_id", "string"),
    ("location_id", "string"),
    ("timestamp", "double"),
    ("frame", "int"),
    ("recognized_at", "timestamp"),
    ("box_left", "double"),
    ("box_top", "double"),
    ("box_right", "double"),
    ("box_bottom", "double"),
    ("label", "string"),
    ("score", "double"),
    ("threshold", "double"),
    ("model_version", "string"),
    ("bundle_version", "string"),
    # The face's unit vector and its space: `facerec-batch search --face` ranks by it.
    ("embedding_space", "string"),
    ("embedding", "array<float>"),
    # The crop's track (a row of the tracks dataset) and its quality (recognition.tracks).
    ("track_id", "string"),
    ("quality", "double"),
]
# One row per track (batch/tracks.py): beside the crops' dataset, at tracks_path(output).
TRACK_COLUMNS = [
    *COLUMNS[:4],
    ("track_id", "string"),
    ("first_timestamp", "double"),
    ("last_timestamp", "double"),
    ("first_seen_at", "timestamp"),
    ("last_seen_at", "timestamp"),
    ("crops", "int"),
    ("label", "string"),
    ("score", "double"),
    ("threshold", "double"),
    ("faces", "int"),  # the best crops the decision averaged
    ("grey", "boolean"),
    ("model_version", "string"),
    ("bundle_version", "string"),
    ("best_timestamp", "double"),
    ("best_frame", "int"),
    ("best_box_left", "double"),
    ("best_box_top", "double"),
    ("best_box_right", "double"),
    ("best_box_bottom", "double"),
    ("best_quality", "double"),
    # The best crop's face (recognition.sighting.thumbnail's JPEG): one face per track for whoever
    # reviews the output; the crops' own faces are not written (docs/batch.md: --store keeps them).
    ("best_thumbnail", "binary"),
    ("embedding_space", "string"),
    ("embedding", "array<float>"),  # the best crops' quality-weighted mean (weighted_mean)
]


def _schema(columns) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in columns)


def tracks_path(output: str) -> str:
    """Where the tracks of the crops written at `output` go: recognitions.parquet ->
    recognitions-tracks.parquet (any other name: name-tracks)."""
    stem = output.rstrip("/")
    if stem.endswith(".parquet"):
        return f"{stem.removesuffix('.parquet')}-tracks.parquet"
    return f"{stem}-tracks"


@dataclass(frozen=True)
class BatchOptions:
    inputs: list[str]
    output: str
    bundle_dir: str
    model_dir: str
    model_version: str | None = None
    fps: float = 2.0
    segment_seconds: float = 60.0
    camera_id: str | None = None
    started_at: float | None = None
    database_url: str | None = None  # set: --store
    threads: int = 1
    face_margin: float = 32.0
    min_face_size: int = 40  # the service's MTCNN setting (FACEREC_MIN_FACE_SIZE)
    false_accept_rate: float = 0.01  # tracks are decided as the service does (FACEREC_...)
    match_threshold: float | None = None
    track_false_accept_rate: float | None = None
    # Tracks of neighbouring segments join at this rate (batch/stitch.py): the service's rate
    # for unknown tracks of one camera within a minute (FACEREC_UNKNOWN_NEARBY_JOIN_RATE).
    join_rate: float = 1e-4


@dataclass
class ItemReport:
    path: str
    start: float
    end: float
    frames: int
    rows: int
    tracks: int
    stored: int
    seconds: float
    error: str | None


@dataclass
class BatchReport:
    model_version: str
    items: list[ItemReport] = field(default_factory=list)
    wall_seconds: float = 0.0
    joined: int = 0  # segment tracks that continue an earlier segment's track (batch/stitch.py)
    stored_tracks: int = 0

    @property
    def failed(self) -> list[ItemReport]:
        return [item for item in self.items if item.error]

    @property
    def rows(self) -> int:
        return sum(item.rows for item in self.items)

    @property
    def tracks(self) -> int:
        """Tracks once stitched across segment borders."""
        return sum(item.tracks for item in self.items) - self.joined

    @property
    def video_seconds(self) -> float:
        return sum(item.end - item.start for item in self.items if not item.error)


def spark_session(master: str = "local[*]", app_name: str = "facerec-batch", conf=None):
    """A SparkSession; a local master is kept on 127.0.0.1 with no UI (nothing else is reachable)."""
    from pyspark.sql import SparkSession

    # Python workers run this interpreter (the venv's, with cv2 and this package) even when it was
    # started by its path without activating the venv: SparkContext takes its workers' python from
    # PYSPARK_PYTHON ("python3" when unset), not from spark.pyspark.python. An explicit one wins.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.python.worker.reuse", "true")
        # Progress is logged as lines (ProgressLogger), readable in a pod's log too.
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master.startswith("local"):
        # The JVM's own address lookup would otherwise pick the first interface's address.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
        )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _recognise(items, spec: RecognizerSpec, fps: float):
    """A Spark task: recognise and track each item (one per task)."""
    for item in items:
        yield process_item(item, partial(recognizer_for, spec), fps)


def _report(result: ItemResult) -> ItemReport:
    item = result.item
    return ItemReport(
        item.path,
        item.start,
        item.end,
        result.frames,
        len(result.rows),
        len(result.tracks),
        0,
        result.seconds,
        result.error,
    )


def _stitched_tracks(crops, spec: RecognizerSpec):
    """A Spark task: decide each stitched track again over all its crops."""
    judge = recognizer_for(spec).judge
    for _, rows in crops:
        yield stitched_track(list(rows), judge)


def _joins(results, options: BatchOptions) -> Joins:
    """The per-file pass: each segment's border tracks, grouped by file, compared; only the
    joined ids come back to the driver."""
    rate = options.join_rate
    return Joins.of(
        results.map(partial(border_of, fps=options.fps))
        .filter(lambda border: border is not None)
        .keyBy(lambda border: border.path)
        .groupByKey()
        .flatMap(lambda pair: file_joins(list(pair[1]), rate))
        .collect()
    )


def _crops_and_tracks(results, joins, spec: RecognizerSpec):
    """The job's crop rows (stitched ids) and track rows (the stitched ones decided again)."""
    crops = results.flatMap(lambda result: [joins.value.crop(row) for row in result.rows])
    stitched = (
        crops.filter(lambda row: row["track_id"] in joins.value.stitched)
        .keyBy(lambda row: row["track_id"])
        .groupByKey()
        .mapPartitions(partial(_stitched_tracks, spec=spec))
    )
    kept = results.flatMap(
        lambda result: [t for t in result.tracks if t["track_id"] not in joins.value.stitched]
    )
    return crops, kept.union(stitched).persist()


def _store(context, items, crops, tracks, reports: list[ItemReport], url: str) -> int:
    """`--store`: one task per file replaces its rows (batch/store.py); the tracks stored."""
    failed = {report.path for report in reports if report.error}
    by_file = defaultdict(list)
    for item in items:
        if item.path not in failed:
            by_file[item.path].append(item)
    recordings = [(path, recording_of(segments)) for path, segments in by_file.items()]
    outcomes = (
        context.parallelize(recordings, max(1, len(recordings)))
        .groupWith(
            crops.map(lambda row: (row["source"], stored_crop(row))),
            tracks.map(lambda row: (row["source"], stored_track(row))),
        )
        .filter(lambda pair: len(pair[1][0]))
        .map(lambda pair: store_recording(url, *pair))
        .collect()
    )
    done = {path: error for path, _, _, error in outcomes}
    for report in reports:
        if report.path in done:
            report.error = done[report.path]
            report.stored = 0 if report.error else report.rows
    return sum(tracks for _, _, tracks, _ in outcomes)


def _row_tuples(rows, columns):
    return rows.map(lambda row: tuple(row[name] for name, _ in columns))


class ProgressLogger(threading.Thread):
    """Logs finished/total tasks of the running stages every `period` seconds."""

    def __init__(self, spark_context, period: float = 2.0):
        super().__init__(daemon=True, name="batch-progress")
        self.tracker = spark_context.statusTracker()
        self.period = period
        self.done = threading.Event()
        self.last = None

    def run(self) -> None:
        while not self.done.wait(self.period):
            for stage_id in self.tracker.getActiveStageIds():
                stage = self.tracker.getStageInfo(stage_id)
                if stage is None:
                    continue
                state = (stage.numCompletedTasks, stage.numActiveTasks, stage.numTasks)
                if state != self.last:
                    self.last = state
                    log.info(
                        "progress: %d/%d segments done, %d running", state[0], state[2], state[1]
                    )

    def stop(self) -> None:
        self.done.set()
        self.join()


def resolve_model_version(options: BatchOptions) -> str:
    version = options.model_version or ModelStore(Path(options.model_dir)).current_version()
    if not version:
        raise ValueError(f"no trained classifier in {options.model_dir} (train one first)")
    ModelStore(Path(options.model_dir)).metadata(version)  # NotFound now, not on every executor
    return version


def plan(options: BatchOptions) -> list[WorkItem]:
    return plan_work(
        expand_inputs(options.inputs),
        options.segment_seconds,
        options.camera_id,
        options.started_at,
    )


def _spec(options: BatchOptions, version: str) -> RecognizerSpec:
    return RecognizerSpec(
        str(Path(options.bundle_dir).resolve()),
        str(Path(options.model_dir).resolve()),
        version,
        options.threads,
        options.face_margin,
        options.min_face_size,
        false_accept_rate=options.false_accept_rate,
        match_threshold=options.match_threshold,
        track_false_accept_rate=options.track_false_accept_rate,
    )


def _recognised(context, items: list[WorkItem], spec: RecognizerSpec, fps: float):
    """One task per item, its result cached for the later stages; and the items' reports."""
    from pyspark import StorageLevel

    context.setJobDescription("facerec-batch: recognise")
    results = (
        context.parallelize(items, max(1, len(items)))
        .mapPartitions(partial(_recognise, spec=spec, fps=fps))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    progress = ProgressLogger(context)
    progress.start()
    try:
        return results, results.map(_report).collect()
    finally:
        progress.stop()


def run_batch(spark, options: BatchOptions) -> BatchReport:
    """Run the whole job on `spark`; per-item failures are in the report, not raised."""
    began = time.perf_counter()
    version = resolve_model_version(options)
    items = plan(options)
    if options.database_url:
        database_for(options.database_url).create_schema()
    spec = _spec(options, version)
    log.info(
        "%d inputs -> %d segments, model %s", len({i.path for i in items}), len(items), version
    )
    context = spark.sparkContext
    results, reports = _recognised(context, items, spec, options.fps)
    context.setJobDescription("facerec-batch: stitch tracks across segments")
    joins = _joins(results, options)
    crops, tracks = _crops_and_tracks(results, context.broadcast(joins), spec)
    context.setJobDescription("facerec-batch: write parquet")
    frame = spark.createDataFrame(_row_tuples(crops, COLUMNS), _schema(COLUMNS))
    frame.write.mode("overwrite").parquet(options.output)
    written = spark.createDataFrame(_row_tuples(tracks, TRACK_COLUMNS), _schema(TRACK_COLUMNS))
    written.write.mode("overwrite").parquet(tracks_path(options.output))
    stored_tracks = 0
    if options.database_url:
        context.setJobDescription("facerec-batch: store")
        stored_tracks = _store(context, items, crops, tracks, reports, options.database_url)
    tracks.unpersist()
    results.unpersist()
    for report in reports:
        if report.error:
            log.warning(
                "skipped %s [%.0f-%.0f s]: %s", report.path, report.start, report.end, report.error
            )
    joined = len(joins.earliest)
    return BatchReport(version, reports, time.perf_counter() - began, joined, stored_tracks)
