"""`OneVsRestSVM`: one linear SVM per person, trained and applied in time linear in people.

A person's hyperplane only depends on the faces near its margin (the support vectors); the faces
of everyone else already score below -1 and add nothing. So instead of training each person
against every face (scikit-learn's one-vs-rest: people x faces), the negatives are mined,
cutting-plane style, through a `Gallery` of the people's mean embeddings: first the faces of the
people nearest the person's mean, then, after each solve, the faces of the people whose means
score highest on the new hyperplane (a search with w itself), keeping the faces inside the margin.
A few random faces of others anchor the bias far from the person. Above `hnsw_threshold` people
the means gallery is an HNSW graph, so every search is sublinear and training grows with people x
(mined faces). On LFW (1,291 people, 1-4 photos each) 3 rounds reach the top-1 accuracy of
scikit-learn's LinearSVC trained on all faces within 1% (benchmarks/gallery.py --lfw).

Each person's problem is tiny (their faces plus ~100 others), so it is solved in the dual, for a
batch of people at once in numpy: the L2-regularised squared-hinge SVM (LIBLINEAR's L2-loss
primal, bias as a constant feature) by finite Newton steps, each a ridge regression on the faces
inside the margin (Keerthi & DeCoste, JMLR 2005), warm-started from the previous round. Positives
are weighted so a person's faces count as much as their negatives together.

Prediction is one matrix product: scores = queries @ W.T + b, or only for the candidate people a
gallery search proposed.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from .gallery import DEFAULT_HNSW_THRESHOLD, Gallery, row_chunks

# A batch solves at most this many float32 values of samples and Gram matrices: 64 MB.
_BATCH_VALUES = 16 * 1024 * 1024
# Negatives mined per neighbouring person: their first faces (enrolment gives a few each).
_FACES_PER_NEIGHBOUR = 8
# The means graph (above hnsw_threshold people) is built and searched with short candidate lists:
# mining needs near people, not exactly the nearest, and searches once per person per round.
_MINING_EF_SEARCH = 32
_MINING_EF_CONSTRUCTION = 40
# Batches of classes solved at once: one per core this process may run on.
_CORES = max(1, len(os.sched_getaffinity(0)))


class OneVsRestSVM:
    """weights float32 [people, d], bias float32 [people]: score = x @ weights.T + bias."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray):
        self.weights = np.ascontiguousarray(weights, np.float32)
        self.bias = np.ascontiguousarray(bias, np.float32)
        if self.weights.ndim != 2 or self.bias.shape != (len(self.weights),):
            raise ValueError("weights must be [classes, d] and bias [classes]")

    @classmethod
    def fit(
        cls,
        embeddings: np.ndarray,
        classes: np.ndarray,
        *,
        c: float = 1.0,
        rounds: int = 3,
        neighbours: int = 16,
        max_negatives: int = 64,
        random_negatives: int = 16,
        newton_steps: int = 10,
        hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
        seed: int = 0,
        extra_negatives: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> OneVsRestSVM:
        """Train on unit float [M, d] embeddings whose classes are 0..N-1 (each with >= 1 face).

        Each round solves every class, then mines the faces of the `neighbours` classes whose
        means score highest on its hyperplane, keeping at most `max_negatives` (plus
        `random_negatives` anchors); `hnsw_threshold` applies to the means gallery.
        `extra_negatives`: (faces [K, d], class [K]) that are NOT that class (an operator's
        corrections), in every round of that class's problem.
        """
        embeddings = np.asarray(embeddings, np.float32)
        classes = np.asarray(classes)
        if embeddings.ndim != 2 or classes.shape != (len(embeddings),) or len(embeddings) == 0:
            raise ValueError("training needs [M, d] embeddings and one class per embedding")
        if not np.issubdtype(classes.dtype, np.integer) or classes.min() < 0:
            raise ValueError("classes must be non-negative integers")
        counts = np.bincount(classes)
        if (counts == 0).any():
            raise ValueError("every class 0..N-1 needs at least one embedding")
        data = _TrainingSet(embeddings, classes, counts, hnsw_threshold)
        anchors = np.random.default_rng(seed).integers(
            0, len(classes), (len(counts), random_negatives)
        )
        anchors = np.concatenate([anchors, data.add_negatives(extra_negatives)], axis=1)
        negatives = data.mine(data.means, None, neighbours, max_negatives)
        weights = bias = None
        for round_ in range(max(1, rounds)):
            samples = _distinct(np.concatenate([negatives, anchors], axis=1))
            weights, bias, support = data.solve(samples, weights, bias, c, newton_steps)
            if round_ + 1 < rounds:  # cutting planes: the support vectors and the faces now
                kept = np.where(support, samples, -1)  # inside the margin, the worst first
                negatives = data.mine(weights, bias, neighbours, max_negatives, kept)
        return cls(weights, bias)

    def scores_for(self, queries: np.ndarray, class_ids: np.ndarray) -> np.ndarray:
        """Scores of the listed classes only: class_ids int [n, c] -> float32 [n, c]; -inf for -1."""
        queries = np.asarray(queries, np.float32).reshape(-1, self.weights.shape[1])
        class_ids = np.asarray(class_ids, np.int64).reshape(len(queries), -1)
        valid = class_ids >= 0
        picked = np.where(valid, class_ids, 0)
        scores = np.einsum("ncd,nd->nc", self.weights[picked], queries) + self.bias[picked]
        return np.where(valid, scores, -np.inf).astype(np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"svm_weights": self.weights, "svm_bias": self.bias}

    @classmethod
    def from_arrays(cls, arrays) -> OneVsRestSVM:
        try:
            weights, bias = arrays["svm_weights"], arrays["svm_bias"]
        except KeyError as error:
            raise ValueError(f"not an SVM: {error!r}") from None
        if weights.dtype != np.float32 or bias.dtype != np.float32:
            raise ValueError("SVM weights and bias must be float32")
        return cls(weights, bias)


class _TrainingSet:
    """The faces, each class's faces, and a gallery of the classes' means."""

    def __init__(self, embeddings, classes, counts, hnsw_threshold):
        self.embeddings, self.classes, self.counts = embeddings, classes, counts
        order = np.argsort(classes, kind="stable")
        starts = np.cumsum(counts) - counts
        self.members = np.full((len(counts), counts.max()), -1, np.int64)  # faces of each class
        self.members[classes[order], np.arange(len(order)) - starts[classes[order]]] = order
        self.means = np.zeros((len(counts), embeddings.shape[1]), np.float32)
        np.add.at(self.means, classes, embeddings)
        self.gallery = Gallery(
            self.means,
            np.arange(len(counts)),
            hnsw_threshold,
            ef_search=_MINING_EF_SEARCH,
            ef_construction=_MINING_EF_CONSTRUCTION,
            large="graph",  # mining wants near people fast, not the nearest exactly
        )

    def add_negatives(self, extra) -> np.ndarray:
        """Append corrections' faces (owned by no class) and return [classes, k] indices of each
        class's own, -1 padded."""
        if extra is None or len(extra[1]) == 0:
            return np.full((len(self.counts), 0), -1, np.int64)
        faces, whom = np.asarray(extra[0], np.float32), np.asarray(extra[1], np.int64)
        first = len(self.embeddings)
        self.embeddings = np.concatenate([self.embeddings, faces])
        self.classes = np.concatenate([self.classes, np.full(len(whom), len(self.counts))])
        per_class = np.bincount(whom, minlength=len(self.counts))
        table = np.full((len(self.counts), per_class.max()), -1, np.int64)
        order = np.argsort(whom, kind="stable")
        slot = np.arange(len(whom)) - (np.cumsum(per_class) - per_class)[whom[order]]
        table[whom[order], slot] = first + order
        return table

    def mine(self, directions, bias, neighbours: int, limit: int, keep=None) -> np.ndarray:
        """[classes, <= limit] negatives: of the faces of the `neighbours` other classes whose
        means score highest along each class's direction (its mean, or its w: ranking unit
        vectors by w.x is ranking by cosine), plus `keep`, the `limit` that score highest; given
        `bias`, only those inside the margin (w.x + b > -1). -1 padded."""
        _, nearest = self.gallery.search(directions, neighbours + 1, threads=-1)
        nearest = np.where(nearest == np.arange(len(directions))[:, None], -1, nearest)
        faces = np.where(nearest[..., None] >= 0, self.members[nearest, :_FACES_PER_NEIGHBOUR], -1)
        faces = faces.reshape(len(directions), -1)
        if keep is not None:
            faces = np.concatenate([keep, faces], axis=1)
        faces = _distinct(faces)
        scores = np.full(faces.shape, -np.inf, np.float32)
        for rows in row_chunks(
            len(faces), faces.shape[1] * self.embeddings.shape[1], _BATCH_VALUES
        ):
            x = self.embeddings[np.maximum(faces[rows], 0)]
            scores[rows] = np.einsum("bsd,bd->bs", x, directions[rows])
        if bias is not None:
            scores += bias[:, None]
            scores[scores <= -1] = -np.inf
        scores[faces < 0] = -np.inf
        if faces.shape[1] > limit:
            best = np.argpartition(-scores, limit - 1, axis=1)[:, :limit]
            faces, scores = np.take_along_axis(faces, best, 1), np.take_along_axis(scores, best, 1)
        return _distinct(np.where(np.isfinite(scores), faces, -1))

    def solve(self, negatives, weights, bias, c, newton_steps):
        """Every class's hyperplane (warm-started from `weights`, `bias` if given); also which
        of `negatives` (compact: faces, then -1) ended up support vectors. The batches are
        independent: one per core at a time, each with one BLAS thread (the solves are
        thousands of small LAPACK calls, where OpenBLAS's threads only add waiting: measured at
        1,000 people on 2 busy cores, 7.8 s with them, 1.7 s without). numpy releases the GIL
        in them, so the results are those of one batch after another, in less time."""
        new_weights = np.zeros((len(self.counts), self.embeddings.shape[1]), np.float32)
        new_bias = np.zeros(len(self.counts), np.float32)
        support = np.zeros(negatives.shape, bool)
        sizes = self.counts + (negatives >= 0).sum(axis=1)

        def one(batch):
            positives = self.members[batch, : self.counts[batch].max()]
            rows = negatives[batch, : max(1, int((negatives[batch] >= 0).sum(axis=1).max()))]
            start = None if weights is None else (weights[batch], bias[batch])
            w, b, alpha = _solve(
                self.embeddings, self.classes, batch, positives, rows, start, c, newton_steps
            )
            support[batch, : rows.shape[1]] = alpha[:, positives.shape[1] :] != 0
            new_weights[batch], new_bias[batch] = w, b

        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(_CORES) as pool:
            list(pool.map(one, _batches(sizes, self.embeddings.shape[1])))
        return new_weights, new_bias, support


def _distinct(faces: np.ndarray) -> np.ndarray:
    """Each row's distinct face indices first (ascending), then -1; trimmed to the widest row."""
    missing = np.iinfo(np.int64).max
    faces = np.sort(np.where(faces >= 0, faces, missing), axis=1)
    repeated = np.zeros(faces.shape, bool)
    repeated[:, 1:] = faces[:, 1:] == faces[:, :-1]
    faces[repeated] = missing
    faces = np.sort(faces, axis=1)
    width = int((faces != missing).sum(axis=1).max()) if faces.size else 0
    return np.where(faces != missing, faces, -1)[:, :width]


def _batches(sizes: np.ndarray, dim: int):
    """Classes sorted by sample count (so padding stays small), in batches of bounded memory."""
    order = np.argsort(sizes, kind="stable")
    values = sizes[order].astype(np.int64) * (sizes[order] + dim)  # samples + Gram per class
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order) and (stop + 1 - start) * values[stop] <= _BATCH_VALUES:
            stop += 1
        yield order[start:stop]
        start = stop


