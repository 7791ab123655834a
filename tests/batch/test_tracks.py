"""Issue #22 in batch: the edge's tracker over the sampled frames of the real clip, one decision
per track (no Spark: what one task runs)."""

from __future__ import annotations

from collections import defaultdict
from functools import partial
from pathlib import Path

import pytest

from batch.inputs import plan_work
from batch.process import process_item
from batch.recognizer import RecognizerSpec, recognizer_for
from batch.stitch import Joins, border_of, file_joins, stitched_track
from storage.model_store import ModelStore
from tests.batch.conftest import CLIP
from tests.conftest import BUNDLE

# tests/edge/test_daemon.py: the edge sees 8 people-appearances in the whole clip.
PEOPLE_APPEARANCES = 8


@pytest.fixture(scope="module")
def spec(model_dir):
    version = ModelStore(Path(model_dir)).current_version()
    return RecognizerSpec(str(BUNDLE.resolve()), str(Path(model_dir).resolve()), version)


@pytest.fixture(scope="module")
def whole_clip(spec):
    """The clip as one segment at 2 frames per second."""
    [item] = plan_work([CLIP], segment_seconds=60.0, started_at=0.0)
    result = process_item(item, partial(recognizer_for, spec), 2.0)
    assert result.error is None
    return result


def _decided(track: dict) -> tuple:
    return tuple(
        track[key]
        for key in ("first_timestamp", "last_timestamp", "crops", "label", "faces", "score")
    ) + (track["best_timestamp"], track["best_box_left"])


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


def test_track_ids_name_the_file_and_the_segment(spec, whole_clip):
    """Tracks are per segment: a second segment's ids never collide with the first's."""
    prefix = {row["track_id"].rsplit("-", 1)[0] for row in whole_clip.rows}
    assert len(prefix) == 1 and prefix.pop().endswith("-0")
    second = plan_work([CLIP], segment_seconds=4.0, started_at=0.0)[1]
    result = process_item(second, partial(recognizer_for, spec), 2.0)
    assert {row["track_id"].rsplit("-", 1)[0] for row in result.rows} == {
        whole_clip.rows[0]["track_id"].split("-")[0] + "-4000"
    }


def test_the_clip_cut_into_1_s_segments_stitches_back_into_the_uncut_tracks(spec, whole_clip):
    """Ten segments track apart (19 tracks); the per-file pass joins the 12 border crossings,
    and each joined track, decided again over all its crops, is the uncut clip's track."""
    items = plan_work([CLIP], segment_seconds=1.0, started_at=0.0)
    results = [process_item(item, partial(recognizer_for, spec), 2.0) for item in items]
    assert len(items) == 10 and sum(len(r.tracks) for r in results) == 19
    borders = [border for border in (border_of(r, 2.0) for r in results) if border]
    joins = Joins.of(file_joins(borders, 1e-4))
    crops = [joins.crop(row) for result in results for row in result.rows]
    chains = defaultdict(list)
    for row in crops:
        if row["track_id"] in joins.stitched:
            chains[row["track_id"]].append(row)
    judge = recognizer_for(spec).judge
    tracks = [t for r in results for t in r.tracks if t["track_id"] not in joins.stitched]
    tracks += [stitched_track(chain, judge) for chain in chains.values()]
    assert len(joins.earliest) == 12 and len(tracks) == len(whole_clip.tracks) == 7
    assert sorted(map(_decided, tracks)) == sorted(map(_decided, whole_clip.tracks))
    # Lin-Manuel Miranda's 3.0-7.0 s cross four borders: one id, the first segment's.
    [lin] = [t for t in tracks if t["first_timestamp"] == 3.0]
    assert lin["track_id"].split("-")[1] == "3000"
    assert {r["track_id"] for r in crops if 3.0 <= r["timestamp"] <= 7.0} == {lin["track_id"]}
