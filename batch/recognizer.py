"""Frame -> recognised faces, as the deployed system does it: UltraFace finds the faces in the
frame (the edge's job; the edge's tracker follows them, batch/tracks.py), then the service's own
recognition step runs on each crop, and the service's TrackJudge decides each track."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from edge.crops import crop_face
from edge.detector import Detection, UltraFaceDetector
from recognition import FaceAnalyzer, FaceClassifier, sighting
from recognition.sighting import Sighting
from recognition.tracks import TrackJudge, is_grey
from storage.model_store import ModelStore

ULTRAFACE_FILE = Path("ultraface") / "version-RFB-320.onnx"


@dataclass(frozen=True)
class RecognizerSpec:
    """Everything an executor needs to build the same recognizer as every other executor.

    The driver pins `model_version` once, so a classifier published while the job runs does
    not make half the video use the old model and half the new one.
    """

    bundle_dir: str
    model_dir: str
    model_version: str
    threads: int = 1
    face_margin: float = 32.0
    min_face_size: int = 40
    crop_margin: float = 0.25
    false_accept_rate: float = 0.01  # what a track's decision allows (FACEREC_FALSE_ACCEPT_RATE)
    match_threshold: float | None = None  # FACEREC_MATCH_THRESHOLD: fixed, for tracks too
    track_false_accept_rate: float | None = None  # FACEREC_TRACK_FALSE_ACCEPT_RATE


def _nearest_to_centre(faces, width: int, height: int):
    """The crop was centred on one face: other faces in its margin are someone else's crop."""
    centre = np.array([width / 2, height / 2])

    def offset(face):
        left, top, right, bottom = face.box
        return float(np.hypot(*(np.array([(left + right) / 2, (top + bottom) / 2]) - centre)))

    return min(faces, key=offset)


def _clipped(box, frame_shape) -> tuple[float, float, float, float]:
    """MTCNN's regressed box may reach past a face cut by the frame's border: keep what is seen."""
    height, width = frame_shape[:2]
    left, top, right, bottom = box
    return (max(0.0, left), max(0.0, top), min(float(width), right), min(float(height), bottom))


@dataclass(eq=False)
class FrameRecognizer:
    """Finds and names the faces in BGR frames."""

    detector: UltraFaceDetector
    analyzer: FaceAnalyzer
    classifier: FaceClassifier
    model_version: str
    # Decides each track over its best crops, as the service does (recognition.tracks).
    judge: TrackJudge
    crop_margin: float = 0.25

    @classmethod
    def from_spec(cls, spec: RecognizerSpec) -> FrameRecognizer:
        bundle_dir = Path(spec.bundle_dir)
        classifier, _ = ModelStore(Path(spec.model_dir)).load(spec.model_version)
        return cls(
            UltraFaceDetector(bundle_dir / ULTRAFACE_FILE, threads=spec.threads),
            FaceAnalyzer.from_bundle(
                bundle_dir,
                threads=spec.threads,
                margin=spec.face_margin,
                min_face_size=spec.min_face_size,
                embedder=classifier.embedder,
            ),
            classifier,
            spec.model_version,
            TrackJudge(
                classifier,
                spec.false_accept_rate,
                spec.match_threshold,
                spec.track_false_accept_rate,
            ),
            spec.crop_margin,
        )

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        """The faces UltraFace finds in the frame (what the edge detects and tracks)."""
        return self.detector.detect(bgr)

    def name(self, bgr: np.ndarray, detection: Detection) -> tuple[Sighting, bool] | None:
        """The face MTCNN confirms in the detection's crop, named (or "unknown"), its box in
        frame pixels: the service's recognition step (recognition.sighting) on the crop, its
        thumbnail cut from the crop as the API cuts it from the edge's; and whether the crop is
        grey (infrared). None when MTCNN sees no face there (the API would answer "no face"
        too)."""
        pixels, (left, top, _, _) = crop_face(bgr, detection.box, self.crop_margin)
        rgb = np.ascontiguousarray(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))
        seen = sighting.recognize(self.analyzer, self.classifier, rgb).sightings
        if not seen:
            return None
        face = _nearest_to_centre(seen, rgb.shape[1], rgb.shape[0])
        x1, y1, x2, y2 = face.box
        box = _clipped((x1 + left, y1 + top, x2 + left, y2 + top), bgr.shape)
        return replace(face, box=tuple(round(float(v), 1) for v in box)), is_grey(rgb)


_cache: dict[RecognizerSpec, FrameRecognizer] = {}
_cache_lock = threading.Lock()


def recognizer_for(spec: RecognizerSpec) -> FrameRecognizer:
    """One recognizer per Python worker and spec: Spark reuses its workers between tasks, so the
    networks and the classifier are loaded once per executor process, not once per segment."""
    with _cache_lock:
        if spec not in _cache:
            _cache.clear()  # a new spec (new model version) replaces the old networks
            _cache[spec] = FrameRecognizer.from_spec(spec)
        return _cache[spec]
