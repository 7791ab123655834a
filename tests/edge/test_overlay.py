"""The RTMP overlay labels a face with its track's decision, steady while single crops waver."""

from __future__ import annotations

import numpy as np

from edge.detector import Detection
from edge.overlay import AnswerBoard


def face(label: str, track: str | None) -> dict:
    answer = {"top_prediction": {"label": label, "score": 0.5, "threshold": 0.7}}
    if track is not None:
        answer["track"] = {"id": "t", "label": track, "score": 0.8, "threshold": 0.7, "faces": 3}
    return answer


def test_a_track_keeps_its_decided_label_when_one_crop_scores_low(clip_frames):
    board = AnswerBoard()
    assert board.label_for("t-1") is None
    board.record("t-1", {"faces": [face("alice", "alice")]})
    # A blurred crop alone is unknown, but the track over all its crops is still Alice.
    board.record("t-1", {"faces": [face("unknown", "alice")]})
    assert board.label_for("t-1") == "alice"
    # An old API (no "track" in the answer): the crop's own label, as before.
    board.record("t-2", {"faces": [face("bob", None)]})
    assert board.label_for("t-2") == "bob"
    board.record("t-2", {"faces": []})
    assert board.label_for("t-2") == "bob"

    frame = clip_frames[0]
    box = (100, 80, 180, 180)
    drawn = board.annotate(frame, [("t-1", Detection(box, 0.99)), ("t-3", Detection(box, 0.9))])
    assert drawn.shape == frame.shape and not np.array_equal(drawn, frame)
