"""One decision per track: every crop of one person passing a camera, judged together.

A track's evidence is its best crops' embeddings (`TRACK_EVIDENCE`, by `crop_quality`), and
their mean weighted by that quality, renormalised, is the track's face (`weighted_mean`). The
classifier proposes the person for it. A track of one crop is then judged exactly as a single
face (its nearest enrolled face, the single-face threshold). From two crops on, the score is the mean's similarity to the person's
*mean* enrolled face: template against template. Measured on LFW walk-by tracks
(benchmarks/tracks.py) that separates known people from strangers better than the nearest face,
whose maximum over a person's photos lifts look-alike strangers (at 1,000 people, grey, 8 frames:
100% of known tracks named at 99.5% of strangers unknown, against 98.6%). Averaging frames lifts
a stranger's score too, so the score is compared with a threshold calibrated on stranger
*tracks* of as many frames (recognition/track_calibration.py) for a false-accept rate per track
(`TRACK_FALSE_ACCEPT_RATE`), in colour or grey (infrared) as the crops are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .calibration import decision_threshold, threshold_from_tail
from .classifier import UNKNOWN, FaceClassifier
from .gallery import decode_one
from .track_calibration import track_tail

TRACK_EVIDENCE = 8  # best crops a track's decision averages (benchmarks/tracks.py: up to 8 frames)
GREY_SPREAD = 4.0  # mean |R-G| + |G-B| in grey levels below which a crop is infrared grey
FULL_QUALITY_SIDE = 112.0  # px: a face this large (the embedders' chip) scores full size
# False accepts per stranger track (2 crops or more) at the gallery's size, nominal: the tables
# assume people independent, which strangers who resemble several people are not, so the rate
# measured on held-out stranger tracks runs above the nominal one. benchmarks/tracks.py chose it
# for >= 99.5% of stranger tracks unknown with >= 99% of known tracks named right, colour and
# grey, pooled over two seeds. FACEREC_TRACK_FALSE_ACCEPT_RATE replaces it.
TRACK_FALSE_ACCEPT_RATE = 0.0025
# A crop's weight in its track's mean is its quality to this power (benchmarks/tracks.py
# --quality-weight compares 0, 1 and 2 on LFW walk-by tracks).
QUALITY_WEIGHT = 1.0


def weighted_mean(embeddings: np.ndarray, qualities=None) -> np.ndarray:
    """A track's face: the unit mean of its evidence, each crop weighted by its quality to the
    power `QUALITY_WEIGHT` (equal weights without qualities), so a large, sharp face counts for
    more than a small one seen in passing."""
    evidence = np.asarray(embeddings, np.float32)
    if qualities is None:
        weights = np.ones(len(evidence), np.float32)
    else:
        weights = np.clip(np.asarray(qualities, np.float32), 1e-3, None) ** QUALITY_WEIGHT
    mean = weights @ evidence
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


@dataclass(frozen=True)
class TrackDecision:
    label: str  # a person id, or "unknown"
    score: float  # the track's mean face against the person (1 crop: nearest face; more: mean)
    threshold: float | None  # what naming needed for this many frames (None: no model)
    faces: int  # crops the decision averaged


def is_grey(rgb: np.ndarray) -> bool:
    """True for a crop whose colour channels (nearly) agree everywhere: an infrared camera."""
    pixels = np.asarray(rgb).reshape(-1, 3)[::7].astype(np.int16)  # a sample is plenty
    spread = np.abs(pixels[:, 0] - pixels[:, 1]) + np.abs(pixels[:, 1] - pixels[:, 2])
    return float(spread.mean()) < GREY_SPREAD


def crop_quality(box, probability: float) -> float:
    """0..1: how much a face can be trusted as evidence, from its size (a face smaller than the
    embedders' chip carries less detail) and the detector's confidence."""
    side = min(box[2] - box[0], box[3] - box[1])
    return float(np.clip(side / FULL_QUALITY_SIDE, 0.0, 1.0) * probability)


def track_threshold(
    embedder: str, people: int, frames: int, grey: bool, false_accept_rate: float
) -> float:
    """The similarity a mean of `frames` faces needs against a gallery of `people` (1: a search
    by face) for `false_accept_rate`, from the stranger-track tables."""
    try:
        tail = track_tail(embedder, "grey" if grey else "colour", frames)
    except KeyError:
        tail = None
    if tail is None:  # no table for this embedder: the single-face rule, as strict as before
        return decision_threshold(embedder, people, false_accept_rate)
    return threshold_from_tail(tail, people, false_accept_rate)


class TrackJudge:
    """Decides tracks with one serving model: `decide(embeddings, grey)`. One crop is a single
    face (at `false_accept_rate`); more are judged at `track_false_accept_rate` per track."""

    def __init__(
        self,
        classifier: FaceClassifier,
        false_accept_rate: float,
        fixed_threshold: float | None = None,
        track_false_accept_rate: float | None = None,
    ):
        self.classifier = classifier
        self.false_accept_rate = false_accept_rate
        self.fixed_threshold = fixed_threshold
        self.track_false_accept_rate = (
            TRACK_FALSE_ACCEPT_RATE if track_false_accept_rate is None else track_false_accept_rate
        )

    def threshold(self, frames: int, grey: bool) -> float:
        """The similarity a track of `frames` crops needs to be named (FACEREC_MATCH_THRESHOLD
        when set: an operator's fixed threshold applies to tracks too)."""
        classifier = self.classifier
        if self.fixed_threshold is not None:
            return self.fixed_threshold
        if frames <= 1 and not grey:
            return classifier.threshold
        rate = self.false_accept_rate if frames <= 1 else self.track_false_accept_rate
        return track_threshold(classifier.embedder, len(classifier.labels), frames, grey, rate)

    def decide(
        self,
        embeddings: np.ndarray,
        grey: bool,
        forgotten: frozenset[str] = frozenset(),
        qualities=None,
    ) -> TrackDecision:
        """The decision over a track's evidence ([n, d] unit vectors, best first, with their
        `crop_quality`s when known)."""
        evidence = np.asarray(embeddings, np.float32)[:TRACK_EVIDENCE]
        if not len(evidence):
            raise ValueError("a track's decision needs at least one face")
        mean = weighted_mean(evidence, None if qualities is None else qualities[:TRACK_EVIDENCE])
        frames = len(evidence)
        threshold = self.threshold(frames, grey)
        prediction = self.classifier.predict(mean[None], forgotten, threshold=threshold)[0]
        if frames == 1 or not prediction.candidates:
            return TrackDecision(prediction.label, prediction.score, threshold, frames)
        person = prediction.candidates[0][0]
        score = self.classifier.mean_similarity(mean, person)
        return TrackDecision(person if score >= threshold else UNKNOWN, score, threshold, frames)

    def deciding(self, own) -> Callable[..., TrackDecision]:
        """`decide`, answering a track whose only evidence is `own` (the crop being stored, a
        `Sighting` named by this judge's classifier) with the crop's own decision where it is
        the same rule (one colour face at the single-face threshold): recognising the crop ran
        it already, so a new track costs no second search of the gallery, and a crop and its
        one-crop track never differ by the rounding of its int8 codes."""
        same_rule = own.threshold is not None and own.threshold == self.threshold(1, False)
        faces = (np.asarray(own.embedding, np.float32), decode_one(own.codes))

        def alone(embeddings) -> bool:
            return len(embeddings) == 1 and any(np.array_equal(embeddings[0], f) for f in faces)

        def decide(embeddings, grey, forgotten=frozenset(), qualities=None) -> TrackDecision:
            if same_rule and not grey and not forgotten and alone(embeddings):
                return TrackDecision(own.label, float(own.score), own.threshold, 1)
            return self.decide(embeddings, grey, forgotten, qualities)

        return decide


def decide_enrolled(
    decide: Callable[..., TrackDecision],
    embeddings: np.ndarray,
    grey: bool,
    enrolled: Callable[[str], bool],
    qualities=None,
) -> TrackDecision:
    """`decide(embeddings, grey, forgotten, qualities)`, never naming someone deleted since the
    model was trained: whoever `enrolled(label)` denies is left out and the track decided
    again. No evidence (every crop below the quality floor) names nobody."""
    if not len(embeddings):
        return undecided(0)
    forgotten: set[str] = set()
    while True:
        decision = decide(embeddings, grey, frozenset(forgotten), qualities)
        if decision.label == UNKNOWN or enrolled(decision.label):
            return decision
        forgotten.add(decision.label)


def undecided(faces: int) -> TrackDecision:
    """A track seen before any model was trained (or by another embedding space's model)."""
    return TrackDecision(UNKNOWN, 0.0, None, faces)
