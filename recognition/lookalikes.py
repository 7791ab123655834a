"""Look-alikes: the other enrolled people a face, or a person's faces, resemble most.

Enrolling someone twice under two ids splits their faces between the ids and the model then
names them by either (issue 23), and two different people who look alike are confused alike. Both
show up as an enrolment face whose nearest faces of *another* person score high. The score is the
one recognition decides on (cosine similarity to the other person's nearest enrolled face), so a
warning says "the model could name this face as them".

The serving model's gallery holds the faces it was trained on; faces enrolled since (`extra`)
are compared exactly, the caller decides how many it passes.
"""

from __future__ import annotations

import numpy as np

from .classifier import CANDIDATE_FACES, FaceClassifier
from .gallery import unit_rows


def look_alikes(
    classifier: FaceClassifier | None,
    queries: np.ndarray,
    exclude: str,
    extra: tuple[np.ndarray, list[str]] | None = None,
    limit: int = 5,
) -> list[tuple[str, float]]:
    """The `limit` people other than `exclude` whose nearest face is most similar to any of the
    query faces, best first: [(person, score)]. People found among the nearest faces only
    (exact for the best ones; the list's tail may miss a person whose faces rank lower)."""
    best: dict[str, float] = {}
    if classifier is not None and len(queries):
        _gallery_scores(classifier, queries, exclude, limit, best)
    if extra is not None and len(extra[1]):
        dim = classifier.dim if classifier is not None else extra[0].shape[1]
        scores = unit_rows(queries, dim) @ unit_rows(extra[0], dim).T
        for person, score in zip(extra[1], scores.max(axis=0), strict=True):
            if person != exclude and score > best.get(person, -np.inf):
                best[person] = float(score)
    return sorted(best.items(), key=lambda item: (-item[1], item[0]))[:limit]


def _gallery_scores(classifier, queries, exclude: str, limit: int, best: dict) -> None:
    """Per other person, the best similarity of the queries' nearest gallery faces, into `best`;
    the search reaches past the excluded person's own faces."""
    gallery = classifier.gallery
    own, excluded = 0, classifier.class_of(exclude)
    if excluded is not None:
        own = int(np.count_nonzero(gallery.classes == excluded))
    similarities, classes = gallery.best_per_class(queries, own + max(CANDIDATE_FACES, 4 * limit))
    for row_similarities, row_classes in zip(similarities, classes, strict=True):
        for score, index in zip(row_similarities, row_classes, strict=True):
            if index < 0:
                continue
            person = classifier.labels[index]
            if person != exclude and score > best.get(person, -np.inf):
                best[person] = float(score)


def own_faces(classifier: FaceClassifier | None, person: str) -> np.ndarray:
    """The person's enrolled faces in the model's gallery ([0, d] when not trained)."""
    index = classifier.class_of(person) if classifier is not None else None
    if index is None:
        return np.zeros((0, classifier.dim if classifier else 0), np.float32)
    gallery = classifier.gallery
    faces = np.flatnonzero(gallery.classes == index)
    return gallery._vectors(faces)  # noqa: SLF001 (read back from the graph when there is one)
