"""Tracks at the edge (issue #22) on the real Hamilton clip with the real UltraFace detector.

The clip (275 frames, 640x360) has four shots, cut at frames 20, 82 and 211: a singer on stage
and a small face in the audience (0-19), a man in profile close up (20-81, seen by UltraFace
until 37), the singer close up (82-210) and four people in the audience (211-274). That is
eight appearances of people; docs/edge.md shows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import pytest

from edge.config import EdgeConfig
from edge.crops import crop_face, encode_jpeg
from edge.detector import UltraFaceDetector
from edge.pipeline import FaceCropper
from edge.quality import QualityMeter
from edge.shots import ShotSelector, TrackShots
from edge.tracker import FaceTracker, assign, track_id_prefix
from tests.edge.conftest import CLIP

CUTS = (20, 82, 211)
APPEARANCES = 8


def read_clip(first: int = 0, last: int | None = None) -> list[np.ndarray]:
    capture, frames, index = cv2.VideoCapture(str(CLIP)), [], 0
    while last is None or index <= last:
        ok, frame = capture.read()
        if not ok:
            break
        if index >= first:
            frames.append(frame)
        index += 1
    capture.release()
    return frames


@dataclass
class ClipRun:
    """What TrackShots did over the whole clip with the edge's default settings."""

    detections: list = field(default_factory=list)
    spans: dict = field(default_factory=dict)  # confirmed track id -> [first, last, hits]
    shots: list = field(default_factory=list)  # (frame, shot)
    ends: list = field(default_factory=list)
    crop_bytes: int = 0
    frame_jpeg_bytes: int = 0
    best: dict = field(default_factory=dict)  # track id -> (quality, frame) over all its frames
    tracker: FaceTracker | None = None


@pytest.fixture(scope="module")
def clip_run(ultraface_dir) -> ClipRun:
    config = EdgeConfig(source=str(CLIP))
    model = ultraface_dir / "version-RFB-320.onnx"
    detector = UltraFaceDetector(model, score_threshold=config.track_low_score)
    cropper = FaceCropper(detector, config.margin, config.jpeg_quality, max_size=config.max_face)
    shots, run = TrackShots.from_config(config), ClipRun()
    for index, frame in enumerate(read_clip()):
        found = detector.detect(frame)
        seen, picked, ended = shots.step(index, frame, found)
        run.detections.append(found)
        run.frame_jpeg_bytes += len(encode_jpeg(frame, config.jpeg_quality))
        for track, detection in seen:
            quality = shots.meter.measure(frame, detection).total
            if quality > run.best.get(track.id, (-1.0, 0))[0]:
                run.best[track.id] = (quality, index)
            if track.confirmed:
                span = run.spans.setdefault(track.id, [track.first_frame, index, 0])
                span[1:] = [index, track.hits]
        run.shots += [(index, shot) for shot in picked]
        run.crop_bytes += sum(len(cropper.crop(frame, s.detection).jpeg) for s in picked)
        run.ends += ended
    run.ends += shots.finish()
    run.tracker = shots.tracker
    return run


def test_assignment_is_optimal_like_scipy():
    linear_sum_assignment = pytest.importorskip("scipy.optimize").linear_sum_assignment
    rng = np.random.default_rng(22)
    for rows, cols in [(1, 1), (3, 5), (5, 3), (6, 6), (0, 4), (8, 2)]:
        cost = rng.random((rows, cols))
        pairs = assign(cost, max_cost=1.0)
        r, c = linear_sum_assignment(cost)
        assert sum(cost[i, j] for i, j in pairs) == pytest.approx(cost[r, c].sum())
        assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
    assert assign(np.array([[0.2, 0.9], [0.95, 0.99]]), max_cost=0.8) == [(0, 0)]


def test_track_ids_are_unique_per_camera_across_restarts():
    first, second = FaceTracker(), FaceTracker()  # two runs of the same camera's process
    assert first.prefix != second.prefix
    pattern = re.compile(r"[A-Za-z0-9._:-]{1,64}")
    assert pattern.fullmatch(f"{track_id_prefix()}-123456789")


def test_tracks_on_the_clip_are_people_appearances(clip_run):
    spans = clip_run.spans
    assert APPEARANCES <= len(spans) <= 1.5 * APPEARANCES, spans
    # No track crosses a cut: the appearance gate stops the singer's track at frame 210 from
    # taking over an audience member's face at the same place in frame 211.
    for first, last, _ in spans.values():
        assert not any(first < cut <= last for cut in CUTS), spans
    # The singer close up is one track for the whole shot.
    singer = [s for s in spans.values() if CUTS[1] <= s[0] and s[1] < CUTS[2]]
    assert len(singer) == 1 and singer[0][1] - singer[0][0] >= 120
    audience = [s for s in spans.values() if s[0] >= CUTS[2]]
    assert len(audience) == 4 and all(last == 274 for _, last, _ in audience)
    # Lone detections (hands, mostly) never became tracks and so were never sent.
    assert clip_run.tracker.dropped >= 1
    assert {shot.track_id for _, shot in clip_run.shots} <= set(spans)


def test_the_tracker_follows_a_face_through_a_miss(clip_run):
    """Five frames of the singer without a detection: the motion model carries the track."""
    frames = read_clip(120, 150)
    tracker, ids = FaceTracker(max_gap=10), []
    for offset, frame in enumerate(frames):
        index = 120 + offset
        found = [] if 130 <= index < 135 else clip_run.detections[index]
        found = [d for d in found if d.width > 60]  # the singer, not his hands
        patches = [
            cv2.resize(frame[d.box[1] : d.box[3], d.box[0] : d.box[2]], (40, 40)) for d in found
        ]
        seen, _ = tracker.update(index, found, patches)
        ids += [t.id for t, _ in seen if t.confirmed]
    assert len(set(ids)) == 1 and len(ids) == len(frames) - 6  # all but the miss and frame 1


