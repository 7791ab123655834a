"""Edge fixtures: the UltraFace files, real frames, and a real stand-in API process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import pytest

from tests.conftest import BUNDLE, FACES, ROOT, ULTRAFACE

CLIP = FACES / "video" / "short_hamilton_clip.mp4"
STUB = Path(__file__).with_name("stub_api.py")


@pytest.fixture(scope="session")
def ultraface_dir() -> Path:
    """The bundle's rewritten files once it is built, else the vendored upstream originals."""
    if (BUNDLE / "manifest.json").is_file():
        return BUNDLE / "ultraface"
    return ULTRAFACE


@pytest.fixture(scope="session")
def detector(ultraface_dir):
    from edge.detector import UltraFaceDetector

    return UltraFaceDetector(ultraface_dir / "version-RFB-320.onnx")


@pytest.fixture(scope="session")
def clip_frames() -> list:
    capture = cv2.VideoCapture(str(CLIP))
    frames = []
    while len(frames) < 60:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StubApi:
    """The stand-in API as a separate process on 127.0.0.1, stopped and restarted by PID."""

    def __init__(self, port: int | None = None, *flags: str):
        self.port = port or free_port()
        self.flags = flags
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *flags: str) -> StubApi:
        command = [sys.executable, str(STUB), "--port", str(self.port), *(flags or self.flags)]
        self.process = subprocess.Popen(command, cwd=ROOT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("stub API exited") from None
                time.sleep(0.05)
        raise RuntimeError("stub API did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/stats", timeout=5) as response:
            return json.load(response)


@pytest.fixture
def stub_api():
    """Factory: `stub_api("--fail-first", "2")` starts one; every one is stopped afterwards."""
    started: list[StubApi] = []

    def start(*flags: str) -> StubApi:
        api = StubApi(None, *flags).start()
        started.append(api)
        return api

    yield start
    for api in started:
        api.stop()
