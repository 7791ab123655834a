"""Issue #22 in batch: the edge's tracker over the sampled frames of the real clip, one decision
per track (no Spark: what one task runs)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from batch.inputs import plan_work
from batch.process import process_item
from batch.recognizer import RecognizerSpec, recognizer_for
from storage.model_store import ModelStore
from tests.batch.conftest import CLIP
from tests.conftest import BUNDLE

# tests/edge/test_daemon.py: the edge sees 8 people-appearances in the whole clip.
PEOPLE_APPEARANCES = 8


@pytest.fixture(scope="module")
def whole_clip(model_dir):
    """The clip as one segment at 2 frames per second."""
    version = ModelStore(Path(model_dir)).current_version()
    spec = RecognizerSpec(str(BUNDLE.resolve()), str(Path(model_dir).resolve()), version)
    [item] = plan_work([CLIP], segment_seconds=60.0, started_at=0.0)
    result = process_item(item, partial(recognizer_for, spec), 2.0)
    assert result.error is None
    return result


def test_a_person_on_screen_is_one_track_not_one_row_per_frame(whole_clip):
    rows, tracks = whole_clip.rows, whole_clip.tracks
    assert len(tracks) <= 1.5 * PEOPLE_APPEARANCES and 3 * len(tracks) <= len(rows)
    assert {row["track_id"] for row in rows} == {track["track_id"] for track in tracks}
    # Lin-Manuel Miranda sings from 3.0 s to 7.0 s: one track, named over its best 8 crops.
    [lin] = [t for t in tracks if t["first_timestamp"] == 3.0]
    assert (lin["last_timestamp"], lin["label"], lin["faces"]) == (7.0, "lin_manuel_miranda", 8)
    assert lin["crops"] == 9 and lin["score"] >= lin["threshold"]
    # The audience shot from 7.5 s: each face followed to the end, Obama named among them.
    audience = [t for t in tracks if t["first_timestamp"] == 7.5]
    assert len(audience) >= 3 and all(t["last_timestamp"] == 9.0 for t in audience)
    assert [t["label"] for t in audience].count("obama") == 1


def test_track_ids_name_the_file_and_the_segment(model_dir, whole_clip):
    """Tracks are per segment: a second segment's ids never collide with the first's."""
    prefix = {row["track_id"].rsplit("-", 1)[0] for row in whole_clip.rows}
    assert len(prefix) == 1 and prefix.pop().endswith("-0")
    version = ModelStore(Path(model_dir)).current_version()
    spec = RecognizerSpec(str(BUNDLE.resolve()), str(Path(model_dir).resolve()), version)
    second = plan_work([CLIP], segment_seconds=4.0, started_at=0.0)[1]
    result = process_item(second, partial(recognizer_for, spec), 2.0)
    assert {row["track_id"].rsplit("-", 1)[0] for row in result.rows} == {
        whole_clip.rows[0]["track_id"].split("-")[0] + "-4000"
    }
