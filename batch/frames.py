"""Sampled frames: a video's time range read at `fps` frames per second, or one image."""

from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np


class UnreadableMedia(ValueError):
    """A file that OpenCV cannot open or decode."""


def sample_times(start: float, end: float, fps: float) -> list[float]:
    """The instants k / fps in [start, end): one grid for the whole video, so segments never
    sample the same instant twice or leave a gap at their borders."""
    if fps <= 0:
        raise ValueError("--fps must be above 0")
    first = math.ceil(start * fps - 1e-9)
    last = math.ceil(end * fps - 1e-9)  # exclusive
    return [k / fps for k in range(first, last)]


def video_frames(
    path: str, start: float, end: float, fps: float
) -> Iterator[tuple[float, int, np.ndarray]]:
    """(instant in seconds, frame index, BGR frame) for each sampled instant of [start, end).

    An instant t shows frame floor(t * video fps). The instant, not the frame's own start time,
    is reported: it always lies inside the segment, so a segment's rows are exactly those
    between its start and end (which `--store` relies on). Frames in between are grabbed,
    not decoded to pixels.
    """
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise UnreadableMedia(f"cannot open video {path}")
        video_fps = capture.get(cv2.CAP_PROP_FPS)
        if not video_fps or video_fps <= 0:
            raise UnreadableMedia(f"video {path} has no frame rate")
        wanted: dict[int, float] = {}
        for instant in sample_times(start, end, fps):
            wanted.setdefault(math.floor(instant * video_fps + 1e-6), instant)
        if not wanted:
            return
        position = min(wanted)
        if position:
            capture.set(cv2.CAP_PROP_POS_FRAMES, position)
        for index, instant in sorted(wanted.items()):
            while position < index:
                if not capture.grab():
                    return
                position += 1
            ok, frame = capture.read()
            if not ok:
                if position == min(wanted):
                    raise UnreadableMedia(f"cannot decode video {path} at {instant:.2f} s")
                return  # the header promised more frames than the file holds
            position += 1
            yield instant, index, frame
    finally:
        capture.release()


def image_frame(path: str) -> np.ndarray:
    """A BGR image, as OpenCV reads it."""
    frame = cv2.imread(path, cv2.IMREAD_COLOR)
    if frame is None:
        raise UnreadableMedia(f"cannot read image {path}")
    return frame
