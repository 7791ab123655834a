"""Embedders made of several networks: their unit vectors side by side, renormalised.

`sface+dlib` (the default): on LFW it names more of the enrolled people at the same stranger
rejection than either network alone, for ~4 ms more per face (docs/recognition.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .embedder import Embedder, ImpostorTail, normalize, tail


@dataclass(frozen=True)
class Fusion:
    name: str
    parts: tuple[str, ...]  # the networks' names, in the order their vectors are joined
    impostor_tail: ImpostorTail | None  # the fused vectors' own calibration


FUSIONS = {
    fusion.name: fusion
    for fusion in (
        Fusion("sface+dlib", ("sface", "dlib"), tail(0.5492, 0.6026, 0.6425, 0.6743, 0.7043)),
    )
}


class FusedEmbedder:
    """Several embedders' unit vectors side by side, renormalised: cosine similarity becomes
    the mean of the parts' similarities."""

    def __init__(self, name: str, parts: list[Embedder]):
        self.name = name
        self.parts = parts
        self.dim = sum(part.dim for part in parts)

    def embed(self, rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return normalize(np.hstack([part.embed(rgb, boxes, landmarks) for part in self.parts]))
