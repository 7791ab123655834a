"""Annotated video to an RTMP server (nginx-rtmp, any CDN ingest) through an ffmpeg child process.

    with RtmpPublisher("rtmp://media.example/live/stream-1", fps=10) as stream:
        for frame in frames:
            stream.write(annotated(frame))

Raw BGR frames go to ffmpeg's stdin; ffmpeg encodes H.264 (zero-latency x264, a keyframe every
two seconds so a player joining late starts quickly) and pushes FLV. The publisher has the same
write/close shape as a video file writer, so a program can send its frames to either.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import threading
from collections import deque

import cv2
import numpy as np

log = logging.getLogger(__name__)

STDERR_LINES = 20  # ffmpeg's last words, quoted when it dies


class RtmpError(OSError):
    """ffmpeg is missing, or stopped taking frames (server unreachable, stream refused)."""


def ffmpeg_command(
    url: str, width: int, height: int, fps: float, bitrate: str, ffmpeg: str = "ffmpeg"
) -> list[str]:
    keyframe_every = max(1, round(fps * 2))
    return [
        ffmpeg,
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "-s",
        f"{width}x{height}",
        "-r",
        f"{fps:g}",
        "-i",
        "-",
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-pix_fmt",
        "yuv420p",
        "-b:v",
        bitrate,
        "-g",
        str(keyframe_every),
        "-f",
        "flv",
        url,
    ]


def check_url(url: str) -> str:
    if not url.startswith(("rtmp://", "rtmps://")):
        raise ValueError(f"an RTMP URL starts with rtmp:// or rtmps://, got {url!r}")
    return url


class RtmpPublisher:
    """Publishes BGR frames to `url`; sized by the first frame (later ones are resized to it)."""

    def __init__(self, url: str, fps: float = 10.0, bitrate: str = "1500k", ffmpeg: str = "ffmpeg"):
        if fps <= 0:
            raise ValueError("the stream's frame rate must be above 0")
        self.url = check_url(url)
        self.fps = fps
        self.bitrate = bitrate
        self.ffmpeg = ffmpeg
        self.size: tuple[int, int] | None = None
        self.frames = 0
        self._process: subprocess.Popen | None = None
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._reader: threading.Thread | None = None

    def _start(self, width: int, height: int) -> None:
        executable = shutil.which(self.ffmpeg)
        if executable is None:
            raise RtmpError(f"{self.ffmpeg} not found: install ffmpeg to publish RTMP streams")
        # x264 with yuv420p needs even dimensions.
        self.size = (width - width % 2, height - height % 2)
        command = ffmpeg_command(self.url, *self.size, self.fps, self.bitrate, executable)
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        # Drained continuously: a full stderr pipe would stall ffmpeg and then us.
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        log.info("publishing %dx%d at %g fps to %s", *self.size, self.fps, self.url)

    def _read_stderr(self) -> None:
        for line in self._process.stderr:
            self._stderr.append(line.decode(errors="replace").rstrip())

    def _failure(self) -> RtmpError:
        code = self._process.poll() if self._process else None
        said = " | ".join(self._stderr) or "no message"
        return RtmpError(f"ffmpeg stopped publishing to {self.url} (exit {code}): {said}")

    def write(self, frame: np.ndarray) -> None:
        if frame is None or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError("expected a BGR frame of shape (height, width, 3)")
        if self._process is None:
            self._start(frame.shape[1], frame.shape[0])
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        try:
            self._process.stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
        except (BrokenPipeError, OSError):
            self._process.wait(timeout=5)
            if self._reader:
                self._reader.join(timeout=1)
            raise self._failure() from None
        self.frames += 1

    def close(self, timeout: float = 10.0) -> None:
        """Flush and end the stream; ffmpeg is killed if it does not finish in `timeout`."""
        if self._process is None:
            return
        process, self._process = self._process, None
        with contextlib.suppress(OSError):  # ffmpeg already gone
            process.stdin.close()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._reader:
            self._reader.join(timeout=1)

    def __enter__(self) -> RtmpPublisher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
