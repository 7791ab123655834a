"""Annotated frames published through ffmpeg to a real nginx-rtmp and read back with OpenCV."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from edge.detector import UltraFaceDetector
from edge.drawing import KNOWN, draw_face
from edge.rtmp import RtmpError, RtmpPublisher
from tests.batch.conftest import CLIP
from tests.conftest import BUNDLE

FPS = 15.0
WANTED = 15  # frames read back


@pytest.fixture(scope="module")
def annotated_frames():
    """Clip frames where Lin-Manuel Miranda sings, each face boxed and named as the clients do."""
    detector = UltraFaceDetector(BUNDLE / "ultraface" / "version-RFB-320.onnx")
    capture = cv2.VideoCapture(str(CLIP))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 100)
    frames, boxes = [], []
    for _ in range(45):
        ok, frame = capture.read()
        assert ok
        detections = detector.detect(frame)
        assert detections
        for detection in detections:
            draw_face(frame, detection.box, "lin_manuel_miranda 0.70", KNOWN)
        frames.append(frame)
        boxes.append(detections[0].box)
    capture.release()
    return frames, boxes


def _publish(url, frames, stop: threading.Event, errors: list):
    try:
        with RtmpPublisher(url, fps=FPS) as stream:
            index = 0
            while not stop.is_set():
                stream.write(frames[index % len(frames)])
                index += 1
                time.sleep(1 / FPS)
    except Exception as error:  # reported by the test
        errors.append(error)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)
    return 10 * np.log10(255**2 / max(mse, 1e-9))


def test_published_frames_arrive_annotated(rtmp_server, annotated_frames):
    frames, boxes = annotated_frames
    url = f"{rtmp_server}/test"
    stop, errors = threading.Event(), []
    publisher = threading.Thread(target=_publish, args=(url, frames, stop, errors), daemon=True)
    publisher.start()
    received = []
    try:
        time.sleep(1.0)  # let ffmpeg connect and send a keyframe
        capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        assert capture.isOpened(), f"cannot play {url} ({errors})"
        deadline = time.monotonic() + 30
        while len(received) < WANTED and time.monotonic() < deadline:
            ok, frame = capture.read()
            if ok:
                received.append(frame)
        capture.release()
    finally:
        stop.set()
        publisher.join(timeout=15)
    assert not errors, errors
    assert len(received) == WANTED
    for frame in received:
        assert frame.shape == frames[0].shape
        # Which published frame this is: the closest one; H.264 keeps it recognisable.
        scores = [_psnr(frame, sent) for sent in frames]
        best = int(np.argmax(scores))
        assert scores[best] > 28, scores[best]
        # The annotation survived: the box's top edge is the clients' green.
        left, top, right, _ = boxes[best]
        edge = frame[top, left + 5 : right - 5].astype(int)
        blue, green, red = edge.mean(axis=0)
        assert green > 150 and blue < 90 and red < 90, (blue, green, red)


def test_an_unreachable_server_is_a_clear_error():
    port_without_server = "rtmp://127.0.0.1:9/live/nobody"
    frame = np.zeros((64, 64, 3), np.uint8)
    with (
        pytest.raises(RtmpError, match="ffmpeg stopped publishing"),
        RtmpPublisher(port_without_server, fps=5) as stream,
    ):
        for _ in range(500):
            stream.write(frame)
            time.sleep(0.01)


@pytest.mark.parametrize("url", ["http://example.org/live", "stream-1"])
def test_only_rtmp_urls_are_accepted(url):
    with pytest.raises(ValueError, match="rtmp://"):
        RtmpPublisher(url)
