"""UltraFace ("Ultra-Light-Fast-Generic-Face-Detector-1MB") on ONNX Runtime, post-processed as upstream."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

# Upstream keeps the 200 best candidates before hard NMS.
_CANDIDATES = 200


@dataclass(frozen=True)
class Detection:
    """A face in frame pixels: (left, top, right, bottom) and the detector's score."""

    box: tuple[int, int, int, int]
    score: float

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def hard_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy NMS, best score first (upstream's `hard_nms`)."""
    order = np.argsort(-scores)[:_CANDIDATES]
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(
        boxes[:, 3] - boxes[:, 1], 0, None
    )
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        left_top = np.maximum(boxes[best, :2], boxes[rest, :2])
        right_bottom = np.minimum(boxes[best, 2:], boxes[rest, 2:])
        overlap = np.prod(np.clip(right_bottom - left_top, 0, None), axis=1)
        iou = overlap / (areas[best] + areas[rest] - overlap + 1e-5)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def _session(model_path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # The upstream files list their weights as graph inputs: one warning per weight otherwise.
    options.log_severity_level = 3
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


class UltraFaceDetector:
    """Finds faces in BGR frames (as OpenCV reads them) with any of the three UltraFace models."""

    def __init__(
        self,
        model_path: str | Path,
        threads: int = 1,
        score_threshold: float = 0.7,
        iou_threshold: float = 0.3,
    ):
        model_path = Path(model_path)
        if not model_path.is_file():
            raise FileNotFoundError(
                f"UltraFace model not found: {model_path} (build the bundle with `facerec-models build` or pass --model)"
            )
        self.session = _session(model_path, threads)
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        _, _, height, width = model_input.shape
        self.input_size = (int(width), int(height))
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold

    @classmethod
    def from_config(cls, config) -> UltraFaceDetector:
        return cls(
            config.detector_path, config.threads, config.score_threshold, config.iou_threshold
        )

    def _blob(self, bgr: np.ndarray) -> np.ndarray:
        resized = cv2.resize(bgr, self.input_size, interpolation=cv2.INTER_LINEAR)
        rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
        return ((rgb.astype(np.float32) - 127.0) / 128.0).transpose(2, 0, 1)[None]

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        """Faces in the frame, best score first, boxes clipped to the frame."""
        if bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
            raise ValueError("expected a BGR frame of shape (height, width, 3)")
        scores, boxes = self.session.run(["scores", "boxes"], {self.input_name: self._blob(bgr)})
        face_scores = scores[0, :, 1]
        mask = face_scores > self.score_threshold
        if not mask.any():
            return []
        candidates, candidate_scores = boxes[0][mask], face_scores[mask]
        keep = hard_nms(candidates, candidate_scores, self.iou_threshold)
        height, width = bgr.shape[:2]
        pixels = candidates[keep] * np.array([width, height, width, height], dtype=np.float32)
        pixels = np.clip(np.rint(pixels), 0, [width, height, width, height]).astype(int)
        return [
            Detection(box=tuple(int(v) for v in box), score=float(score))
            for box, score in zip(pixels, candidate_scores[keep], strict=True)
            if box[2] > box[0] and box[3] > box[1]
        ]
