"""`mtcnn`: MTCNN face detection on ONNX Runtime, the cascade in numpy.

Follows facenet-pytorch's `detect_face` step for step (same pyramid, thresholds, NMS flavours,
box regression and squaring) so that its boxes match the reference; only the networks run in
ONNX Runtime and the resampling goes through running sums of the image (recognition/resample.py).
The bundle's P-, R- and O-Net are exported from facenet-pytorch's own modules and weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..nms import nms
from ..resample import AreaResampler
from .embedder import Network, Upstream

PNET = "mtcnn/pnet.onnx"
RNET = "mtcnn/rnet.onnx"
ONET = "mtcnn/onet.onnx"
_WEIGHTS_SHA256 = {  # facenet_pytorch/data/<stage>.pt as facenet-pytorch 2.6.0 ships them
    "pnet": "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
    "rnet": "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
    "onet": "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
}
# P-, R- and O-Net, each exported from the torch module its `.pt` weights load into.
NETWORK = Network(
    name="mtcnn",
    files=(PNET, RNET, ONET),
    upstream=tuple(
        Upstream("facenet_pytorch", "facenet-pytorch", "2.6.0", f"data/{stage}.pt", sha256)
        for stage, sha256 in _WEIGHTS_SHA256.items()
    ),
)


@dataclass(frozen=True)
class Detections:
    """Boxes (x1, y1, x2, y2), probabilities and five landmarks per face, largest face first."""

    boxes: np.ndarray  # [N, 4] float32
    probabilities: np.ndarray  # [N] float32
    landmarks: np.ndarray  # [N, 5, 2] float32

    @classmethod
    def empty(cls) -> Detections:
        zeros = np.zeros
        return cls(zeros((0, 4), np.float32), zeros(0, np.float32), zeros((0, 5, 2), np.float32))


def _standardize(pixels: np.ndarray) -> np.ndarray:
    """NHWC pixels -> NCHW network input, (x - 127.5) / 128."""
    return ((pixels - 127.5) * 0.0078125).transpose(0, 3, 1, 2).astype(np.float32)


def _square(boxes: np.ndarray) -> np.ndarray:
    """Grow each box to a square around its centre (facenet-pytorch's `rerec`)."""
    boxes = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    boxes[:, 0] += w * 0.5 - side * 0.5
    boxes[:, 1] += h * 0.5 - side * 0.5
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def _regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Apply the network's box regression with pixel-inclusive sizes (`bbreg`)."""
    boxes = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    boxes[:, :4] += offsets * np.stack([w, h, w, h], axis=1)
    return boxes


def _windows(boxes: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer (top, left, bottom, right) windows clipped to the image (`pad`), and which are usable."""
    x1, y1, x2, y2 = (np.trunc(boxes[:, i]).astype(np.int64) for i in range(4))
    x1, y1 = np.maximum(x1, 1), np.maximum(y1, 1)
    x2, y2 = np.minimum(x2, width), np.minimum(y2, height)
    windows = np.stack([y1 - 1, x1 - 1, y2, x2], axis=1)
    return windows, (y2 > y1 - 1) & (x2 > x1 - 1)


class MTCNN:
    """Three-stage face detector; `detect(rgb)` returns `Detections`."""

    def __init__(
        self,
        pnet,
        rnet,
        onet,
        min_face_size: int = 20,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
    ):
        self.pnet, self.rnet, self.onet = pnet, rnet, onet
        self.min_face_size = min_face_size
        self.thresholds = thresholds
        self.factor = factor

    def smallest_face(self, height: int, width: int, min_face_fraction: float = 0.0) -> float:
        """The smallest face looked for, in px: `min_face_size`, or a share of the short side
        when that is larger (an edge crop holds one face filling most of it)."""
        return max(float(self.min_face_size), min_face_fraction * min(height, width))

    def scales(self, height: int, width: int, min_face_fraction: float = 0.0) -> list[float]:
        """The image pyramid: from a min-face-size window down to P-Net's 12 px, less the
        levels for faces under `smallest_face` (the kept levels are the full pyramid's own, so
        a crop's face is found on the same levels, with the same box, as in the whole image)."""
        scale = 12.0 / self.min_face_size
        largest = 12.0 / self.smallest_face(height, width, min_face_fraction)
        side = min(height, width) * scale
        scales = []
        while side >= 12:
            if scale <= largest * (1 + 1e-9):
                scales.append(scale)
            scale *= self.factor
            side *= self.factor
        return scales

    def detect(self, rgb: np.ndarray, min_face_fraction: float = 0.0) -> Detections:
        """`min_face_fraction` > 0 skips the pyramid levels for faces smaller than that share
        of the image's short side: on an edge crop, P-Net then runs on a few small levels."""
        pixels = AreaResampler(rgb)
        boxes = self._propose(pixels, min_face_fraction)
        if len(boxes):
            boxes = self._refine(pixels, boxes)
        if not len(boxes):
            return Detections.empty()
        return self._output(pixels, boxes)

    def _propose(self, pixels: AreaResampler, min_face_fraction: float) -> np.ndarray:
        """Stage 1: P-Net over the pyramid -> candidate squares [N, 5] (box + score)."""
        candidates = []
        height, width = pixels.height, pixels.width
        for scale in self.scales(height, width, min_face_fraction):
            level = pixels.resize(int(height * scale + 1), int(width * scale + 1))
            regression, probability = self.pnet.run(None, {"input": _standardize(level[None])})
            found = self._grid_boxes(regression[0], probability[0, 1], scale)
            candidates.append(found[nms(found[:, :4], found[:, 4], 0.5)])
        boxes = np.concatenate(candidates) if candidates else np.zeros((0, 9), np.float32)
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        moved = boxes[:, :4] + boxes[:, 5:9] * np.stack([w, h, w, h], axis=1)
        return _square(np.concatenate([moved, boxes[:, 4:5]], axis=1))

    def _grid_boxes(
        self, regression: np.ndarray, probability: np.ndarray, scale: float
    ) -> np.ndarray:
        """P-Net's output map -> boxes in image pixels [N, 9]: x1 y1 x2 y2 score dx1 dy1 dx2 dy2."""
        ys, xs = np.nonzero(probability >= self.thresholds[0])
        cells = np.stack([xs, ys], axis=1).astype(np.float32)
        top_left = np.floor((2 * cells + 1) / np.float32(scale))
        bottom_right = np.floor((2 * cells + 12) / np.float32(scale))
        score = probability[ys, xs][:, None]
        return np.concatenate([top_left, bottom_right, score, regression[:, ys, xs].T], axis=1)

    def _crops(self, pixels: AreaResampler, boxes: np.ndarray, size: int):
        """Standardised size x size crops of the usable boxes, and which boxes those are."""
        windows, usable = _windows(boxes, pixels.width, pixels.height)
        return _standardize(pixels.crops(windows[usable], size, size)), usable

    def _refine(self, pixels: AreaResampler, boxes: np.ndarray) -> np.ndarray:
        """Stage 2: R-Net rescores and regresses each candidate."""
        crops, usable = self._crops(pixels, boxes, 24)
        boxes = boxes[usable]
        regression, probability = self.rnet.run(None, {"input": crops})
        keep = probability[:, 1] > self.thresholds[1]
        boxes = np.concatenate([boxes[keep, :4], probability[keep, 1:2]], axis=1)
        regression = regression[keep]
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
        return _square(_regress(boxes[pick], regression[pick]))

    def _output(self, pixels: AreaResampler, boxes: np.ndarray) -> Detections:
        """Stage 3: O-Net gives the final boxes, scores and five landmarks."""
        crops, usable = self._crops(pixels, boxes, 48)
        boxes = boxes[usable]
        regression, points, probability = self.onet.run(None, {"input": crops})
        keep = probability[:, 1] > self.thresholds[2]
        boxes = np.concatenate([boxes[keep, :4], probability[keep, 1:2]], axis=1)
        regression, points = regression[keep], points[keep]
        w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
        h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
        landmarks = np.stack(
            [w * points[:, :5] + boxes[:, 0:1] - 1, h * points[:, 5:] + boxes[:, 1:2] - 1], axis=2
        )
        boxes = _regress(boxes, regression)
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7, mode="min")
        boxes, landmarks = boxes[pick], landmarks[pick]
        order = np.argsort((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[::-1]
        return Detections(
            boxes[order, :4].astype(np.float32),
            boxes[order, 4].astype(np.float32),
            landmarks[order].astype(np.float32),
        )
