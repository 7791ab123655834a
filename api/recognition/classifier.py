"""`FaceClassifier`: an SVM over embeddings that also knows when a face belongs to nobody it knows.

The SVM (linear, one-vs-rest) names the person; its decision values, through a softmax, give
each person a probability. libsvm's own Platt scaling (`probability=True`) is not used: it fits
on a 5-fold split of the training set, and with the one to three images per person that
enrolment gives, its probabilities disagree with the SVM's own decision (measured on
shared/faces: two of five held-out faces went to the wrong person) and cost 5x the fit time.

An SVM always names one of the people it was trained on, so it is wrapped in open-set
rejection: a face is "unknown" unless the SVM's probability clears `min_probability` AND the
face lies within `max_distance` (Euclidean, on unit vectors) of an enrolled embedding of the
person the SVM picked. Saved with skops (a declarative format), never with pickle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import skops.io
from sklearn.svm import SVC

from api.atomic import write_atomic

UNKNOWN = "unknown"
FORMAT_VERSION = 1
# The only types a saved classifier may contain; anything else in a file is refused.
_ALLOWED_TYPES = {
    "sklearn.svm._classes.SVC",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int32",
    "numpy.int64",
    "builtins.float",
    "builtins.int",
    "builtins.str",
    "builtins.list",
    "builtins.dict",
}


@dataclass(frozen=True)
class Prediction:
    label: str  # a person id, or "unknown"
    confidence: float  # the SVM probability of the best candidate
    distance: float  # to the closest enrolled embedding of that candidate
    all_predictions: list[tuple[str, float]]  # every person with its probability, best first


class FaceClassifier:
    def __init__(
        self,
        svm: SVC | None,
        embeddings: np.ndarray,
        labels: np.ndarray,
        min_probability: float,
        max_distance: float,
    ):
        self.svm = svm
        self.embeddings = embeddings.astype(np.float32)
        self.enrolled_labels = labels.astype(str)
        self.min_probability = min_probability
        self.max_distance = max_distance
        self.labels = sorted(set(self.enrolled_labels.tolist()))

    @classmethod
    def fit(
        cls,
        embeddings: np.ndarray,
        labels: list[str],
        min_probability: float = 0.5,
        max_distance: float = 1.1,
    ) -> FaceClassifier:
        """Train on [N, 512] embeddings and their person ids (at least one person)."""
        embeddings = np.asarray(embeddings, np.float32)
        labels_array = np.asarray(labels, dtype=str)
        if len(embeddings) == 0 or len(embeddings) != len(labels_array):
            raise ValueError("training needs at least one embedding, and one label per embedding")
        svm = None
        if len(set(labels)) > 1:  # with a single person there is nothing to separate
            svm = SVC(kernel="linear", class_weight="balanced", decision_function_shape="ovr")
            svm.fit(embeddings, labels_array)
        return cls(svm, embeddings, labels_array, min_probability, max_distance)

    def _probabilities(self, embeddings: np.ndarray) -> tuple[list[str], np.ndarray]:
        if self.svm is None:
            return self.labels, np.ones((len(embeddings), 1))
        scores = self.svm.decision_function(embeddings)
        if scores.ndim == 1:  # two people: one signed score for the second class
            scores = np.stack([-scores, scores], axis=1)
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return [str(c) for c in self.svm.classes_], scores / scores.sum(axis=1, keepdims=True)

    def predict(self, embeddings: np.ndarray) -> list[Prediction]:
        embeddings = np.asarray(embeddings, np.float32).reshape(-1, self.embeddings.shape[1])
        if len(embeddings) == 0:
            return []
        classes, probabilities = self._probabilities(embeddings)
        distances = np.linalg.norm(embeddings[:, None, :] - self.embeddings[None, :, :], axis=2)
        predictions = []
        for row, distance_row in zip(probabilities, distances, strict=True):
            order = np.argsort(-row, kind="stable")
            best = classes[order[0]]
            confidence = float(row[order[0]])
            distance = float(distance_row[self.enrolled_labels == best].min())
            known = confidence >= self.min_probability and distance <= self.max_distance
            predictions.append(
                Prediction(
                    label=best if known else UNKNOWN,
                    confidence=confidence,
                    distance=distance,
                    all_predictions=[(classes[i], float(row[i])) for i in order],
                )
            )
        return predictions

    def to_bytes(self) -> bytes:
        state = {
            "format": FORMAT_VERSION,
            "svm": self.svm,
            "embeddings": self.embeddings,
            "labels": self.enrolled_labels.tolist(),
            "min_probability": float(self.min_probability),
            "max_distance": float(self.max_distance),
        }
        return skops.io.dumps(state)

    @classmethod
    def from_bytes(cls, data: bytes) -> FaceClassifier:
        """Load a saved classifier, refusing any file that holds a type outside the allow-list."""
        unexpected = set(skops.io.get_untrusted_types(data=data)) - _ALLOWED_TYPES
        if unexpected:
            raise ValueError(
                f"refusing a classifier file with unexpected types: {sorted(unexpected)}"
            )
        state = skops.io.loads(data, trusted=sorted(_ALLOWED_TYPES))
        if state.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported classifier format {state.get('format')!r}")
        return cls(
            state["svm"],
            np.asarray(state["embeddings"]),
            np.asarray(state["labels"]),
            state["min_probability"],
            state["max_distance"],
        )

    def save(self, path) -> None:
        write_atomic(path, self.to_bytes())

    @classmethod
    def load(cls, path) -> FaceClassifier:
        with open(path, "rb") as handle:
            return cls.from_bytes(handle.read())
