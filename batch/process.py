"""One work item -> its rows and tracks: what a Spark task runs (plain Python, testable without
Spark)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from batch.frames import image_frame, video_frames
from batch.inputs import WorkItem
from batch.recognizer import FrameRecognizer
from batch.tracks import segment_tracker, track_rows
from edge.quality import face_patch
from recognition.tracks import crop_quality


@dataclass
class ItemResult:
    """An item's rows (one per crop), its tracks, how many frames it sampled, and why it failed
    (if it did)."""

    item: WorkItem
    rows: list[dict] = field(default_factory=list)
    tracks: list[dict] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0
    error: str | None = None


def recognized_at(item: WorkItem, timestamp: float) -> datetime:
    return datetime.fromtimestamp(item.started_at, UTC) + timedelta(seconds=timestamp)


def _frames(item: WorkItem, fps: float):
    if item.kind == "image":
        yield 0.0, 0, image_frame(item.path)
    else:
        yield from video_frames(item.path, item.start, item.end, fps)


def _row(item: WorkItem, timestamp: float, frame: int, named, recognizer: FrameRecognizer) -> dict:
    sighting, grey = named
    left, top, right, bottom = sighting.box
    return {
        "source": item.path,
        "kind": item.kind,
        "camera_id": item.camera_id,
        "location_id": item.source_id,
        "timestamp": timestamp,
        "frame": frame,
        "recognized_at": recognized_at(item, timestamp),
        "box_left": left,
        "box_top": top,
        "box_right": right,
        "box_bottom": bottom,
        "label": sighting.label,
        "score": sighting.score,
        "threshold": sighting.threshold,
        "model_version": recognizer.model_version,
        "bundle_version": recognizer.analyzer.bundle_version,
        "embedding_space": recognizer.analyzer.embedding_space,
        "embedding": [float(v) for v in sighting.embedding],
        # The crop's quality as the service measures it (its evidence order) and whether it is
        # grey (infrared: the track is judged on the grey table); track_id is set by the caller.
        "quality": crop_quality(sighting.box, sighting.probability),
        "grey": grey,
        # The face as the live service keeps it (a JPEG, recognition.sighting.thumbnail): --store
        # keeps it too, so a stored track shows its best face.
        "thumbnail": sighting.thumbnail,
    }


def _track_frames(item: WorkItem, fps: float, recognizer: FrameRecognizer, result: ItemResult):
    """Follow the faces across the item's sampled frames; a row per face MTCNN confirms."""
    tracker = segment_tracker(item, fps)
    for ordinal, (timestamp, index, frame) in enumerate(_frames(item, fps)):
        result.frames += 1
        detections = recognizer.detect(frame)
        patches = [face_patch(frame, detection.box) for detection in detections]
        seen, _ = tracker.update(ordinal, detections, patches)
        for track, detection in seen:
            named = recognizer.name(frame, detection)
            if named is not None:
                row = _row(item, timestamp, index, named, recognizer)
                result.rows.append({**row, "track_id": track.id})


def process_item(item: WorkItem, recognizer_factory, fps: float) -> ItemResult:
    """Recognise every sampled frame of `item`; any failure is recorded on the result, never raised,
    so one broken file cannot fail the job (Spark would retry it, then abort everything)."""
    result = ItemResult(item)
    if item.error:
        result.error = item.error
        return result
    # Outside the try: a missing bundle or model must fail the job, not every item quietly.
    recognizer = recognizer_factory()
    began = time.perf_counter()
    try:
        _track_frames(item, fps, recognizer, result)
        result.tracks = track_rows(result.rows, recognizer.judge)
    except Exception as error:  # reported per item; the rest of the job goes on
        result.error = f"{type(error).__name__}: {error}"
        result.rows, result.tracks = [], []
    result.seconds = time.perf_counter() - began
    return result
