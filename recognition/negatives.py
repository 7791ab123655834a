"""`Negatives`: faces an operator said are NOT a person ("this is not X"), kept as int8 codes.

A stranger who looks like an enrolled person is named as them on every visit: the calibrated
threshold only knows strangers in general. A correction gives the model this stranger's faces as
X's negatives, used twice: the one-vs-rest SVM trains X's hyperplane against them, and the
open-set rule refuses X for a face nearer X's negatives than X's own enrolled faces.

Negatives are few (one track's best faces per correction), so the search is exact. They travel in
the model file as plain arrays (codes + the person index each is a negative of), like the gallery.
"""

from __future__ import annotations

import numpy as np

from .gallery import decode, encode, unit_rows


class Negatives:
    """codes int8 [K, d], classes int32 [K]: face k is NOT person classes[k]."""

    def __init__(self, codes: np.ndarray, classes: np.ndarray, dim: int):
        self.codes = np.asarray(codes, np.int8).reshape(-1, dim)
        self.classes = np.asarray(classes).astype(np.int32, casting="same_kind")
        if self.classes.shape != (len(self.codes),) or (self.classes < 0).any():
            raise ValueError("negatives need one non-negative person index per face")
        self.dim = int(dim)
        self.vectors = decode(self.codes)

    @classmethod
    def from_embeddings(cls, embeddings, classes, dim: int) -> Negatives:
        embeddings = np.asarray(embeddings, np.float32).reshape(-1, dim)
        if not np.isfinite(embeddings).all():
            raise ValueError("negative embeddings must be finite")
        return cls(encode(embeddings), classes, dim)

    @classmethod
    def empty(cls, dim: int) -> Negatives:
        return cls(np.zeros((0, dim), np.int8), np.zeros(0, np.int32), dim)

    def __len__(self) -> int:
        return len(self.classes)

    def similarity(self, queries: np.ndarray, class_ids: np.ndarray) -> np.ndarray:
        """Best cosine of each query to the listed classes' negatives: class_ids int [n, c] ->
        float32 [n, c]; -inf where a class has none (or for -1)."""
        queries = unit_rows(queries, self.dim)
        class_ids = np.asarray(class_ids, np.int64).reshape(len(queries), -1)
        result = np.full(class_ids.shape, -np.inf, np.float32)
        if len(self) == 0:
            return result
        similarities = queries @ self.vectors.T  # [n, K]
        for person in np.intersect1d(np.unique(self.classes), class_ids):
            best = similarities[:, self.classes == person].max(axis=1)  # [n]
            result = np.where(class_ids == person, best[:, None], result)
        return result

    def keep(self, keep_class: np.ndarray, renumber: np.ndarray) -> Negatives:
        """The negatives of the kept classes, renumbered (see FaceClassifier.without)."""
        kept = keep_class[self.classes] if len(self) else np.zeros(0, bool)
        return Negatives(self.codes[kept], renumber[self.classes[kept]], self.dim)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"negative_codes": self.codes, "negative_classes": self.classes}

    @classmethod
    def from_arrays(cls, arrays, dim: int) -> Negatives:
        """Inverse of `to_arrays`; a model saved before negatives existed has none."""
        if "negative_codes" not in arrays:
            return cls.empty(dim)
        codes, classes = arrays["negative_codes"], arrays["negative_classes"]
        if codes.dtype != np.int8 or codes.ndim != 2 or codes.shape[1] != dim:
            raise ValueError(f"negative codes must be int8 [K, {dim}]")
        return cls(codes, classes, dim)
