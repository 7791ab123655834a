"""Impostor tails of TRACK scores: what a stranger's track reaches, by frames averaged.

A track is decided once from its mean embedding m = normalize(mean of its best frames'
embeddings): the classifier proposes a person and the score is m's similarity to that person's
nearest enrolled face. Averaging frames lifts strangers' scores too, so a track of k frames is
judged on the tail of stranger TRACKS of k frames, per image condition: `colour`, and `grey`
(infrared cameras at night; a crop is grey when its three channels nearly agree).

Each tail is ((q, similarity reached by a share q of (stranger track, enrolled person) pairs),
...), q falling, the format of the networks' `impostor_tail`, so
`calibration.threshold_from_tail(tail, people, false_accept_rate)` turns it into a threshold.
The colour 1-frame bucket is the single-face table itself (networks/), so a one-frame colour
track is judged exactly as a single face is.

QUICK TABLE, PROVISIONAL: measured by `nice -n 10 .venv/bin/python benchmarks/tracks.py --quick`
(seed 22): only 50 stranger tracks calibrate it (50 x 1,291 enrolled people = 64,550 pairs per
bucket, so no point below q = 1e-4; thresholds for 1,000+ people extrapolate). To be replaced by
the full run's table (500 calibration strangers). Another embedder has no table: track_tail
raises KeyError and the caller falls back to the single-face rule.
"""

from __future__ import annotations

# (label, fewest frames, most frames): a track of more than 8 frames takes the last bucket
BUCKETS = (("1", 1, 1), ("2", 2, 2), ("3-4", 3, 4), ("5-8", 5, 8))
CONDITIONS = ("colour", "grey")

TRACK_TAILS: dict[str, dict[str, dict[str, tuple[tuple[float, float], ...]]]] = {
    "sface+dlib": {
        "colour": {
            "1": (
                (0.1, 0.5492),
                (0.01, 0.6026),
                (0.001, 0.6425),
                (0.0001, 0.6743),
                (1e-05, 0.7043),
            ),
            "2": ((0.1, 0.5548), (0.01, 0.6078), (0.001, 0.6478), (0.0001, 0.6789)),
            "3-4": ((0.1, 0.5582), (0.01, 0.6108), (0.001, 0.6489), (0.0001, 0.6845)),
            "5-8": ((0.1, 0.5613), (0.01, 0.6135), (0.001, 0.6519), (0.0001, 0.6865)),
        },
        "grey": {
            "1": ((0.1, 0.5428), (0.01, 0.5944), (0.001, 0.6331), (0.0001, 0.6681)),
            "2": ((0.1, 0.5513), (0.01, 0.6028), (0.001, 0.6413), (0.0001, 0.6779)),
            "3-4": ((0.1, 0.554), (0.01, 0.6053), (0.001, 0.6438), (0.0001, 0.6757)),
            "5-8": ((0.1, 0.5568), (0.01, 0.6081), (0.001, 0.6463), (0.0001, 0.6776)),
        },
    },
}


def track_tail(embedder: str, condition: str, frames: int) -> tuple[tuple[float, float], ...]:
    """The tail for a track of `frames` frames (KeyError: no table for that embedder or
    condition)."""
    buckets = TRACK_TAILS[embedder][condition]
    label = next((label for label, _, high in BUCKETS if frames <= high), BUCKETS[-1][0])
    return buckets[label]
