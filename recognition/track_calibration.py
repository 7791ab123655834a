"""Impostor tails of TRACK scores: what a stranger's track reaches, by frames averaged.

A track is decided from its mean embedding m = normalize(mean of its best frames' embeddings,
each weighted by its quality: recognition/tracks.py `weighted_mean`):
the classifier proposes a person, and m is scored against that person's *mean* enrolled face
(recognition/tracks.py TrackJudge); a track of one frame is a single face, scored against the
person's nearest face. Averaging frames lifts strangers' scores too, so a track of k frames is
judged on the tail of stranger TRACKS of k frames, per image condition: `colour`, and `grey`
(infrared cameras at night; a crop is grey when its three channels nearly agree).

Each tail is ((q, similarity reached by a share q of (stranger track, enrolled person) pairs),
...), q falling, the format of the networks' `impostor_tail`, so
`calibration.threshold_from_tail(tail, people, false_accept_rate)` turns it into a threshold.
The 1-frame buckets are nearest-face tails (colour: the single-face table itself, so a one-frame
colour track is judged exactly as a single face is); the others are mean-face tails.

Measured by `nice -n 10 .venv/bin/python benchmarks/tracks.py` (the full run, seed 22, quality
weight 1): 500 stranger tracks (the even half of the 1,000 shuffled strangers; the other half is
reported on) x 1,291 enrolled people (up to 3 clean photos each) = 645,500 (track, person)
pairs per bucket, each bucket measured at its most frames (2, 4, 8 frames of one stranger's
photo, each frame degraded as a camera would). q = 1e-5 rests on ~6 pairs, so the deepest point
is noisy. Another embedder has no table: track_tail raises KeyError and the caller falls back to
the single-face rule. docs/recognition.md ("Tracks") has the numbers.
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
                (0.1, 0.5665),
                (0.01, 0.6219),
                (0.001, 0.6637),
                (0.0001, 0.6971),
                (1e-05, 0.7191),
            ),
            "3-4": (
                (0.1, 0.5708),
                (0.01, 0.6263),
                (0.001, 0.6681),
                (0.0001, 0.7018),
                (1e-05, 0.7286),
            ),
            "5-8": (
                (0.1, 0.5725),
                (0.01, 0.6278),
                (0.001, 0.67),
                (0.0001, 0.7027),
                (1e-05, 0.7315),
            ),
        },
        "grey": {
            "1": (
                (0.1, 0.5432),
                (0.01, 0.5961),
                (0.001, 0.6348),
                (0.0001, 0.6688),
                (1e-05, 0.7004),
            ),
            "2": (
                (0.1, 0.5621),
                (0.01, 0.6165),
                (0.001, 0.657),
                (0.0001, 0.6899),
                (1e-05, 0.7165),
            ),
            "3-4": (
                (0.1, 0.5664),
                (0.01, 0.6207),
                (0.001, 0.6617),
                (0.0001, 0.6924),
                (1e-05, 0.7218),
            ),
            "5-8": (
                (0.1, 0.5681),
                (0.01, 0.6222),
                (0.001, 0.663),
                (0.0001, 0.6949),
                (1e-05, 0.7223),
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
