"""The Spark side: one task per work item, results cached once, crops and tracks to Parquet, a
report back."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from batch.inputs import WorkItem, expand_inputs, plan_work
from batch.process import ItemResult, process_item
from batch.recognizer import RecognizerSpec, recognizer_for
from batch.store import database_for, replace_segment
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
    ("embedding_space", "string"),
    ("embedding", "array<float>"),  # the normalised mean of the best crops' embeddings
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

    @property
    def failed(self) -> list[ItemReport]:
        return [item for item in self.items if item.error]

    @property
    def rows(self) -> int:
        return sum(item.rows for item in self.items)

    @property
    def tracks(self) -> int:
        return sum(item.tracks for item in self.items)

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


def _run_partition(items, spec: RecognizerSpec, fps: float, database_url: str | None):
    """A Spark task: recognise each item, then (with --store) replace its rows in one transaction.

    Storing inside the task keeps it idempotent under Spark's retries too: a task run twice
    replaces the same segment twice.
    """
    for item in items:
        result = process_item(item, partial(recognizer_for, spec), fps)
        stored = 0
        if database_url and not result.error:
            try:
                stored = replace_segment(database_for(database_url), item, result.rows)
            except Exception as error:
                result.error = f"storing failed: {type(error).__name__}: {error}"
        yield result, stored


def _report(pair: tuple[ItemResult, int]) -> ItemReport:
    result, stored = pair
    item = result.item
    return ItemReport(
        item.path,
        item.start,
        item.end,
        result.frames,
        len(result.rows),
        len(result.tracks),
        stored,
        result.seconds,
        result.error,
    )


def _row_tuples(pair: tuple[ItemResult, int]):
    result, _ = pair
    return [tuple(row[name] for name, _ in COLUMNS) for row in result.rows]


def _track_tuples(pair: tuple[ItemResult, int]):
    result, _ = pair
    return [tuple(row[name] for name, _ in TRACK_COLUMNS) for row in result.tracks]


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


def run_batch(spark, options: BatchOptions) -> BatchReport:
    """Run the whole job on `spark`; per-item failures are in the report, not raised."""
    from pyspark import StorageLevel

    began = time.perf_counter()
    version = resolve_model_version(options)
    items = plan(options)
    if options.database_url:
        database_for(options.database_url).create_schema()
    spec = RecognizerSpec(
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
    log.info(
        "%d inputs -> %d segments, model %s", len({i.path for i in items}), len(items), version
    )
    context = spark.sparkContext
    context.setJobDescription("facerec-batch: recognise")
    results = (
        context.parallelize(items, max(1, len(items)))
        .mapPartitions(
            partial(_run_partition, spec=spec, fps=options.fps, database_url=options.database_url)
        )
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    progress = ProgressLogger(context)
    progress.start()
    try:
        reports = results.map(_report).collect()
    finally:
        progress.stop()
    context.setJobDescription("facerec-batch: write parquet")
    frame = spark.createDataFrame(results.flatMap(_row_tuples), _schema(COLUMNS))
    frame.write.mode("overwrite").parquet(options.output)
    tracks = spark.createDataFrame(results.flatMap(_track_tuples), _schema(TRACK_COLUMNS))
    tracks.write.mode("overwrite").parquet(tracks_path(options.output))
    results.unpersist()
    for report in reports:
        if report.error:
            log.warning(
                "skipped %s [%.0f-%.0f s]: %s", report.path, report.start, report.end, report.error
            )
    return BatchReport(version, reports, time.perf_counter() - began)
