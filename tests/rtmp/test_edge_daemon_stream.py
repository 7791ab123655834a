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
    greens = []  # per frame received: cheap to keep, unlike 200 decoded frames
    try:
        time.sleep(2.0)  # ffmpeg connects and sends a keyframe
        # A read gives up after 3 s without a frame (the default, 30 s, would be spent twice at
        # the stream's end: nginx keeps a player waiting when its publisher leaves).
        capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, [cv2.CAP_PROP_READ_TIMEOUT_MSEC, 3000])
        assert capture.isOpened(), f"cannot play {url}"
        # To the stream's end: the clip has no face from about frame 38 to 82, so a player that
        # joined late and stopped early could see only faceless frames.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ok, frame = capture.read()
            if ok:
                greens.append(_known_green_pixels(frame))
            elif daemon.poll() is not None:
                break  # the stream ended with the daemon
        capture.release()
    finally:
        out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    assert len(greens) >= 30
    plain = cv2.VideoCapture(str(CLIP))
    baseline = max(_known_green_pixels(plain.read()[1]) for _ in range(200))
    plain.release()
    assert max(greens) > baseline + 200, (max(greens), baseline)
    assert b"frames: 200" in out