def _solve(embeddings, classes, batch, positives, negatives, start, c, newton_steps):
    """Dual finite Newton for min 1/2 |w|^2 + c * sum_i v_i max(0, 1 - y_i (w.x_i + b))^2 with
    the bias as a constant feature 1, for a batch of classes at once. Each step solves the ridge
    regression (I + R K R) beta = R y, alpha = R beta, R = sqrt(2 c v) on the faces inside the
    margin (0 elsewhere), for the classes whose set of such faces still changes."""
    faces = np.concatenate([positives, negatives], axis=1)  # [B, S], -1 = padding
    labels = np.where(np.arange(faces.shape[1]) < positives.shape[1], 1.0, -1.0)
    labels = np.broadcast_to(labels, faces.shape).astype(np.float32)
    usable = (faces >= 0) & ((labels > 0) | (classes[np.maximum(faces, 0)] != batch[:, None]))
    n_pos = usable[:, : positives.shape[1]].sum(axis=1, keepdims=True)
    n_neg = np.maximum(usable[:, positives.shape[1] :].sum(axis=1, keepdims=True), 1)
    cost = np.where(usable, c * np.where(labels > 0, n_neg / n_pos, 1.0), 0).astype(np.float32)
    x = embeddings[np.maximum(faces, 0)]  # [B, S, d]
    gram = x @ x.transpose(0, 2, 1) + 1.0  # + the constant bias feature
    active = usable.copy()  # cold start: every face, i.e. a ridge regression first
    if start is not None:
        active &= labels * (np.einsum("bsd,bd->bs", x, start[0]) + start[1][:, None]) < 1
    eye = np.eye(faces.shape[1], dtype=np.float32)
    alpha = np.zeros(faces.shape, np.float32)
    todo = np.arange(len(batch))
    for _ in range(max(1, newton_steps)):
        root = np.sqrt(2 * cost[todo] * active[todo])
        system = eye + root[:, :, None] * gram[todo] * root[:, None, :]
        alpha[todo] = root * np.linalg.solve(system, (root * labels[todo])[..., None])[..., 0]
        margins = labels[todo] * np.einsum("bst,bt->bs", gram[todo], alpha[todo])
        inside = (margins < 1) & usable[todo]
        changed = (inside != active[todo]).any(axis=1)
        active[todo] = inside
        todo = todo[changed]
        if len(todo) == 0:
            break
    return np.einsum("bs,bsd->bd", alpha, x), alpha.sum(axis=1), alpha
