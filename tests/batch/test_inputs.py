"""Inputs, segments and frame sampling on the real clip: no Spark, no models."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from batch.frames import UnreadableMedia, image_frame, sample_times, video_frames
from batch.inputs import InputError, expand_inputs, plan_work, segments, short_id
from tests.batch.conftest import CLIP, SCENES


def test_folders_globs_and_files_expand_to_sorted_unique_media():
    found = expand_inputs([str(SCENES), str(SCENES / "*.jpg"), str(CLIP)])
    # Sorted by full path (scenes/ before video/), each file once though named twice.
    assert [p.name for p in found] == [
        "kit_with_rose.jpg",
        "obama_and_biden.jpg",
        "two_people.jpg",
        "short_hamilton_clip.mp4",
    ]


@pytest.mark.parametrize("spec", ["/nonexistent/clip.mp4", "/nonexistent/*.mp4"])
def test_inputs_naming_nothing_are_refused(spec):
    with pytest.raises(InputError):
        expand_inputs([spec])


def test_segments_cover_the_video_without_overlap():
    assert segments(9.18, 4) == [(0, 4), (4, 8), (8, 9.18)]
    assert segments(3.0, 60) == [(0, 3.0)]


def test_sampling_grid_is_the_same_whatever_the_segments():
    whole = sample_times(0, 9.18, 2)
    pieces = [t for start, end in segments(9.18, 4) for t in sample_times(start, end, 2)]
    assert whole == pieces == [k / 2 for k in range(19)]
    assert sample_times(0.2, 1.3, 3) == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_segment_frames_are_the_frames_showing_at_their_instants():
    """Seeking into the middle of the clip lands on the same pixels as decoding from the start."""
    capture = cv2.VideoCapture(str(CLIP))
    fps = capture.get(cv2.CAP_PROP_FPS)
    sequential = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        sequential.append(frame)
    capture.release()
    sampled = list(video_frames(str(CLIP), 4.0, 6.0, 2.0))
    assert [(t, i) for t, i, _ in sampled] == [
        (t, math.floor(t * fps + 1e-6)) for t in (4.0, 4.5, 5.0, 5.5)
    ]
    for _, index, frame in sampled:
        assert np.array_equal(frame, sequential[index]), index


def test_sampling_past_the_end_stops_quietly():
    assert [t for t, _, _ in video_frames(str(CLIP), 8.0, 20.0, 2.0)] == [8.0, 8.5, 9.0]


def test_unreadable_files_become_reported_items(broken_video, tmp_path):
    items = plan_work([broken_video, CLIP], segment_seconds=4, camera_id="door")
    assert items[0].error and items[0].path == str(broken_video)
    assert [(i.start, i.end) for i in items[1:]] == segments(items[-1].end, 4)
    assert all(i.camera_id == "door" and i.error is None for i in items[1:])
    with pytest.raises(UnreadableMedia):
        list(video_frames(str(broken_video), 0, 1, 2))
    bad_image = tmp_path / "bad.jpg"
    bad_image.write_bytes(b"not a jpeg")
    with pytest.raises(UnreadableMedia):
        image_frame(str(bad_image))


def test_long_names_are_shortened_to_distinct_ids():
    long_a, long_b = "a" * 70 + "1.mp4", "a" * 70 + "2.mp4"
    assert len(short_id(long_a)) == 64 and short_id(long_a) != short_id(long_b)
    assert short_id("clip.mp4") == "clip.mp4"