@pytest.mark.parametrize("singer_in_front", [False, True])
def test_two_faces_crossing_keep_their_tracks(clip_run, detector, singer_in_front):
    """The singer (frame 162) and an audience member (frame 250), cut from the clip, cross in
    front of a blurred shot of the clip; the one behind is hidden for ~6 frames. The real
    detector finds them; each keeps its track through the crossing."""

    def cut(index):
        box = max(clip_run.detections[index], key=lambda d: d.width).box
        return crop_face(read_clip(index, index)[0], box, 0.4)[0]

    singer, other = cut(162), cut(250)
    other = cv2.resize(other, (singer.shape[1], singer.shape[0]))
    background = cv2.GaussianBlur(read_clip(60, 60)[0], (31, 31), 0)
    height, width = singer.shape[:2]
    shots, frames = TrackShots.from_config(EdgeConfig(source="camera.mp4")), 40
    seen_ids = []
    for index in range(frames):
        frame = background.copy()
        left = int(20 + (640 - width - 40) * index / (frames - 1))
        right = 640 - width - left
        layers = [(singer, 100, left), (other, 110, right)]
        for face, top, x in layers[::-1] if singer_in_front else layers:
            frame[top : top + height, x : x + width] = face
        seen, _, _ = shots.step(index, frame, detector.detect(frame))
        seen_ids.append(sorted((d.box[0], t.id) for t, d in seen if t.confirmed))
    assert len(seen_ids[1]) == len(seen_ids[-1]) == 2
    assert {t for frame in seen_ids for _, t in frame} == {t for _, t in seen_ids[1]}
    # Left to right at the start, right to left at the end: the two swapped places, ids kept.
    assert [t for _, t in seen_ids[1]] == [t for _, t in seen_ids[-1]][::-1]


def test_best_shots_are_few_first_at_once_then_better(clip_run):
    config = EdgeConfig()
    assert len(clip_run.shots) <= 2 * len(clip_run.spans)
    assert clip_run.frame_jpeg_bytes / clip_run.crop_bytes >= 100
    by_track: dict[str, list] = {}
    for index, shot in clip_run.shots:
        by_track.setdefault(shot.track_id, []).append((index, shot.quality.total))
    for track_id, sent in by_track.items():
        first, _, _ = clip_run.spans[track_id]
        # The first crop goes as soon as the track is confirmed (its second frame) and usable.
        assert sent[0][0] <= first + 1 or sent[0][1] >= config.min_quality
        for (_, before), (_, after) in zip(sent, sent[1:], strict=False):
            assert after > before * (1 + config.best_margin)
        # The cloud got most of the best the track had to offer.
        assert max(q for _, q in sent) >= clip_run.best[track_id][0] / (1 + config.best_margin)
    # Every track that sent something was ended, once.
    assert sorted(e.track_id for e in clip_run.ends) == sorted(by_track)
    assert all(e.sent == len(by_track[e.track_id]) for e in clip_run.ends)


def test_best_k_keeps_the_cloud_s_k_best_improving():
    selector = ShotSelector(best_k=2, margin=0.1, min_quality=0.1)
    sent = [
        q
        for i, q in enumerate([0.05, 0.2, 0.21, 0.3, 0.25, 0.26, 0.5])
        if selector.choose("t", i, q)
    ]
    # 0.05 unusable; 0.2 first; 0.3 beats the best (fewer than 2 sent); then the bar is the
    # 2nd best (0.2) + 10%: 0.25 goes, 0.26 does not beat 0.25 + 10%, 0.5 does.
    assert sent == [0.2, 0.3, 0.25, 0.5]
    assert selector.end("t") == 4 and selector.end("t") == 0  # ended: forgotten
    every = ShotSelector(resend_every=3)
    assert [i for i in range(7) if every.choose("t", i, 0.0)] == [0, 3, 6]


def test_quality_prefers_sharp_big_frontal_faces(clip_run, detector):
    meter = QualityMeter()
    frame = read_clip(162, 162)[0]
    singer = max(clip_run.detections[162], key=lambda d: d.width)
    sharp = meter.measure(frame, singer)
    blurred = meter.measure(cv2.GaussianBlur(frame, (9, 9), 3), singer)
    assert blurred.sharpness < 0.7 * sharp.sharpness and blurred.total < sharp.total
    small = cv2.resize(frame, None, fx=0.5, fy=0.5)
    (shrunk,) = [d for d in detector.detect(small) if d.width > 30]
    assert meter.measure(small, shrunk).size < sharp.size
    # The man in profile (frame 30) is less symmetric than the singer facing the camera.
    profile_frame = read_clip(30, 30)[0]
    profile = max(clip_run.detections[30], key=lambda d: d.width)
    assert meter.measure(profile_frame, profile).frontal < sharp.frontal
    assert 0 < sharp.total <= 1


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("FACEREC_EDGE_TRACK_GAP", "12")
    monkeypatch.setenv("FACEREC_EDGE_BEST_K", "3")
    monkeypatch.setenv("FACEREC_EDGE_MIN_QUALITY", "0.2")
    config = EdgeConfig.from_env()
    assert (config.track_gap, config.best_k, config.min_quality) == (12, 3, 0.2)
    shots = TrackShots.from_config(replace(config, source="clip.mp4"))
    assert (shots.tracker.max_gap, shots.selector.best_k, shots.tracker.min_hits) == (12, 3, 2)
    # A set of photos: a face is seen once, so it need not be seen twice to be sent.
    assert TrackShots.from_config(replace(config, source="scenes/*.jpg")).tracker.min_hits == 1
