"""The track impostor tables are well-formed and track_tail picks the right bucket."""

from __future__ import annotations

import pytest

from recognition.networks import impostor_tail
from recognition.track_calibration import BUCKETS, CONDITIONS, TRACK_TAILS, track_tail


def test_every_embedder_has_every_condition_and_bucket():
    assert TRACK_TAILS
    for conditions in TRACK_TAILS.values():
        assert set(conditions) == set(CONDITIONS)
        for buckets in conditions.values():
            assert list(buckets) == [label for label, _, _ in BUCKETS]


@pytest.mark.parametrize(
    "tail",
    [tail for c in TRACK_TAILS.values() for b in c.values() for tail in b.values()],
)
def test_shares_fall_and_similarities_rise(tail):
    assert len(tail) >= 3
    shares = [q for q, _ in tail]
    similarities = [s for _, s in tail]
    assert all(0 < q < 1 for q in shares)
    assert shares == sorted(shares, reverse=True) and len(set(shares)) == len(shares)
    assert similarities == sorted(similarities) and len(set(similarities)) == len(similarities)
    assert all(-1 <= s <= 1 for s in similarities)


def test_the_buckets_cover_one_to_eight_frames_without_gaps():
    assert BUCKETS[0][1] == 1
    for (_, _, high), (_, low, _) in zip(BUCKETS, BUCKETS[1:], strict=False):
        assert low == high + 1
    assert BUCKETS[-1][2] == 8


@pytest.mark.parametrize(
    "frames, label",
    [(0, "1"), (1, "1"), (2, "2"), (3, "3-4"), (4, "3-4"), (5, "5-8"), (8, "5-8"), (20, "5-8")],
)
def test_track_tail_picks_the_bucket(frames, label):
    for embedder, conditions in TRACK_TAILS.items():
        for condition, buckets in conditions.items():
            assert track_tail(embedder, condition, frames) is buckets[label]


def test_one_colour_frame_is_the_single_face_table():
    for embedder in TRACK_TAILS:
        assert tuple(track_tail(embedder, "colour", 1)) == tuple(impostor_tail(embedder))


def test_unknown_embedder_or_condition_is_a_key_error():
    with pytest.raises(KeyError):
        track_tail("no-such-embedder", "colour", 3)
    with pytest.raises(KeyError):
        track_tail(next(iter(TRACK_TAILS)), "sepia", 3)
