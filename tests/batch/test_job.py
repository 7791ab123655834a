"""The whole job in Spark local[2] over the real clip, the scene photos and a corrupt file."""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import replace

import pyarrow.parquet as pq
import pytest

from api.config import Settings
from batch import cli, search
from batch.job import BatchOptions, run_batch, tracks_path
from recognition.networks import DEFAULT_EMBEDDER
from tests.batch.conftest import CLIP, SCENES
from tests.conftest import BUNDLE, people_images

# What the clip shows (checked on its frames): Lin-Manuel Miranda sings from 3.0 s to 7.0 s
# (a close-up of another face before), then the audience with the Obamas from 7.5 s.
LIN_SECONDS = [3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0]
SCENE_PEOPLE = {
    "kit_with_rose.jpg": {"kit_harington", "rose_leslie"},
    "obama_and_biden.jpg": {"obama", "biden"},
    "two_people.jpg": {"obama", "biden"},
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return tmp_path_factory.mktemp("out") / "recognitions.parquet"


@pytest.fixture(scope="module")
def finished(spark, model_dir, broken_video, archive):
    output = archive
    options = BatchOptions(
        inputs=[str(CLIP), str(SCENES), str(broken_video)],
        output=str(output),
        bundle_dir=str(BUNDLE),
        model_dir=str(model_dir),
        fps=2.0,
        segment_seconds=4.0,  # the 9.2 s clip becomes 3 tasks
        started_at=1_700_000_000.0,
    )
    report = run_batch(spark, options)
    return report, pq.read_table(output).to_pylist()


@pytest.fixture(scope="module")
def tracks(finished, archive):
    return pq.read_table(tracks_path(str(archive))).to_pylist()


def test_the_clip_is_split_and_every_segment_done(finished):
    report, _ = finished
    clip_items = [item for item in report.items if item.path == str(CLIP)]
    assert [(item.start, item.end) for item in clip_items] == [
        (0.0, 4.0),
        (4.0, 8.0),
        (8.0, pytest.approx(9.176, abs=0.01)),
    ]
    assert [item.frames for item in clip_items] == [8, 8, 3]
    assert all(item.error is None for item in clip_items)


def test_lin_manuel_miranda_is_found_at_the_right_times(finished):
    _, rows = finished
    clip = [row for row in rows if row["source"] == str(CLIP)]
    seconds = defaultdict(set)
    for row in clip:
        seconds[row["label"]].add(row["timestamp"])
    assert sorted(seconds["lin_manuel_miranda"] & set(LIN_SECONDS)) == LIN_SECONDS
    assert min(seconds["obama"]) >= 7.5
    # Nobody else enrolled is claimed to be on stage or in the audience.
    assert set(seconds) <= {"lin_manuel_miranda", "obama", "unknown"}
    for row in clip:
        assert row["frame"] == int(row["timestamp"] * 29.97 + 1e-6)
        assert row["recognized_at"].timestamp() == pytest.approx(1_700_000_000 + row["timestamp"])
        assert 0 <= row["box_left"] < row["box_right"] <= 640
        assert 0 <= row["box_top"] < row["box_bottom"] <= 360
        assert row["camera_id"] == "video" and row["location_id"] == CLIP.name
        assert row["model_version"] == finished[0].model_version


def test_photos_name_the_people_in_them(finished):
    _, rows = finished
    for name, people in SCENE_PEOPLE.items():
        labels = {row["label"] for row in rows if row["location_id"] == name}
        assert people <= labels, name
        assert labels - people <= {"unknown"}, name


def test_the_corrupt_video_is_reported_and_skipped(finished, broken_video):
    report, rows = finished
    assert [item.path for item in report.failed] == [str(broken_video)]
    assert "cannot open" in report.failed[0].error
    assert not [row for row in rows if row["source"] == str(broken_video)]
    assert report.rows == len(rows) > 20


def test_each_crop_belongs_to_a_track_and_the_clip_has_few_tracks(finished, tracks):
    """Issue #22: one row per track. The clip is cut into 3 segments and its tracks stitched
    across the borders: the 7 tracks of the uncut clip (tests/batch/test_tracks.py), which
    has 8 people-appearances at the edge (tests/edge/test_daemon.py)."""
    report, rows = finished
    keys = [(t["source"], t["track_id"]) for t in tracks]
    assert len(keys) == len(set(keys)) == report.tracks
    assert {(r["source"], r["track_id"]) for r in rows} == set(keys)
    clip_rows = [r for r in rows if r["source"] == str(CLIP)]
    clip_tracks = [t for t in tracks if t["source"] == str(CLIP)]
    assert len(clip_tracks) == 7 and report.joined == 5
    for track in clip_tracks:
        crops = [r for r in clip_rows if r["track_id"] == track["track_id"]]
        assert track["crops"] == len(crops) and 1 <= track["faces"] <= min(len(crops), 8)
        assert track["first_timestamp"] == min(r["timestamp"] for r in crops)
        assert track["last_timestamp"] == max(r["timestamp"] for r in crops)
        assert track["best_quality"] == max(r["quality"] for r in crops)
        assert len(track["embedding"]) == 256
    assert {t["label"] for t in clip_tracks} <= {"lin_manuel_miranda", "obama", "unknown"}


def test_a_person_on_screen_across_a_segment_border_is_one_track(finished, tracks):
    """Lin-Manuel Miranda sings from 3.0 s to 7.0 s, across the border at 4 s: one track with
    the first segment's id, named over its best 8 of 9 crops; the audience, from 7.5 s across
    the border at 8 s, one track per face with the second segment's ids."""
    _, rows = finished
    clip_tracks = [t for t in tracks if t["source"] == str(CLIP)]
    [lin] = [t for t in clip_tracks if t["first_timestamp"] == 3.0]
    assert (lin["last_timestamp"], lin["crops"], lin["faces"]) == (7.0, 9, 8)
    assert lin["label"] == "lin_manuel_miranda" and lin["score"] >= lin["threshold"]
    assert lin["track_id"].split("-")[1] == "0"
    on_stage = {
        r["track_id"] for r in rows if r["source"] == str(CLIP) and r["timestamp"] in LIN_SECONDS
    }
    assert on_stage == {lin["track_id"]}
    audience = [t for t in clip_tracks if t["first_timestamp"] == 7.5]
    assert len(audience) == 4 and all(t["last_timestamp"] == 9.0 for t in audience)
    assert {t["track_id"].split("-")[1] for t in audience} == {"4000"}
    assert [t["label"] for t in audience].count("obama") == 1


def test_search_by_face_ranks_tracks_and_finds_lin_manuel_miranda(spark, finished, archive):
    settings = replace(Settings(), bundle_dir=BUNDLE)
    photo = people_images()["lin_manuel_miranda"][0]
    space, embedding = search.face_query(photo, settings, DEFAULT_EMBEDDER)
    rows = search.search(spark, str(archive), space, embedding, top=5)
    assert len(rows) == 5 and [r.score for r in rows] == sorted(
        (r.score for r in rows), reverse=True
    )
    # One result per track, each with its crop most like the photo.
    assert len({(r.source, r.track_id) for r in rows}) == len(rows)
    assert all(r.first_timestamp <= r.crop_timestamp <= r.last_timestamp for r in rows)
    threshold = search.match_threshold(settings, DEFAULT_EMBEDDER, rows[0].faces)
    assert rows[0].score >= threshold
    matches = [
        r for r in rows if r.score >= search.match_threshold(settings, DEFAULT_EMBEDDER, r.faces)
    ]
    # Every matching track is one its crops' decision named him too (the clip opens on a wide
    # shot of him singing, 0.0-0.5 s); the best is his close-up on stage.
    assert all(r.label == "lin_manuel_miranda" for r in matches)
    assert rows[0].crop_timestamp in LIN_SECONDS
    _, rows_written = finished
    assert all(len(r["embedding"]) == 256 and r["embedding_space"] == space for r in rows_written)


def test_search_of_a_missing_archive_exits_2(tmp_path):
    assert cli.main(["search", "--face", "x.jpg", str(tmp_path / "none.parquet")]) == 2


def test_python_workers_run_this_interpreter(spark):
    """Not PATH's python3 (no cv2 there), so the venv's scripts work without activating it."""
    assert spark.sparkContext.pythonExec == sys.executable
