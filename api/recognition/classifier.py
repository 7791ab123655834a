"""`FaceClassifier`: an SVM over embeddings that also knows when a face belongs to nobody it knows.

scikit-learn's SVC (linear kernel, one-vs-one pairs, one-vs-rest decision) is fitted; its decision
values, through a softmax, give each person a probability. libsvm's own Platt scaling
(`probability=True`) is not used: it fits on a 5-fold split of the training set, and with the
one to three images per person that enrolment gives, its probabilities disagree with the SVM's
own decision (measured on shared/faces: two of five held-out faces went to the wrong person),
and it costs 5x the fit time.

An SVM always names one of the people it was trained on, so it is wrapped in open-set
rejection: a face is "unknown" unless the probability clears `min_probability` AND the face lies
within `max_distance` (Euclidean, on unit vectors) of an enrolled embedding of the person the
SVM picked.

A trained classifier is plain arrays (the SVM's pairwise hyperplanes, the enrolled embeddings)
saved as .npz with allow_pickle=False plus JSON: nothing executable is ever loaded from the
shared model volume, and predicting needs only numpy, not scikit-learn.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np

from api.atomic import write_atomic

UNKNOWN = "unknown"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Prediction:
    label: str  # a person id, or "unknown"
    confidence: float  # the probability of the best candidate
    distance: float  # to the closest enrolled embedding of that candidate
    all_predictions: list[tuple[str, float]]  # every person with its probability, best first


def _one_vs_rest(pairwise: np.ndarray, n_classes: int) -> np.ndarray:
    """scikit-learn's one-vs-one -> one-vs-rest decision: votes plus a bounded confidence."""
    votes = np.zeros((len(pairwise), n_classes))
    confidence = np.zeros((len(pairwise), n_classes))
    pairs = ((i, j) for i in range(n_classes) for j in range(i + 1, n_classes))
    for k, (i, j) in enumerate(pairs):
        confidence[:, i] += pairwise[:, k]
        confidence[:, j] -= pairwise[:, k]
        votes[pairwise[:, k] >= 0, i] += 1
        votes[pairwise[:, k] < 0, j] += 1
    return votes + confidence / (3 * (np.abs(confidence) + 1))


class FaceClassifier:
    def __init__(
        self,
        classes: list[str],
        coef: np.ndarray,
        intercept: np.ndarray,
        embeddings: np.ndarray,
        labels: list[str],
        min_probability: float,
        max_distance: float,
    ):
        self.labels = list(classes)  # sorted person ids
        self.coef = np.asarray(coef, np.float64)  # [pairs, 512]
        self.intercept = np.asarray(intercept, np.float64)  # [pairs]
        self.embeddings = np.asarray(embeddings, np.float32)
        self.enrolled_labels = np.asarray(labels, dtype=str)
        self.min_probability = float(min_probability)
        self.max_distance = float(max_distance)

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
        labels = [str(label) for label in labels]
        if len(embeddings) == 0 or len(embeddings) != len(labels):
            raise ValueError("training needs at least one embedding, and one label per embedding")
        classes = sorted(set(labels))
        coef, intercept = np.zeros((0, embeddings.shape[1])), np.zeros(0)
        if len(classes) > 1:  # with a single person there is nothing to separate
            from sklearn.svm import SVC

            svm = SVC(kernel="linear", class_weight="balanced").fit(embeddings, labels)
            coef, intercept = svm.coef_, svm.intercept_
        return cls(classes, coef, intercept, embeddings, labels, min_probability, max_distance)

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """[N, people] probabilities, columns in `self.labels` order."""
        if len(self.labels) == 1:
            return np.ones((len(embeddings), 1))
        pairwise = embeddings.astype(np.float64) @ self.coef.T + self.intercept
        if len(self.labels) == 2:  # scikit-learn's binary sign: positive means the second class
            scores = np.concatenate([-pairwise, pairwise], axis=1)
        else:
            scores = _one_vs_rest(pairwise, len(self.labels))
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)

    def predict(self, embeddings: np.ndarray) -> list[Prediction]:
        embeddings = np.asarray(embeddings, np.float32).reshape(-1, self.embeddings.shape[1])
        probabilities = self.probabilities(embeddings)
        distances = np.linalg.norm(embeddings[:, None, :] - self.embeddings[None, :, :], axis=2)
        predictions = []
        for row, distance_row in zip(probabilities, distances, strict=True):
            order = np.argsort(-row, kind="stable")
            best = self.labels[order[0]]
            confidence = float(row[order[0]])
            distance = float(distance_row[self.enrolled_labels == best].min())
            known = confidence >= self.min_probability and distance <= self.max_distance
            predictions.append(
                Prediction(
                    label=best if known else UNKNOWN,
                    confidence=confidence,
                    distance=distance,
                    all_predictions=[(self.labels[i], float(row[i])) for i in order],
                )
            )
        return predictions

    def to_bytes(self) -> bytes:
        meta = {
            "format": FORMAT_VERSION,
            "labels": self.labels,
            "enrolled_labels": self.enrolled_labels.tolist(),
            "min_probability": self.min_probability,
            "max_distance": self.max_distance,
        }
        buffer = io.BytesIO()
        np.savez(
            buffer,
            meta=np.frombuffer(json.dumps(meta).encode(), np.uint8),
            coef=self.coef,
            intercept=self.intercept,
            embeddings=self.embeddings,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FaceClassifier:
        """Load a saved classifier: arrays and JSON only (allow_pickle=False)."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                meta = json.loads(arrays["meta"].tobytes())
                coef, intercept = arrays["coef"], arrays["intercept"]
                embeddings = arrays["embeddings"]
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(f"not a facerec classifier file: {error}") from None
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported classifier format {meta.get('format')!r}")
        return cls(
            meta["labels"],
            coef,
            intercept,
            embeddings,
            meta["enrolled_labels"],
            meta["min_probability"],
            meta["max_distance"],
        )

    def save(self, path) -> None:
        write_atomic(path, self.to_bytes())

    @classmethod
    def load(cls, path) -> FaceClassifier:
        with open(path, "rb") as handle:
            return cls.from_bytes(handle.read())
