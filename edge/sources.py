"""Frame sources: a camera index, a video file, an image-sequence pattern or a stream URL, one way.

`open_source("0")` is the first camera, `open_source("clip.mp4")` a file, `open_source("img_%04d.jpg")`
or `open_source("frames/*.jpg")` a sequence of images, `open_source("rtsp://...")` a stream.
"""

from __future__ import annotations

import glob
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

_GLOB_CHARS = set("*?[")


class SourceError(RuntimeError):
    """The source cannot be opened (no such camera, file or stream)."""


def _is_glob(spec: str) -> bool:
    return bool(_GLOB_CHARS & set(spec)) and "://" not in spec


_PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def is_photo_set(spec: str | int) -> bool:
    """A shell glob or one image file is read as photos (any sizes, unrelated scenes), not a
    video (a printf pattern such as img_%04d.jpg is a video's frames): a face there is seen once,
    so trackers must not wait for a second sighting."""
    spec = str(spec).strip()
    single = Path(spec).suffix.lower() in _PHOTO_SUFFIXES and "%" not in spec
    return _is_glob(spec) or (single and "://" not in spec)


def _glob_frames(pattern: str) -> Iterator[np.ndarray]:
    """OpenCV reads printf patterns (img_%04d.jpg) itself; shell globs are read here in name order."""
    paths = sorted(glob.glob(pattern))
    if not paths:
        raise SourceError(f"no image matches {pattern!r}")
    for path in paths:
        frame = cv2.imread(path, cv2.IMREAD_COLOR)
        if frame is not None:
            yield frame


def _capture(spec: str) -> cv2.VideoCapture:
    target: int | str = int(spec) if spec.isdigit() else spec
    if (
        isinstance(target, str)
        and "://" not in target
        and "%" not in target
        and not Path(target).exists()
    ):
        raise SourceError(f"no such video file: {target}")
    capture = cv2.VideoCapture(target)
    if not capture.isOpened():
        kind = "camera" if isinstance(target, int) else "source"
        raise SourceError(f"cannot open {kind} {spec!r}")
    return capture


def _capture_frames(capture: cv2.VideoCapture) -> Iterator[np.ndarray]:
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()


def open_source(
    spec: str | int, max_frames: int | None = None, rate: float | None = None
) -> Iterator[np.ndarray]:
    """BGR frames from `spec`, at most `max_frames` of them; raises SourceError if it cannot open.

    The source is opened now (so errors surface before the first frame is asked for). `rate`
    paces a file to that many frames per second, to replay a recording like a live camera.
    """
    spec = str(spec).strip()
    frames = _glob_frames(spec) if _is_glob(spec) else _capture_frames(_capture(spec))
    if _is_glob(spec):
        # Surface "no match" now, like a missing file.
        first = next(frames, None)
        if first is None:
            raise SourceError(f"no readable image matches {spec!r}")
        frames = _chain(first, frames)
    frames = _limit(frames, max_frames)
    return _paced(frames, rate) if rate else frames


def _paced(frames: Iterator[np.ndarray], rate: float) -> Iterator[np.ndarray]:
    period = 1.0 / rate
    due = time.monotonic()
    for frame in frames:
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        due = max(due + period, time.monotonic() - period)
        yield frame


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def _limit(frames: Iterator[np.ndarray], max_frames: int | None) -> Iterator[np.ndarray]:
    if max_frames is None:
        yield from frames
        return
    for count, frame in enumerate(frames):
        if count >= max_frames:
            frames.close()
            return
        yield frame
