"""What the job reads: folders, globs and files expanded to videos and images, cut into segments."""

from __future__ import annotations

import glob
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import cv2

from storage import MAX_ID_LENGTH

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts"}
)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
# An image is a one-frame "segment"; its half-open time range must not be empty.
IMAGE_SPAN_SECONDS = 0.001


class InputError(ValueError):
    """An input names nothing the job can read (no such file, an empty glob)."""


@dataclass(frozen=True)
class WorkItem:
    """One Spark task's work: a whole image, or the time range [start, end) of a video.

    `error` is set when the driver could not even open the file: the item is reported and
    skipped without being sent to an executor.
    """

    path: str
    kind: str  # "video" or "image"
    camera_id: str
    source_id: str
    # When the recording started (POSIX seconds): a row's time is this plus its timestamp.
    started_at: float = 0.0
    start: float = 0.0
    end: float = IMAGE_SPAN_SECONDS
    error: str | None = None


def _is_media(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES


def expand_inputs(specs: list[str]) -> list[Path]:
    """Every video and image named by `specs` (files, folders searched recursively, globs), once each, sorted.

    A file named explicitly is kept whatever its suffix (it may be a video without one); files
    found in folders or by globs are kept only with a known video or image suffix.
    """
    found: set[Path] = set()
    for spec in specs:
        path = Path(spec)
        if any(char in spec for char in "*?["):
            matches = [Path(p) for p in glob.glob(spec, recursive=True)]
            media = [p for p in matches if p.is_file() and _is_media(p)]
            if not media:
                raise InputError(f"no video or image matches {spec!r}")
            found.update(media)
        elif path.is_dir():
            media = [p for p in path.rglob("*") if p.is_file() and _is_media(p)]
            if not media:
                raise InputError(f"no video or image in folder {spec!r}")
            found.update(media)
        elif path.is_file():
            found.add(path)
        else:
            raise InputError(f"no such file or folder: {spec!r}")
    return sorted(p.absolute() for p in found)  # not resolve(): links keep their own names


def short_id(text: str) -> str:
    """`text` if it fits the database's id columns, else its head and a hash of the whole."""
    if 1 <= len(text) <= MAX_ID_LENGTH:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{text[: MAX_ID_LENGTH - 13]}-{digest}"


def video_duration(path: Path) -> float:
    """Seconds of video, from the container's header; ValueError when it cannot be read."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValueError("cannot open it as a video")
        fps = capture.get(cv2.CAP_PROP_FPS)
        frames = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        if not fps or fps <= 0 or not frames or frames <= 0:
            raise ValueError("its header has no frame rate or frame count")
        if not capture.grab():
            raise ValueError("its first frame cannot be decoded")
        return float(frames) / float(fps)
    finally:
        capture.release()


def segments(duration: float, segment_seconds: float) -> list[tuple[float, float]]:
    """[start, end) ranges of at most `segment_seconds` covering [0, duration)."""
    if segment_seconds <= 0:
        raise ValueError("segments must be longer than 0 s")
    count = max(1, math.ceil(duration / segment_seconds))
    return [
        (index * segment_seconds, min(duration, (index + 1) * segment_seconds))
        for index in range(count)
    ]


def plan_work(
    paths: list[Path],
    segment_seconds: float = 60.0,
    camera_id: str | None = None,
    started_at: float | None = None,
) -> list[WorkItem]:
    """One item per image and per video segment; unreadable videos become items with an error.

    The camera is `camera_id`, else the file's folder name (recordings/<camera>/<file>); the
    source id (stored as the recognition's location_id) is the file name. A recording started
    at `started_at`, else at its file's modification time: stable across re-runs, which is what
    lets `--store` find and replace the rows of an earlier run.
    """
    items = []
    for path in paths:
        common = {
            "path": str(path),
            "camera_id": short_id(camera_id or path.parent.name or "camera"),
            "source_id": short_id(path.name),
            "started_at": path.stat().st_mtime if started_at is None else started_at,
        }
        if path.suffix.lower() in IMAGE_SUFFIXES:
            items.append(WorkItem(kind="image", **common))
            continue
        try:
            duration = video_duration(path)
        except ValueError as error:
            items.append(WorkItem(kind="video", start=0.0, end=0.0, error=str(error), **common))
            continue
        items.extend(
            WorkItem(kind="video", start=start, end=end, **common)
            for start, end in segments(duration, segment_seconds)
        )
    return items
