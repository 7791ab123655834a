"""Tracks across segment borders: each Spark task tracks only its own segment, so a person on
screen across a border is one track per segment until a per-file pass joins them.

Two tracks of neighbouring segments are one person when the earlier was seen at its segment's
last sampled instant and the later at the next segment's first (adjacent instants of the video's
one sampling grid), their boxes there are where the tracker itself would continue a face (IoU >=
`FaceTracker.match_iou`, or centres within `FaceTracker.rematch_distance` face heights, its rule
for taking back a face it lost), and their means are as similar as the service asks of two
unknown tracks of one camera within a minute (`FACEREC_UNKNOWN_NEARBY_JOIN_RATE`, 1e-4 of pairs
of different people: 0.674 for sface+dlib). Matches are one-to-one, the most similar first.

Measured on the Hamilton clip cut into 1 s and 4 s segments at 1 and 2 fps, against the uncut
clip's tracks: the 26 border pairs of one person have similarity 0.69-0.96 and centres 0.01-0.7
face heights apart (IoU down to 0.06 at 1 fps: IoU alone missed them); of the pairs of two
people, those near enough have similarity <= 0.58 (Lin-Manuel Miranda on stage at 7 s and an
audience face at 8 s overlap with IoU 0.38: the faces, not the boxes, keep them apart).

Only what the comparison needs travels: each segment's tracks at its first and last instants
(a box and a mean each), grouped by file; the pass returns which ids continue which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from batch.frames import sample_times
from batch.process import ItemResult
from batch.tracks import track_row
from edge.tracker import FaceTracker, iou
from recognition.calibration import threshold_for
from recognition.tracks import TrackJudge

BorderTrack = tuple[str, tuple[float, float, float, float], np.ndarray]  # track id, box, mean


@dataclass(frozen=True)
class Border:
    """A video segment's tracks at its edges: those seen at its first sampled instant that began
    there, and those seen at its last that were still there."""

    path: str
    start: float
    end: float
    space: str
    first: list[BorderTrack]
    last: list[BorderTrack]


@dataclass(frozen=True)
class Joins:
    """Which segment tracks continue an earlier one: {later id: the earliest id of its chain}."""

    earliest: dict[str, str]
    stitched: frozenset[str]  # every id of a chain: the tracks decided again

    @classmethod
    def of(cls, pairs) -> Joins:
        earliest = dict(pairs)
        return cls(earliest, frozenset(earliest) | frozenset(earliest.values()))

    def crop(self, row: dict) -> dict:
        """The crop row with its track's stitched id."""
        track_id = self.earliest.get(row["track_id"])
        return row if track_id is None else {**row, "track_id": track_id}


def border_of(result: ItemResult, fps: float) -> Border | None:
    """What the per-file pass needs of a video segment's result (None: nothing to join)."""
    item = result.item
    instants = sample_times(item.start, item.end, fps) if item.kind == "video" else []
    if result.error or not result.tracks or not instants:
        return None
    boxes = {
        (row["track_id"], row["timestamp"]): tuple(
            row[side] for side in ("box_left", "box_top", "box_right", "box_bottom")
        )
        for row in result.rows
    }

    def edge(track: dict, at: float) -> BorderTrack:
        mean = np.asarray(track["embedding"], np.float32)
        return track["track_id"], boxes[track["track_id"], at], mean

    first, last = instants[0], instants[-1]
    return Border(
        item.path,
        item.start,
        item.end,
        result.tracks[0]["embedding_space"],
        [edge(t, first) for t in result.tracks if t["first_timestamp"] == first],
        [edge(t, last) for t in result.tracks if t["last_timestamp"] == last],
    )


def _near(before: tuple, after: tuple) -> bool:
    """Whether the tracker would continue a face from box `before` to box `after`."""
    if iou(before, after) >= FaceTracker.match_iou:
        return True
    centres = np.array([before, after], float).reshape(2, 2, 2).mean(axis=1)
    height = max(before[3] - before[1], 1.0)
    return float(np.linalg.norm(centres[0] - centres[1])) <= FaceTracker.rematch_distance * height


def _matches(
    before: list[BorderTrack], after: list[BorderTrack], threshold: float
) -> list[tuple[str, str]]:
    """(later id, earlier id) pairs, one-to-one, the most similar first."""
    candidates = sorted(
        (
            (-float(np.dot(mean_a, mean_b)), a, b)
            for a, (_, box_a, mean_a) in enumerate(before)
            for b, (_, box_b, mean_b) in enumerate(after)
            if _near(box_a, box_b) and float(np.dot(mean_a, mean_b)) >= threshold
        ),
        key=lambda candidate: candidate[0],
    )
    taken_a, taken_b, pairs = set(), set(), []
    for _, a, b in candidates:
        if a not in taken_a and b not in taken_b:
            taken_a.add(a)
            taken_b.add(b)
            pairs.append((after[b][0], before[a][0]))
    return pairs


def file_joins(borders: list[Border], join_rate: float) -> list[tuple[str, str]]:
    """One file's (later id, earliest id) pairs: chains over several borders lead to the id of
    the segment where the person appeared."""
    borders = sorted(borders, key=lambda border: border.start)
    earliest: dict[str, str] = {}
    for before, after in zip(borders, borders[1:], strict=False):
        if before.end != after.start:  # a segment without tracks between them
            continue
        threshold = threshold_for(before.space.partition("@")[0], 1, join_rate)
        for later, earlier in _matches(before.last, after.first, threshold):
            earliest[later] = earliest.get(earlier, earlier)
    return list(earliest.items())


def stitched_track(crops: list[dict], judge: TrackJudge) -> dict:
    """A stitched track's row (its crops carry its stitched id), decided again over all its
    crops as any track is (`track_row`)."""
    return track_row(sorted(crops, key=lambda row: row["timestamp"]), judge)
