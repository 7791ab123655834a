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

Measured by `nice -n 10 .venv/bin/python benchmarks/tracks.py` (the full run, seed 22): 500
stranger tracks (the even half of the 1,000 shuffled strangers; the other half is reported on)
x 1,291 enrolled people (up to 3 clean photos each) = 645,500 (track, person) pairs per bucket,
each bucket measured at its most frames (2, 4, 8 frames of one stranger's photo, each frame
degraded as a camera would). q = 1e-5 rests on ~6 pairs, so the deepest point is noisy (colour
5-8 sits below 3-4 there). Another embedder has no table: track_tail raises KeyError and the
caller falls back to the single-face rule. docs/recognition.md ("Tracks") has the numbers.
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
            "2": (
                (0.1, 0.5557),
                (0.01, 0.6092),
                (0.001, 0.6487),
                (0.0001, 0.6789),
                (1e-05, 0.7092),
            ),
            "3-4": (
                (0.1, 0.5602),
                (0.01, 0.6136),
                (0.001, 0.6533),
                (0.0001, 0.6823),
                (1e-05, 0.719),
            ),
            "5-8": (
                (0.1, 0.562),
                (0.01, 0.6152),
                (0.001, 0.6547),
                (0.0001, 0.6849),
                (1e-05, 0.7149),
            ),
        },
        "grey": {
            "1": ((0.1, 0.5432), (0.01, 0.596), (0.001, 0.6348), (0.0001, 0.6688), (1e-05, 0.7004)),
            "2": ((0.1, 0.5516), (0.01, 0.604), (0.001, 0.6426), (0.0001, 0.6753), (1e-05, 0.7083)),
            "3-4": (
                (0.1, 0.5561),
                (0.01, 0.6084),
                (0.001, 0.647),
                (0.0001, 0.6783),
                (1e-05, 0.7115),
            ),
            "5-8": (
                (0.1, 0.5579),
                (0.01, 0.61),
                (0.001, 0.6491),
                (0.0001, 0.6786),
                (1e-05, 0.7119),
            ),
        },
    },
}


def track_tail(embedder: str, condition: str, frames: int) -> tuple[tuple[float, float], ...]:
    """The tail for a track of `frames` frames (KeyError: no table for that embedder or
    condition)."""
    buckets = TRACK_TAILS[embedder][condition]
    label = next((label for label, _, high in BUCKETS if frames <= high), BUCKETS[-1][0])
    return buckets[label]
