"""Tracks in recorded video: the edge's tracker over a segment's sampled frames, and one decision
per track by the service's TrackJudge over its best crops (issue #22: tracks, not frames).

The tracker is `edge.tracker.FaceTracker` itself (ByteTrack association, motion model, colour
gate), fed UltraFace's detections of each sampled frame. Sampled frames are `1 / fps` apart, not
one video frame, so its settings are in sampled frames: a track ends after `TRACK_GAP_SECONDS`
without its face (the edge's 30 frames at 30 fps), and a face seen on one sampled frame is
already a track (min_hits 1, as the edge does for photos): every recognised crop belongs to one.

Each Spark task tracks its own time range; a person on screen across a segment border is then
joined into one track by a per-file pass (batch/stitch.py), which decides the joined track again
with `track_row`. Ids are "<8 hex of the file's path>-<segment start in ms>-<n>" (a joined
track keeps its first segment's): unique in an archive of many files.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict

import numpy as np

from batch.inputs import WorkItem
from edge.config import EdgeConfig
from edge.tracker import FaceTracker
from recognition.tracks import TRACK_EVIDENCE, TrackJudge, weighted_mean

TRACK_GAP_SECONDS = 1.0  # the edge's default: EdgeConfig.track_gap, 30 frames at 30 fps


def segment_tracker(item: WorkItem, fps: float) -> FaceTracker:
    """A tracker for one item, its ids prefixed by the file and the segment's start."""
    digest = hashlib.sha256(item.path.encode()).hexdigest()[:8]
    return FaceTracker(
        high_score=EdgeConfig.score_threshold,  # UltraFace's, here as at the edge
        max_gap=max(1, math.ceil(TRACK_GAP_SECONDS * fps)),
        min_hits=1,
        min_similarity=EdgeConfig.track_similarity,
        prefix=f"{digest}-{round(item.start * 1000)}",
    )


def track_row(crops: list[dict], judge: TrackJudge) -> dict:
    """One track's row from its crops' rows (each with "quality" and "grey"): the decision over
    its TRACK_EVIDENCE best crops by quality, exactly as the service decides a track, and their
    quality-weighted mean embedding, renormalised (`weighted_mean`: what search ranks it by)."""
    best = sorted(crops, key=lambda row: (-row["quality"], row["timestamp"]))
    evidence = best[:TRACK_EVIDENCE]
    embeddings = np.array([row["embedding"] for row in evidence], np.float32)
    grey = 2 * sum(row["grey"] for row in evidence) > len(evidence)
    qualities = [row["quality"] for row in evidence]
    decision = judge.decide(embeddings, grey, qualities=qualities)
    first, top = crops[0], best[0]
    return {
        **{key: first[key] for key in ("source", "kind", "camera_id", "location_id")},
        "track_id": first["track_id"],
        "first_timestamp": min(row["timestamp"] for row in crops),
        "last_timestamp": max(row["timestamp"] for row in crops),
        "first_seen_at": min(row["recognized_at"] for row in crops),
        "last_seen_at": max(row["recognized_at"] for row in crops),
        "crops": len(crops),
        "label": decision.label,
        "score": float(decision.score),
        "threshold": decision.threshold,
        "faces": decision.faces,
        "grey": bool(grey),
        **{key: first[key] for key in ("model_version", "bundle_version", "embedding_space")},
        "best_timestamp": top["timestamp"],
        "best_frame": top["frame"],
        **{
            f"best_{side}": top[side] for side in ("box_left", "box_top", "box_right", "box_bottom")
        },
        "best_quality": top["quality"],
        "best_thumbnail": top["thumbnail"],  # the face the console shows for the stored track
        "embedding": [float(v) for v in weighted_mean(embeddings, qualities)],
    }


def track_rows(rows: list[dict], judge: TrackJudge) -> list[dict]:
    """One row per track of `rows` (crop rows with a "track_id"), in order of first sighting."""
    crops: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        crops[row["track_id"]].append(row)
    return [track_row(group, judge) for group in crops.values()]
