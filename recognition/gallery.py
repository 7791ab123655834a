"""`Gallery`: every enrolled face embedding and whose it is, searched by cosine similarity.

Up to `hnsw_threshold` faces a search is exact: one float32 matrix product (in chunks of queries,
so memory stays bounded) and a partial sort, linear in the number of faces. Above it the faces go
into an HNSW graph (hnswlib, inner product on unit vectors) whose search cost grows roughly with
log(faces). Its parameters trade build time against recall (benchmarks/gallery.py measures
both): a sparse graph built with a short candidate list, searched with a long one. On 512-d
synthetic faces it finds the query's person among the nearest for 99.5% of queries at 125,000
faces but only 88% at 500,000 (docs/recognition.md): past that, the graph needs more build work.

Embeddings are kept as 8-bit codes (each row scaled so its largest component is +-127) and decoded
to unit float32 vectors: a quarter of float32's bytes on the model volume, and cosine similarities
move by about 4e-4, far below any recognition threshold. Decoding is a pure function of the codes,
so a gallery read back from `to_arrays` searches bit for bit like the one that wrote it.

Serialisation is plain arrays (`to_arrays`/`from_arrays`, fit for np.savez/np.load with
allow_pickle=False). The HNSW graph travels as its own file's bytes with a sha256 that is checked
before hnswlib parses them, so a worker never rebuilds the graph and never feeds it damaged bytes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

import numpy as np

DEFAULT_HNSW_THRESHOLD = 50_000
# HNSW graph: links per node, candidate list while building, and while searching. Building costs
# ~ links x ef_construction distances per face, so 16/64 builds ~6x faster than 32/200 did
# (50,000 512-d faces on 2 busy cores: 33 s, not 195 s); searching with 512 candidates, not 128,
# keeps recall@10 as high (0.889 vs 0.875 there) for ~1 ms more per query.
HNSW_LINKS = 16
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 512
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
        ef_search: int = HNSW_EF_SEARCH,
        ef_construction: int = HNSW_EF_CONSTRUCTION,
    ):
        """`ef_search`, `ef_construction`: the graph's candidate lists per query and while
        building (recall against time); a gallery read back by `from_arrays` searches with the
        default."""
        embeddings = np.asarray(embeddings, np.float32)
        if embeddings.ndim != 2 or embeddings.shape[1] == 0:
            raise ValueError(f"embeddings must be [faces, dimension], got {embeddings.shape}")
        if not np.isfinite(embeddings).all():
            raise ValueError("embeddings must be finite")
        codes, dim = encode(embeddings), embeddings.shape[1]
        self._assemble(classes, dim, hnsw_threshold, codes, ef=(ef_search, ef_construction))

    def _assemble(
        self, classes, dim: int, hnsw_threshold: int, codes=None, index=None, ef=None
    ) -> None:
        """Codes become exact search or a new graph; a loaded graph (`index`) is used as is.
        `ef`: (search, construction) candidate lists, default the module's."""
        ef_search, ef_construction = ef or (HNSW_EF_SEARCH, HNSW_EF_CONSTRUCTION)
        self.classes = np.asarray(classes).astype(np.int32, casting="same_kind")
        size = len(codes) if index is None else index.get_current_count()
        if self.classes.shape != (size,) or (self.classes < 0).any():
            raise ValueError("classes must be one non-negative index per embedding")
        self.dim, self.hnsw_threshold = int(dim), int(hnsw_threshold)
        self._members = None  # faces of each class, built on first use
        if index is None and size > self.hnsw_threshold:
            index = _build_index(decode(codes), ef_construction)
        if index is None:
            self._codes, self._embeddings, self._index = codes, decode(codes), None
        else:
            index.set_ef(int(ef_search))  # hnswlib searches with max(ef, k)
            self._codes, self._embeddings, self._index = None, None, index

    @property
    def size(self) -> int:
        return len(self.classes)

    @property
    def uses_hnsw(self) -> bool:
        return self._index is not None

    @property
    def embeddings(self) -> np.ndarray:
        """The stored unit vectors [M, d] (read back from the graph when there is one)."""
        if self._index is None:
            return self._embeddings
        return self._vectors(np.arange(self.size))

    def _vectors(self, faces: np.ndarray) -> np.ndarray:
        if self._index is None:
            return self._embeddings[faces]
        if len(faces) == 0:
            return np.zeros((0, self.dim), np.float32)
        return np.asarray(self._index.get_items(faces), np.float32)

    def search(
        self, queries: np.ndarray, k: int, threads: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k most similar faces of each query, best first: (cosine float32 [n, k],
        face indices int64 [n, k]); k is clipped to the number of faces. `threads` is for the
        graph (-1: all cores): a serving worker keeps 1, training searches use all."""
        queries = unit_rows(queries, self.dim)
        k = max(0, min(int(k), self.size))
        if k == 0 or len(queries) == 0:
            return np.zeros((len(queries), k), np.float32), np.zeros((len(queries), k), np.int64)
        if self._index is not None:
            faces, distances = self._index.knn_query(queries, k=k, num_threads=threads)
            return (1 - distances).astype(np.float32), faces.astype(np.int64)
        chunk = max(1, _EXACT_CHUNK_PAIRS // self.size)
        parts = [
            _top_k(queries[i : i + chunk] @ self._embeddings.T, k)
            for i in range(0, len(queries), chunk)
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

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
        starts, order = self._class_members()
        wanted = np.where((class_ids >= 0) & (class_ids < len(starts) - 1), class_ids, -1).ravel()
        counts = np.where(wanted >= 0, starts[wanted + 1] - starts[wanted], 0)
        result = np.full(len(wanted), -np.inf, np.float32)
        if counts.sum():
            pair = np.repeat(np.arange(len(wanted)), counts)
            offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            faces = order[starts[wanted[pair]] + offsets]
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

    def _class_members(self) -> tuple[np.ndarray, np.ndarray]:
        """(starts [classes + 1], faces sorted by class): class c owns order[starts[c]:starts[c+1]]."""
        if self._members is None:
            counts = np.bincount(self.classes, minlength=0)
            starts = np.concatenate([[0], np.cumsum(counts)])
            self._members = starts, np.argsort(self.classes, kind="stable")
        return self._members

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (no objects): np.savez them, read back with allow_pickle=False."""
        arrays = {
            "gallery_classes": self.classes,
            "gallery_dim": np.array(self.dim, np.int64),
            "gallery_hnsw_threshold": np.array(self.hnsw_threshold, np.int64),
        }
        if self._index is None:
            arrays["gallery_codes"] = self._codes
        else:
            graph = _index_bytes(self._index)
            arrays["gallery_hnsw_index"] = graph
            arrays["gallery_hnsw_sha256"] = np.array(hashlib.sha256(graph).hexdigest())
        return arrays

    @classmethod
    def from_arrays(cls, arrays) -> Gallery:
        """Inverse of `to_arrays`; a graph whose sha256 does not match is refused (ValueError)."""
        try:
            classes = np.asarray(arrays["gallery_classes"])
            dim = int(arrays["gallery_dim"])
            threshold = int(arrays["gallery_hnsw_threshold"])
            gallery = cls.__new__(cls)
            if "gallery_hnsw_index" not in arrays:
                gallery._assemble(
                    classes, dim, threshold, _checked_codes(arrays["gallery_codes"], dim)
                )
                return gallery
            graph = np.ascontiguousarray(arrays["gallery_hnsw_index"], np.uint8)
            expected = str(arrays["gallery_hnsw_sha256"])
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a gallery: {error!r}") from None
        if hashlib.sha256(graph).hexdigest() != expected:
            raise ValueError("the gallery's HNSW index does not match its sha256: refusing it")
        gallery._assemble(classes, dim, threshold, index=_load_index(graph, dim, len(classes)))
        return gallery


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
        raise ValueError("the gallery's HNSW index does not hold one vector per face")
    return index
