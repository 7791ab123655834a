"""What every embedder is (`Embedder`), what the bundle and the registry know of each network
(`Network`, `Upstream`, `tail`), and the ONNX Runtime session wrapper the embedding networks
share (`OnnxEmbedder`), so that a network's module declares only its data.

Every embedder answers L2-normalised float32 rows, so cosine similarity is a dot product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..align import align_face

BATCH = 16
# ((q, similarity reached by a share q of stranger-person pairs), ...), q falling: the
# calibration table of recognition/calibration.py.
ImpostorTail = tuple[tuple[float, float], ...]
# The shares q every calibration table is measured at (benchmarks/openset.py --table).
TAIL_SHARES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)


def tail(*similarities: float) -> ImpostorTail:
    """A calibration table from the similarities measured at TAIL_SHARES, in that order."""
    return tuple(zip(TAIL_SHARES, similarities, strict=True))


class Embedder(Protocol):
    """Turns detected faces into unit vectors: one network, a fusion, or the torch reference."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """[len(boxes), dim] unit vectors for the faces of an HxWx3 uint8 RGB image."""
        ...


@dataclass(frozen=True)
class Upstream:
    """A file in an installed registry package that `facerec-models build` makes a bundle file
    from; the build refuses it unless its sha256 is this one."""

    module: str  # the importable module that holds it (found without importing it)
    package: str  # the distribution to install
    version: str
    file: str  # relative to the module's folder
    sha256: str


@dataclass(frozen=True)
class Network:
    """One network: its files in the bundle (an embedder's first one is the ONNX graph it serves
    from), what they are made from, and for an embedder its input and calibration."""

    name: str
    files: tuple[str, ...]
    upstream: tuple[Upstream, ...]
    dim: int = 0  # embedding size; 0 for the detector
    size: int = 0  # the square input, px
    template: np.ndarray | None = None  # landmarks on the chip; None: a box crop, not aligned
    impostor_tail: ImpostorTail | None = None  # None: no calibration, so it cannot train

    @property
    def graph(self) -> str:
        return self.files[0]


def normalize(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


class OnnxEmbedder:
    """One embedding network on ONNX Runtime, fed chips aligned to its template from MTCNN's
    five landmarks (RGB 0..255); a network fed other input overrides `chips`."""

    def __init__(self, network: Network, session, margin: float = 32.0):
        self.network = network
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.margin = margin

    @property
    def name(self) -> str:
        return self.network.name

    @property
    def dim(self) -> int:
        return self.network.dim

    def chips(self, rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The network's input: NCHW float32, one per face."""
        size = self.network.size
        chips = np.stack(
            [align_face(rgb, points, self.network.template, size) for points in landmarks]
        )
        return chips.astype(np.float32).transpose(0, 3, 1, 2).copy()

    def embed(self, rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """[len(boxes), dim] unit vectors."""
        if len(boxes) == 0:
            return np.zeros((0, self.dim), np.float32)
        chips = self.chips(rgb, boxes, landmarks)
        rows = [
            self.session.run(None, {self.input_name: chips[i : i + BATCH]})[0]
            for i in range(0, len(chips), BATCH)
        ]
        return normalize(np.concatenate(rows))
