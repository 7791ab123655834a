"""`FaceClassifier`: who is this face, or nobody we know; every cost linear in enrolled people.

Three parts:
- a `Gallery` of every enrolled face: one matrix product over them (HNSW above
  `hnsw_threshold` faces) proposes the people whose faces are nearest;
- a one-vs-rest linear SVM (`OneVsRestSVM`) ranks those candidates;
- open-set rejection: the SVM's choice is named only when the face's cosine similarity to that
  person's nearest enrolled face reaches `threshold`, and is not below its similarity to that
  person's negatives (faces an operator said are not them: `negatives.py`). The threshold comes from
  `calibration.threshold_for`, which chose it on real strangers (LFW) for a false-accept rate at
  the gallery's size: a stranger compared with 1,000 people has 10x the chances to look like one
  of them than with 100, so a bigger gallery needs a stricter threshold.

A prediction reports the similarity the decision used and the threshold, not a probability.

A trained classifier is plain arrays saved as .npz with allow_pickle=False plus JSON: nothing
executable is loaded from the shared model volume, and predicting needs numpy (and hnswlib for
galleries above the HNSW threshold), not scikit-learn.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .gallery import DEFAULT_HNSW_THRESHOLD, Gallery
from .negatives import Negatives
from .svm import OneVsRestSVM

UNKNOWN = "unknown"
FORMAT_VERSION = 2
CANDIDATE_FACES = 20  # nearest enrolled faces whose people the SVM ranks


@dataclass(frozen=True)
class Prediction:
    label: str  # a person id, or "unknown"
    score: float  # cosine similarity to the nearest enrolled face of the best candidate
    threshold: float  # the score a face needs to be named
    candidates: list[tuple[str, float]]  # the people considered, each with their score, best first


class FaceClassifier:
    def __init__(
        self,
        people: list[str],
        gallery: Gallery,
        svm: OneVsRestSVM | None,
        threshold: float,
        embedding_space: str = "",
        negatives: Negatives | None = None,
    ):
        self.labels = list(people)  # person ids; class i of the gallery and the SVM is labels[i]
        self._classes = {label: i for i, label in enumerate(self.labels)}
        self.gallery = gallery
        self.svm = svm  # None with a single person: there is nothing to separate
        self.threshold = float(threshold)
        self.embedding_space = embedding_space
        self.negatives = negatives if negatives is not None else Negatives.empty(gallery.dim)

    @classmethod
    def fit(
        cls,
        embeddings: np.ndarray,
        labels: Iterable[str],
        threshold: float,
        embedding_space: str = "",
        hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
        negatives: tuple[np.ndarray, Iterable[str]] | None = None,
    ) -> FaceClassifier:
        """Train on [N, d] embeddings and their person ids (at least one person).
        `negatives`: ([K, d] faces, the person id each is NOT); those of people not trained
        are dropped."""
        embeddings = np.asarray(embeddings, np.float32)
        labels = [str(label) for label in labels]
        if len(embeddings) == 0 or len(embeddings) != len(labels):
            raise ValueError("training needs at least one embedding, and one label per embedding")
        people, classes = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
        gallery = Gallery(embeddings, classes, hnsw_threshold)
        refused = _negatives(negatives, people, gallery.dim)
        svm = None
        if len(people) > 1:
            svm = OneVsRestSVM.fit(
                embeddings,
                classes,
                hnsw_threshold=hnsw_threshold,
                extra_negatives=(refused.vectors, refused.classes),
            )
        return cls(people.tolist(), gallery, svm, threshold, embedding_space, refused)

    @property
    def embedder(self) -> str:
        """The name of the network whose embeddings this classifier was trained on."""
        return self.embedding_space.partition("@")[0]

    @property
    def dim(self) -> int:
        return self.gallery.dim

    def predict(
        self,
        embeddings: np.ndarray,
        forgotten: frozenset[str] = frozenset(),
        threshold: float | None = None,
    ) -> list[Prediction]:
        """One prediction per embedding; people in `forgotten` (deleted since this model was
        trained) are never candidates. `threshold` replaces the model's own (a track's mean
        face is judged on a threshold calibrated for tracks)."""
        threshold = self.threshold if threshold is None else float(threshold)
        embeddings = np.asarray(embeddings, np.float32).reshape(-1, self.dim)
        if len(embeddings) == 0:
            return []
        similarities, classes = self.gallery.best_per_class(embeddings, CANDIDATE_FACES)
        if forgotten:
            gone = np.isin(classes, [i for i, p in enumerate(self.labels) if p in forgotten])
            similarities = np.where(gone, -np.inf, similarities)
            classes = np.where(gone, -1, classes)
        ranking = similarities if self.svm is None else self.svm.scores_for(embeddings, classes)
        ranking = np.where(classes >= 0, ranking, -np.inf)
        if len(self.negatives):  # nearer a person's negatives than their own faces: not them
            refused = self.negatives.similarity(embeddings, classes) >= similarities
            ranking = np.where(refused, -np.inf, ranking)
            classes = np.where(refused, -1, classes)
        predictions = []
        for row_similarities, row_classes, row_ranking in zip(
            similarities, classes, ranking, strict=True
        ):
            order = [i for i in np.argsort(-row_ranking, kind="stable") if row_classes[i] >= 0]
            candidates = [(self.labels[row_classes[i]], float(row_similarities[i])) for i in order]
            score = candidates[0][1] if candidates else -1.0
            known = bool(candidates) and score >= threshold
            predictions.append(
                Prediction(
                    label=candidates[0][0] if known else UNKNOWN,
                    score=score,
                    threshold=threshold,
                    candidates=candidates,
                )
            )
        return predictions

    def class_of(self, person: str) -> int | None:
        """The person's class index in this model (None: not trained), without a scan."""
        return self._classes.get(person)

    def mean_similarity(self, embedding: np.ndarray, person: str) -> float:
        """Cosine of `embedding` to the unit mean of `person`'s enrolled faces (-inf when the
        person is not enrolled in this model)."""
        index = self.class_of(person)
        if index is None:
            return float("-inf")
        query = np.asarray(embedding, np.float32).reshape(self.dim)
        return self.gallery.class_mean_similarity(query, index)

    def without(self, people: Iterable[str]) -> FaceClassifier:
        """This classifier with every trace of `people` removed: their enrolled faces leave the
        gallery and their hyperplanes the SVM (the rest of the model is unchanged)."""
        gone = set(people) & set(self.labels)
        if not gone:
            return self
        keep_class = np.array([p not in gone for p in self.labels])
        renumber = np.cumsum(keep_class) - 1
        keep_face = keep_class[self.gallery.classes]
        kept_people = [p for p in self.labels if p not in gone]
        if not kept_people:
            raise ValueError("removing every person leaves no classifier")
        gallery = Gallery(
            self.gallery.embeddings[keep_face],
            renumber[self.gallery.classes[keep_face]],
            self.gallery.hnsw_threshold,
        )
        svm = None
        if self.svm is not None and len(kept_people) > 1:
            svm = OneVsRestSVM(self.svm.weights[keep_class], self.svm.bias[keep_class])
        negatives = self.negatives.keep(keep_class, renumber)
        return FaceClassifier(
            kept_people, gallery, svm, self.threshold, self.embedding_space, negatives
        )

    def to_bytes(self) -> bytes:
        meta = {
            "format": FORMAT_VERSION,
            "labels": self.labels,
            "threshold": self.threshold,
            "embedding_space": self.embedding_space,
        }
        arrays = dict(self.gallery.to_arrays())
        if self.svm is not None:
            arrays.update(self.svm.to_arrays())
        if len(self.negatives):
            arrays.update(self.negatives.to_arrays())
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FaceClassifier:
        """Load a saved classifier: arrays and JSON only (allow_pickle=False)."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as saved:
                arrays = {name: saved[name] for name in saved.files}
            meta = json.loads(arrays.pop("meta").tobytes())
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(f"not a facerec classifier file: {error}") from None
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported classifier format {meta.get('format')!r}: retrain")
        gallery = Gallery.from_arrays(arrays)
        svm = OneVsRestSVM.from_arrays(arrays) if "svm_weights" in arrays else None
        negatives = Negatives.from_arrays(arrays, gallery.dim)
        if len(negatives) and negatives.classes.max() >= len(meta["labels"]):
            raise ValueError("the classifier's negatives name a person it does not have")
        return cls(
            meta["labels"], gallery, svm, meta["threshold"], meta["embedding_space"], negatives
        )


def _negatives(negatives, people: np.ndarray, dim: int) -> Negatives:
    """The (faces, not-whom) pairs of trained people as `Negatives` (class indices of `people`)."""
    if negatives is None:
        return Negatives.empty(dim)
    faces = np.asarray(negatives[0], np.float32).reshape(-1, dim)
    whom = np.asarray([str(label) for label in negatives[1]], dtype=str)
    if len(faces) != len(whom):
        raise ValueError("one person id per negative face")
    known = np.isin(whom, people)
    return Negatives.from_embeddings(faces[known], np.searchsorted(people, whom[known]), dim)
