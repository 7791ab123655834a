"""`Gallery`: every enrolled face embedding and whose it is, searched by cosine similarity.

Up to `hnsw_threshold` faces a search is exact: one float32 matrix product (in chunks of queries,
so memory stays bounded) and a partial sort, linear in the number of faces. Above it the search
has two stages: the `SHORTLIST_PEOPLE` people whose MEAN face scores highest on the query (the
means projected on their `PEOPLE_DIMS` principal directions: one exact product over people, not
faces, in a quarter of the bytes at 512-d), then exactly the faces of just those people. Nothing
is approximate but the shortlist, and there is no graph to build: at 100,000 synthetic 512-d
people (500,000 faces) the gallery is ready in 7-34 s on 2 loaded cores where an HNSW graph over
every face took 18 minutes, and it finds the probe's person for every probe where the graph
found it for 88% (docs/recognition.md). A graph has nothing to navigate by between people with
no structure, as these; a person's mean keeps what their faces share. The faces that resemble the query are found; which stranger's
face comes 10th by chance is not (benchmarks/gallery.py's recall10 counts those too).

Embeddings are kept as 8-bit codes (each row scaled so its largest component is +-127) and decoded
to unit float32 vectors: a quarter of float32's bytes on the model volume, and cosine similarities
move by about 4e-4, far below any recognition threshold. Decoding is a pure function of the codes,
so a gallery read back from `to_arrays` searches bit for bit like the one that wrote it. Above
the threshold the codes are decoded only for the faces a search compares.

Serialisation is plain arrays (`to_arrays`/`from_arrays`, fit for np.savez/np.load with
allow_pickle=False), the first stage's among them, so a reader searches bit for bit alike. An
HNSW graph over every face (`large="graph"`: the SVM's mining, and models written before the two
stages) travels as its own file's bytes with a sha256 that is checked before hnswlib parses
them, so a worker never rebuilds the graph and never feeds it damaged bytes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

import numpy as np

DEFAULT_HNSW_THRESHOLD = 50_000
# An HNSW graph over every face (Gallery(large="graph"): the SVM's mining; and models written
# before the two stages): links per node, candidate list while building, and while searching.
HNSW_LINKS = 16
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 512
# Above the threshold: the people whose faces a search compares exactly (at least k), and the
# dimensions of the projected means that choose them.
SHORTLIST_PEOPLE = 128
PEOPLE_DIMS = 128
# The first stage's arrays in a saved gallery: classes with faces, basis, projected means.
_PEOPLE_ARRAYS = ("gallery_people", "gallery_people_basis", "gallery_people_means")
# Exact search compares at most this many (query, face) pairs at once: 32 MB of float32.
_EXACT_CHUNK_PAIRS = 8 * 1024 * 1024


def encode(embeddings: np.ndarray) -> np.ndarray:
    """float [M, d] -> int8 codes [M, d], each row scaled so its largest |component| is 127."""
    embeddings = np.asarray(embeddings, np.float32)
    peak = np.abs(embeddings).max(axis=1, keepdims=True) if embeddings.size else 1.0
    return np.rint(embeddings * (127 / np.maximum(peak, 1e-30))).astype(np.int8)


def decode(codes: np.ndarray) -> np.ndarray:
    """int8 codes [M, d] -> unit float32 vectors [M, d] (a zero row stays zero)."""
    vectors = codes.astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-30)


def decode_one(code: bytes) -> np.ndarray:
    """One face's stored int8 codes (bytes) -> its unit float32 vector."""
    return decode(np.frombuffer(code, np.int8)[None])[0]


