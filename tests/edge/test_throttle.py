"""The resend throttle on the real clip: a face that stays put is sent every N frames, a new one at once."""

from __future__ import annotations

import pytest

from edge.detector import Detection
from edge.throttle import ResendThrottle


def test_every_one_sends_every_face(detector, clip_frames):
    throttle = ResendThrottle(1)
    for index, frame in enumerate(clip_frames[:20]):
        faces = detector.detect(frame)
        assert throttle.select(index, faces) == faces


def test_faces_that_stay_put_on_the_clip_are_sent_every_n_frames(detector, clip_frames):
    throttle = ResendThrottle(15)
    detected = sent = 0
    for index, frame in enumerate(clip_frames):
        faces = detector.detect(frame)
        detected += len(faces)
        sent += len(throttle.select(index, faces))
    assert 0 < sent < detected / 5


def test_a_new_face_is_sent_at_once_and_a_returning_one_after_n_frames():
    throttle = ResendThrottle(3)
    a, b = Detection((10, 10, 50, 50), 0.9), Detection((200, 10, 240, 50), 0.9)
    assert throttle.select(0, [a]) == [a]
    assert throttle.select(1, [a, b]) == [b]  # a was just sent, b is new
    assert throttle.select(2, [a, b]) == []
    assert throttle.select(3, [a, b]) == [a]
    assert throttle.select(4, [a, b]) == [b]
    with pytest.raises(ValueError):
        ResendThrottle(0)
