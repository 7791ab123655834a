"""`facerec-edge --rtmp-url`: the daemon publishes its frames with each face's answer drawn on it."""

from __future__ import annotations

import subprocess
import sys
import time

import cv2
import numpy as np

from tests.batch.conftest import CLIP
from tests.conftest import ROOT
from tests.edge.conftest import stub_api  # noqa: F401  (a fixture)


def _known_green_pixels(frame: np.ndarray) -> int:
    """Pixels close to the drawing's KNOWN green (0, 200, 0): rare in the clip itself."""
    blue, green, red = (frame[..., i].astype(int) for i in range(3))
    return int(((green > 150) & (blue < 80) & (red < 80)).sum())


def test_the_daemon_streams_frames_with_the_answers_drawn(rtmp_server, stub_api):  # noqa: F811
    api = stub_api()  # names every face "someone": a known label, drawn in green
    url = f"{rtmp_server}/edge"
    command = [sys.executable, "-m", "edge.daemon", "--source", str(CLIP), "--api-url", api.url]
    command += ["--rate", "15", "--fps", "15", "--max-frames", "200", "--resend-every", "1"]
    command += ["--rtmp-url", url, "--log-level", "WARNING"]
    daemon = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    received = []
    try:
        time.sleep(2.0)  # ffmpeg connects and sends a keyframe
        capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        assert capture.isOpened(), f"cannot play {url}"
        deadline = time.monotonic() + 30
        while len(received) < 60 and time.monotonic() < deadline:
            ok, frame = capture.read()
            if ok:
                received.append(frame)
        capture.release()
    finally:
        out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    assert len(received) >= 30
    plain = cv2.VideoCapture(str(CLIP))
    baseline = max(_known_green_pixels(plain.read()[1]) for _ in range(60))
    plain.release()
    drawn = max(_known_green_pixels(frame) for frame in received)
    assert drawn > baseline + 200, (drawn, baseline)
    assert b"frames: 200" in out
