"""Every setting of the edge node, read from FACEREC_EDGE_* environment variables in this one place.

Command-line flags override these values (see `EdgeConfig.with_overrides`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

MODEL_FILES = {
    "RFB-320": "version-RFB-320.onnx",
    "RFB-640": "version-RFB-640.onnx",
    "slim-320": "version-slim-320.onnx",
}


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_optional(name: str) -> str | None:
    return os.environ.get(name) or None


@dataclass(frozen=True)
class EdgeConfig:
    """A snapshot of the edge's environment; build one with `EdgeConfig.from_env()`."""

    api_url: str = "http://127.0.0.1:8000"
    api_key: str | None = None
    # Where the UltraFace files live: the model bundle made by `facerec-models build`.
    bundle_dir: Path = Path("models")
    model_name: str = "RFB-320"
    # An explicit .onnx path wins over bundle_dir/model_name.
    model_path: Path | None = None
    # One core by default: the edge box also decodes video.
    threads: int = 1
    score_threshold: float = 0.7
    iou_threshold: float = 0.3
    # Context added around the detector's box, as a fraction of its width and height.
    margin: float = 0.25
    jpeg_quality: int = 90
    # facerec-edge shrinks crops whose face is wider than this (0: never). The cloud aligns faces
    # to 112-160 px, so more pixels only cost bandwidth.
    max_face: int = 160
    # 0: send each track's best shots (below). N >= 1: the older policy, every N-th frame of a
    # track (1: every face, every frame).
    resend_every: int = 0
    # A track ends after this many frames without its face (ByteTrack's buffer: 1 s at 30 fps).
    track_gap: int = 30
    # Detections down to this score may continue a track seen on the previous frame (never
    # start one): a face that blurs or turns for a frame keeps its track.
    track_low_score: float = 0.5
    # A new track is confirmed (and may send) once its face was seen on this many frames in a
    # row: a detection on one frame only (a hand, a poster) is never uploaded. A set of photos
    # (`--source 'dir/*.jpg'`) always uses 1.
    track_min_hits: int = 2
    # Hue-saturation similarity below which a box is not the track's face (0: IoU only).
    track_similarity: float = 0.85
    # A crop is sent when it beats the k-th best the track has sent by best_margin; the first
    # one as soon as its quality exceeds min_quality (docs/edge.md has the measurements).
    best_k: int = 1
    best_margin: float = 0.25
    min_quality: float = 0.02
    source: str = "0"
    camera_id: str = "camera-0"
    location_id: str = "location-0"
    # Crops waiting for the cloud; the oldest are dropped beyond this.
    queue_size: int = 64
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.5

    @classmethod
    def from_env(cls) -> EdgeConfig:
        return cls(
            api_url=_env("FACEREC_EDGE_API_URL", cls.api_url),
            api_key=_env_optional("FACEREC_EDGE_API_KEY"),
            bundle_dir=Path(_env("FACEREC_MODEL_BUNDLE", str(cls.bundle_dir))),
            model_name=_env("FACEREC_EDGE_MODEL_NAME", cls.model_name),
            model_path=Path(p) if (p := _env_optional("FACEREC_EDGE_MODEL")) else None,
            threads=int(_env("FACEREC_EDGE_THREADS", str(cls.threads))),
            score_threshold=float(_env("FACEREC_EDGE_SCORE_THRESHOLD", str(cls.score_threshold))),
            iou_threshold=float(_env("FACEREC_EDGE_IOU_THRESHOLD", str(cls.iou_threshold))),
            margin=float(_env("FACEREC_EDGE_MARGIN", str(cls.margin))),
            jpeg_quality=int(_env("FACEREC_EDGE_JPEG_QUALITY", str(cls.jpeg_quality))),
            max_face=int(_env("FACEREC_EDGE_MAX_FACE", str(cls.max_face))),
            resend_every=int(_env("FACEREC_EDGE_RESEND_EVERY", str(cls.resend_every))),
            track_gap=int(_env("FACEREC_EDGE_TRACK_GAP", str(cls.track_gap))),
            track_low_score=float(_env("FACEREC_EDGE_TRACK_LOW_SCORE", str(cls.track_low_score))),
            track_min_hits=int(_env("FACEREC_EDGE_TRACK_MIN_HITS", str(cls.track_min_hits))),
            track_similarity=float(
                _env("FACEREC_EDGE_TRACK_SIMILARITY", str(cls.track_similarity))
            ),
            best_k=int(_env("FACEREC_EDGE_BEST_K", str(cls.best_k))),
            best_margin=float(_env("FACEREC_EDGE_BEST_MARGIN", str(cls.best_margin))),
            min_quality=float(_env("FACEREC_EDGE_MIN_QUALITY", str(cls.min_quality))),
            source=_env("FACEREC_EDGE_SOURCE", cls.source),
            camera_id=_env("FACEREC_EDGE_CAMERA_ID", cls.camera_id),
            location_id=_env("FACEREC_EDGE_LOCATION_ID", cls.location_id),
            queue_size=int(_env("FACEREC_EDGE_QUEUE_SIZE", str(cls.queue_size))),
            timeout=float(_env("FACEREC_EDGE_TIMEOUT", str(cls.timeout))),
            retries=int(_env("FACEREC_EDGE_RETRIES", str(cls.retries))),
            backoff=float(_env("FACEREC_EDGE_BACKOFF", str(cls.backoff))),
        )

    def with_overrides(self, **values) -> EdgeConfig:
        """Apply command-line flags; a flag left at None keeps the environment's value."""
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in values.items() if k in known and v is not None})

    @property
    def detector_path(self) -> Path:
        if self.model_path is not None:
            return self.model_path
        if self.model_name not in MODEL_FILES:
            raise ValueError(
                f"unknown UltraFace model {self.model_name!r}; choose one of {', '.join(MODEL_FILES)}"
            )
        return self.bundle_dir / "ultraface" / MODEL_FILES[self.model_name]
