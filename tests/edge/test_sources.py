"""A camera index, a video file, an image pattern and a glob are read the same way."""

from __future__ import annotations

import time

import cv2
import pytest

from edge.sources import SourceError, open_source
from tests.edge.conftest import CLIP


def test_video_file_is_read_like_a_camera_up_to_max_frames():
    frames = list(open_source(str(CLIP), max_frames=12))
    assert len(frames) == 12
    assert frames[0].shape == (360, 640, 3)


def test_printf_pattern_and_glob_read_the_same_frames(tmp_path, clip_frames):
    for index, frame in enumerate(clip_frames[:5]):
        cv2.imwrite(str(tmp_path / f"frame_{index:04d}.png"), frame)
    by_pattern = list(open_source(str(tmp_path / "frame_%04d.png")))
    by_glob = list(open_source(str(tmp_path / "frame_*.png")))
    assert len(by_pattern) == len(by_glob) == 5
    for a, b, original in zip(by_pattern, by_glob, clip_frames, strict=False):
        assert (a == original).all() and (b == original).all()


def test_rate_paces_a_file_like_a_live_camera():
    started = time.monotonic()
    assert len(list(open_source(str(CLIP), max_frames=6, rate=20))) == 6
    assert time.monotonic() - started >= 0.24


@pytest.mark.parametrize("spec", ["/no/such/clip.mp4", "/no/such/*.jpg", "99"])
def test_sources_that_cannot_open_fail_before_the_first_frame(spec):
    with pytest.raises(SourceError):
        open_source(spec)