def unit_rows(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Queries as unit float32 rows [n, dim]; a single vector becomes one row."""
    vectors = np.asarray(vectors, np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None]
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise ValueError(f"expected vectors of dimension {dim}, got shape {vectors.shape}")
    if not np.isfinite(vectors).all():
        raise ValueError("vectors must be finite")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-30)


class Gallery:
    """Enrolled faces (unit vectors [M, d]) and each one's class index (int32 [M])."""

    def __init__(
        self,
        embeddings: np.ndarray,
        classes: np.ndarray,
        hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
        *,
        large: str = "people",
        ef_search: int = HNSW_EF_SEARCH,
        ef_construction: int = HNSW_EF_CONSTRUCTION,
    ):
        """Above `hnsw_threshold` faces, `large` says how to search: "people" (the two stages)
        or "graph" (an HNSW graph over every face, approximate: the SVM's mining of near people
        uses it), searched and built with `ef_search` and `ef_construction` candidates."""
        embeddings = np.asarray(embeddings, np.float32)
        if embeddings.ndim != 2 or embeddings.shape[1] == 0:
            raise ValueError(f"embeddings must be [faces, dimension], got {embeddings.shape}")
        if not np.isfinite(embeddings).all():
            raise ValueError("embeddings must be finite")
        if large not in ("people", "graph"):
            raise ValueError(f"large must be 'people' or 'graph', not {large!r}")
        codes, dim = encode(embeddings), embeddings.shape[1]
        self._assemble(classes, dim, hnsw_threshold, codes)
        if self._embeddings is not None:
            return
        if large == "graph":  # the graph holds the vectors, as before the two stages
            self._index, self._codes = _build_index(decode(codes), ef_construction), None
            self._index.set_ef(int(ef_search))  # hnswlib searches with max(ef, k)
        else:
            self._people = _people_stage(*self._class_means())

    def _assemble(self, classes, dim: int, hnsw_threshold: int, codes=None, index=None) -> None:
        """Codes (decoded up to the threshold; above it only the faces a search compares), or
        a loaded graph over every face (`index`, a model from before the two stages)."""
        self.classes = np.asarray(classes).astype(np.int32, casting="same_kind")
        size = len(codes) if codes is not None else index.get_current_count()
        if self.classes.shape != (size,) or (self.classes < 0).any():
            raise ValueError("classes must be one non-negative index per embedding")
        self.dim, self.hnsw_threshold = int(dim), int(hnsw_threshold)
        self._members = None  # faces of each class, built on first use
        self._codes, self._index, self._people = codes, index, None
        exact = codes is not None and size <= self.hnsw_threshold
        self._embeddings = decode(codes) if exact else None
        if index is not None:
            index.set_ef(HNSW_EF_SEARCH)

    def _class_means(self) -> tuple[np.ndarray, np.ndarray]:
        """(the classes that have faces, the unit mean of each one's faces)."""
        starts, order = self._class_members()
        present = np.flatnonzero(np.diff(starts))
        first = starts[present]  # present[i]'s faces: order[first[i] : starts[present[i] + 1]]
        means = np.zeros((len(present), self.dim), np.float32)
        per_class = self.dim * max(1, self.size // max(1, len(present)))
        for group in row_chunks(len(present), per_class):
            faces = order[first[group][0] : starts[present[group][-1] + 1]]
            means[group] = np.add.reduceat(self._vectors(faces), first[group] - first[group][0])
        return present, unit_rows(means, self.dim)

    @property
    def size(self) -> int:
        return len(self.classes)

    @property
    def index(self) -> str:
        """How a search runs: "exact", "people" (the two stages) or "hnsw" (a graph of faces)."""
        return "people" if self._people else "hnsw" if self._index is not None else "exact"

    @property
    def embeddings(self) -> np.ndarray:
        """The stored unit vectors [M, d] (decoded, or read back from a graph over faces)."""
        if self._embeddings is not None:
            return self._embeddings
        return self._vectors(np.arange(self.size))

    def _vectors(self, faces: np.ndarray) -> np.ndarray:
        if self._embeddings is not None:
            return self._embeddings[faces]
        if self._codes is not None:
            return decode(self._codes[faces])
        if len(faces) == 0:
            return np.zeros((0, self.dim), np.float32)
        return np.asarray(self._index.get_items(faces), np.float32)

    def search(
        self, queries: np.ndarray, k: int, threads: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k most similar faces of each query, best first: (cosine float32 [n, k],
        face indices int64 [n, k]); k is clipped to the number of faces. `threads` is for a
        graph (-1: all cores): a serving worker keeps 1, training searches use all."""
        queries = unit_rows(queries, self.dim)
        k = max(0, min(int(k), self.size))
        if k == 0 or len(queries) == 0:
            return np.zeros((len(queries), k), np.float32), np.zeros((len(queries), k), np.int64)
        if self._index is not None:
            faces, distances = self._index.knn_query(queries, k=k, num_threads=threads)
            return (1 - distances).astype(np.float32), faces.astype(np.int64)
        search = self._two_stages if self._people else self._exact
        parts = [search(queries[rows], k) for rows in row_chunks(len(queries), self._breadth)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    @property
    def _breadth(self) -> int:
        """Values one query's search holds at once (so chunks of queries bound memory)."""
        return len(self._people[0]) if self._people else self.size

    def _exact(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return _top_k(queries @ self._embeddings.T, k)

    def _two_stages(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The people whose projected means score highest (max(SHORTLIST_PEOPLE, k), each with
        >= 1 face, so >= k faces), then those people's faces compared exactly."""
        present, basis, means = self._people
        people = min(max(SHORTLIST_PEOPLE, k), len(present))
        scores = (queries @ basis) @ means.T
        if people < len(present):
            shortlisted = np.argpartition(-scores, people - 1, axis=1)[:, :people]
        else:
            shortlisted = np.broadcast_to(np.arange(len(present)), scores.shape)
        pair, found, counts = self._faces_of(present[shortlisted].astype(np.int64))
        local = pair // people  # the query of each compared face
        similarities = np.einsum("ij,ij->i", self._vectors(found), queries[local])
        per_query = counts.reshape(len(queries), people).sum(axis=1)
        column = np.arange(len(found)) - np.repeat(np.cumsum(per_query) - per_query, per_query)
        table = np.full((len(queries), per_query.max()), -np.inf, np.float32)
        owner = np.zeros(table.shape, np.int64)
        table[local, column], owner[local, column] = similarities, found
        best, where = _top_k(table, k)
        return best, np.take_along_axis(owner, where, axis=1)

    def best_per_class(
        self, queries: np.ndarray, k: int, threads: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """Among each query's k nearest faces, the distinct classes, each with the similarity of
        its best face, best first: (cosine float32 [n, c], class int32 [n, c]), c the most
        distinct classes any query found; shorter rows are padded with (-inf, -1). `threads`
        as for `search`."""
        similarities, faces = self.search(queries, k, threads)
        classes = self.classes[faces]
        # A neighbour counts once per class: its first (best) occurrence in the row.
        earlier = np.tril(np.ones((faces.shape[1],) * 2, bool), -1)
        repeated = ((classes[:, :, None] == classes[:, None, :]) & earlier).any(axis=2)
        order = np.argsort(repeated, axis=1, kind="stable")  # first occurrences first, in order
        width = int((~repeated).sum(axis=1).max()) if faces.size else 0
        order = order[:, :width]
        keep = ~np.take_along_axis(repeated, order, axis=1)
        best = np.where(keep, np.take_along_axis(similarities, order, axis=1), -np.inf)
        owner = np.where(keep, np.take_along_axis(classes, order, axis=1), -1)
        return best.astype(np.float32), owner.astype(np.int32)

    def class_similarity(self, queries: np.ndarray, class_ids: np.ndarray) -> np.ndarray:
        """Best cosine of each query to each listed class's faces: class_ids int [n, c] ->
        float32 [n, c]; -inf for -1 or a class with no faces. Exact, also with a graph."""
        queries = unit_rows(queries, self.dim)
        class_ids = np.asarray(class_ids, np.int64).reshape(len(queries), -1)
        pair, faces, counts = self._faces_of(class_ids)
        result = np.full(counts.shape, -np.inf, np.float32)
        if len(faces):
            rows = pair // class_ids.shape[1]
            similarities = np.einsum("ij,ij->i", self._vectors(faces), queries[rows])
            present = counts > 0
            result[present] = np.maximum.reduceat(
                similarities, (np.cumsum(counts) - counts)[present]
            )
        return result.reshape(class_ids.shape)

    def class_mean_similarity(self, query: np.ndarray, class_id: int) -> float:
        """Cosine of `query` to the unit mean of one class's faces: a template of the person,
        steadier than its nearest face (what a track's mean face is judged against)."""
        starts, order = self._class_members()
        if not 0 <= class_id < len(starts) - 1 or starts[class_id] == starts[class_id + 1]:
            return float("-inf")
        mean = self._vectors(order[starts[class_id] : starts[class_id + 1]]).mean(axis=0)
        return float(unit_rows(mean[None], self.dim)[0] @ unit_rows(query[None], self.dim)[0])

    def _faces_of(self, class_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every face of each listed class, flattened: (the index of its entry in class_ids.ravel(),
        the face, faces per entry); -1 or an unknown class lists none."""
        starts, order = self._class_members()
        wanted = np.where((class_ids >= 0) & (class_ids < len(starts) - 1), class_ids, -1).ravel()
        counts = np.where(wanted >= 0, starts[wanted + 1] - starts[wanted], 0)
        pair = np.repeat(np.arange(len(wanted)), counts)
        offsets = np.arange(len(pair)) - np.repeat(np.cumsum(counts) - counts, counts)
        return pair, order[starts[wanted[pair]] + offsets], counts

    def _class_members(self) -> tuple[np.ndarray, np.ndarray]:
        """(starts [classes + 1], faces sorted by class): class c owns order[starts[c]:starts[c+1]]."""
        if self._members is None:
            counts = np.bincount(self.classes, minlength=0)
            starts = np.concatenate([[0], np.cumsum(counts)])
            self._members = starts, np.argsort(self.classes, kind="stable")
        return self._members

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (no objects): np.savez them, read back with allow_pickle=False. Above the
        threshold the first stage's arrays travel too, so a reader searches bit for bit alike."""
        arrays = {
            "gallery_classes": self.classes,
            "gallery_dim": np.array(self.dim, np.int64),
            "gallery_hnsw_threshold": np.array(self.hnsw_threshold, np.int64),
        }
        if self._codes is not None:
            arrays["gallery_codes"] = self._codes
        if self._people:
            arrays.update(zip(_PEOPLE_ARRAYS, self._people, strict=True))
        elif self._index is not None:
            graph = _index_bytes(self._index)
            arrays["gallery_hnsw_index"] = graph
            arrays["gallery_hnsw_sha256"] = np.array(hashlib.sha256(graph).hexdigest())
        return arrays

    @classmethod
    def from_arrays(cls, arrays) -> Gallery:
        """Inverse of `to_arrays`; a graph whose sha256 does not match is refused (ValueError).
        A gallery_hnsw_index (a graph over every face, before the two stages) still loads."""
        try:
            classes = np.asarray(arrays["gallery_classes"])
            dim = int(arrays["gallery_dim"])
            threshold = int(arrays["gallery_hnsw_threshold"])
            gallery = cls.__new__(cls)
            if "gallery_hnsw_index" not in arrays:
                gallery._assemble(
                    classes, dim, threshold, _checked_codes(arrays["gallery_codes"], dim)
                )
                if _PEOPLE_ARRAYS[0] in arrays:
                    gallery._load_people([arrays[name] for name in _PEOPLE_ARRAYS])
                elif gallery._embeddings is None:  # not written by to_arrays: search exactly
                    gallery._embeddings = decode(gallery._codes)
                return gallery
            graph = np.ascontiguousarray(arrays["gallery_hnsw_index"], np.uint8)
            expected = str(arrays["gallery_hnsw_sha256"])
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a gallery: {error!r}") from None
        if hashlib.sha256(graph).hexdigest() != expected:
            raise ValueError("the gallery's HNSW index does not match its sha256: refusing it")
        gallery._assemble(classes, dim, threshold, index=_load_index(graph, dim, len(classes)))
        return gallery

    def _load_people(self, stage: list[np.ndarray]) -> None:
        """The first stage's arrays read back, checked against the faces they choose among."""
        present, basis, means = stage
        starts, _ = self._class_members()
        if not (
            present.dtype == np.int32
            and np.array_equal(present, np.flatnonzero(np.diff(starts)))
            and basis.dtype == means.dtype == np.float32
            and basis.shape == (self.dim, means.shape[1])
            and means.shape == (len(present), min(PEOPLE_DIMS, self.dim))
        ):
            raise ValueError("the gallery's people arrays do not fit its faces")
        self._people = present, basis, means


def _people_stage(present: np.ndarray, means: np.ndarray):
    """(classes, basis [d, r], the means projected [classes, r]): r = PEOPLE_DIMS principal
    directions of the means, so the first stage reads a quarter of their bytes (512-d)."""
    dims = min(PEOPLE_DIMS, means.shape[1])
    _, vectors = np.linalg.eigh((means.T @ means).astype(np.float64))
    basis = np.ascontiguousarray(vectors[:, ::-1][:, :dims], np.float32)
    return present.astype(np.int32), basis, np.ascontiguousarray(means @ basis)


def _checked_codes(codes, dim: int) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.dtype != np.int8 or codes.ndim != 2 or codes.shape[1] != dim:
        raise ValueError(f"gallery codes must be int8 [faces, {dim}]")
    return codes


def _top_k(similarities: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise k largest of a [n, M] matrix, best first."""
    if k < similarities.shape[1]:
        candidates = np.argpartition(-similarities, k - 1, axis=1)[:, :k]
    else:
        candidates = np.broadcast_to(np.arange(similarities.shape[1]), similarities.shape)
    values = np.take_along_axis(similarities, candidates, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    return np.take_along_axis(values, order, 1), np.take_along_axis(candidates, order, 1).astype(
        np.int64
    )


def row_chunks(rows: int, values_per_row: int, budget: int = _EXACT_CHUNK_PAIRS):
    """Slices of `rows` whose `values_per_row` values stay within `budget` together."""
    step = max(1, budget // max(1, values_per_row))
    for start in range(0, rows, step):
        yield slice(start, start + step)


def _build_index(vectors: np.ndarray, ef_construction: int):
    import hnswlib

    index = hnswlib.Index(space="ip", dim=vectors.shape[1])
    index.init_index(
        max_elements=len(vectors), M=HNSW_LINKS, ef_construction=int(ef_construction), random_seed=0
    )
    index.add_items(vectors, np.arange(len(vectors)), num_threads=-1)  # all cores
    return index


def _index_bytes(index) -> np.ndarray:
    """hnswlib saves only to a path: save to a private temp file, read it back."""
    with tempfile.TemporaryDirectory(prefix="facerec-hnsw-") as folder:
        path = os.path.join(folder, "index.bin")
        index.save_index(path)
        return np.fromfile(path, np.uint8)


def _load_index(graph: np.ndarray, dim: int, size: int):
    import hnswlib

    index = hnswlib.Index(space="ip", dim=dim)
    with tempfile.TemporaryDirectory(prefix="facerec-hnsw-") as folder:
        path = os.path.join(folder, "index.bin")
        graph.tofile(path)
        try:
            index.load_index(path, max_elements=size)
        except RuntimeError as error:
            raise ValueError(f"the gallery's HNSW index does not load: {error}") from None
    if index.get_current_count() != size:
        raise ValueError("the gallery's HNSW index does not hold one vector per node")
    return index
