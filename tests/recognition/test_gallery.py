"""Gallery search (exact and HNSW), its pickle-free round trip, and the one-vs-rest SVM."""

import io

import numpy as np
import pytest

from recognition import load_image
from recognition.gallery import Gallery
from recognition.svm import OneVsRestSVM
from tests.conftest import faces_and_embeddings, people_images


def every_class_score(svm, queries):
    """Every class's SVM score ([n, classes]); serving scores only the gallery's candidates."""
    return np.asarray(queries, np.float32) @ svm.weights.T + svm.bias


def _unit(rows):
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _clustered(people, per_person, dim=128, seed=0):
    """Faces around random centres with a same-person cosine of ~0.6, as real embeddings."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.standard_normal((people, dim)))
    owners = np.repeat(np.arange(people), per_person)
    noise = rng.standard_normal((len(owners), dim)) * (0.8 / np.sqrt(dim))
    return _unit(centres[owners] + noise), owners


@pytest.fixture(scope="module")
def real_faces(analyzer):
    """Every portrait of tests/data/people: (embeddings, person index, names)."""
    embeddings, owners, names = [], [], sorted(people_images())
    for person, paths in people_images().items():
        for path in paths:
            _, found = faces_and_embeddings(analyzer, load_image(path.read_bytes()))
            embeddings.append(found[0])
            owners.append(names.index(person))
    return np.array(embeddings), np.array(owners), names


def test_exact_search_is_the_cosine_ranking():
    faces, owners = _clustered(50, 3)
    gallery = Gallery(faces, owners)
    similarities, indices = gallery.search(faces[:7], 5)
    assert similarities.dtype == np.float32 and indices.dtype == np.int64
    reference = np.argsort(-(faces[:7] @ gallery.embeddings.T), axis=1)[:, :5]  # as stored
    np.testing.assert_array_equal(indices, reference)
    assert (np.diff(similarities, axis=1) <= 0).all()
    np.testing.assert_allclose(similarities[:, 0], 1.0, atol=2e-3)  # each face finds itself


def test_hnsw_and_exact_agree_on_real_faces(real_faces):
    embeddings, owners, _ = real_faces
    # Real faces among many synthetic ones, so the graph has something to get lost in.
    filler, filler_owners = _clustered(600, 5, dim=embeddings.shape[1])
    faces = np.concatenate([embeddings, filler])
    classes = np.concatenate([owners, filler_owners + owners.max() + 1])
    exact = Gallery(faces, classes)
    graph = Gallery(faces, classes, hnsw_threshold=100)
    assert graph.index == "people" and exact.index == "exact"
    probes = np.concatenate([embeddings, filler[::50]])
    s_exact, i_exact = exact.search(probes, 10)
    s_graph, i_graph = graph.search(probes, 10)
    np.testing.assert_array_equal(i_graph[:, 0], i_exact[:, 0])
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(i_exact, i_graph, strict=True)])
    assert recall >= 0.99
    # A face the two stages find is compared exactly: the same similarity as exact search's.
    same = i_graph == i_exact
    np.testing.assert_allclose(s_graph[same], s_exact[same], atol=1e-5)
    assert (s_graph <= s_exact + 1e-5).all()  # and nothing is found that exact search ranks lower


def test_real_faces_are_nearest_to_the_same_person(real_faces):
    """Hold each portrait out; its best other-photo class is its own person (one photo of lin:
    skipped)."""
    embeddings, owners, _ = real_faces
    for held in range(len(embeddings)):
        rest = np.arange(len(embeddings)) != held
        if owners[held] not in owners[rest]:
            continue
        _, classes = Gallery(embeddings[rest], owners[rest]).best_per_class(embeddings[held], 5)
        assert classes[0, 0] == owners[held]


@pytest.mark.parametrize(
    ("threshold", "large"),
    [(1_000_000, "people"), (10, "people"), (10, "graph")],
    ids=["exact", "people", "graph"],
)
def test_round_trip_through_npz_without_pickle(tmp_path, threshold, large):
    faces, owners = _clustered(40, 3)
    gallery = Gallery(faces, owners, hnsw_threshold=threshold, large=large)
    svm = OneVsRestSVM.fit(faces, owners)
    np.savez(tmp_path / "model.npz", **gallery.to_arrays(), **svm.to_arrays())
    with np.load(tmp_path / "model.npz", allow_pickle=False) as saved:
        loaded, loaded_svm = Gallery.from_arrays(saved), OneVsRestSVM.from_arrays(saved)
    assert loaded.index == gallery.index
    for before, after in zip(gallery.search(faces, 7), loaded.search(faces, 7), strict=True):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(loaded.embeddings, gallery.embeddings)
    np.testing.assert_array_equal(
        every_class_score(loaded_svm, faces), every_class_score(svm, faces)
    )


def test_stored_codes_stay_close_to_the_embeddings():
    faces, owners = _clustered(20, 3, dim=512)
    stored = Gallery(faces, owners).embeddings
    assert np.abs(np.sum(stored * faces, axis=1) - 1).max() < 1e-3
    assert Gallery(faces, owners).to_arrays()["gallery_codes"].dtype == np.int8


def test_a_tampered_hnsw_index_is_refused():
    faces, owners = _clustered(30, 3)
    arrays = Gallery(faces, owners, hnsw_threshold=10, large="graph").to_arrays()
    index = arrays["gallery_hnsw_index"].copy()
    index[len(index) // 2] ^= 1
    with pytest.raises(ValueError, match="sha256"):
        Gallery.from_arrays(arrays | {"gallery_hnsw_index": index})
    with pytest.raises(ValueError, match="sha256"):
        Gallery.from_arrays(arrays | {"gallery_hnsw_sha256": np.array("0" * 64)})
    with pytest.raises(ValueError, match="not a gallery"):
        Gallery.from_arrays({k: v for k, v in arrays.items() if k != "gallery_hnsw_sha256"})


def test_a_pickled_array_is_refused(tmp_path):
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"gallery_classes": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        np.load(io.BytesIO(buffer.getvalue()), allow_pickle=False)


def test_k_larger_than_the_gallery_is_clipped():
    faces, owners = _clustered(3, 2)
    for gallery in (Gallery(faces, owners), Gallery(faces, owners, hnsw_threshold=2)):
        similarities, indices = gallery.search(faces[:2], 50)
        assert similarities.shape == indices.shape == (2, 6)
        assert sorted(indices[0]) == list(range(6))


def test_best_per_class_lists_each_person_once_best_first():
    faces, owners = _clustered(5, 4)
    similarities, classes = Gallery(faces, owners).best_per_class(faces[:3], 20)
    assert classes.shape == (3, 5)
    for row_s, row_c, query in zip(similarities, classes, faces[:3], strict=True):
        assert sorted(row_c) == list(range(5)) and (np.diff(row_s) <= 0).all()
        per_class = [max(query @ faces[owners == c].T) for c in row_c]
        np.testing.assert_allclose(row_s, per_class, atol=2e-3)
    # Fewer distinct classes than columns in some rows: padded with (-inf, -1).
    similarities, classes = Gallery(faces, owners).best_per_class(faces[:3], 2)
    assert classes.shape[1] <= 2 and ((classes >= 0) | (similarities == -np.inf)).all()


def test_class_similarity_matches_brute_force():
    faces, owners = _clustered(8, 3)
    queries = faces[::5]
    wanted = np.array([[0, 3, -1, 99]] * len(queries))
    for gallery in (Gallery(faces, owners), Gallery(faces, owners, hnsw_threshold=5)):
        got = gallery.class_similarity(queries, wanted)
        for row, query in zip(got, queries, strict=True):
            np.testing.assert_allclose(
                row[:2], [max(query @ faces[owners == c].T) for c in (0, 3)], atol=2e-3
            )
            assert row[2] == row[3] == -np.inf


def test_empty_and_single_class_galleries():
    empty = Gallery(np.zeros((0, 128), np.float32), np.zeros(0, np.int32))
    similarities, indices = empty.search(np.ones((2, 128)), 5)
    assert similarities.shape == indices.shape == (2, 0)
    assert empty.best_per_class(np.ones(128), 5)[1].shape == (1, 0)
    assert Gallery.from_arrays(empty.to_arrays()).size == 0
    faces, owners = _clustered(1, 4)
    _, classes = Gallery(faces, owners).best_per_class(faces, 10)
    assert (classes == 0).all()
    svm = OneVsRestSVM.fit(faces, owners)
    assert len(svm.weights) == 1 and (every_class_score(svm, faces) > 0).all()
    with pytest.raises(ValueError):
        Gallery(np.ones((2, 128)), [0])
    with pytest.raises(ValueError):
        empty.search(np.ones((1, 64)), 1)


def test_svm_ranks_the_right_person_first_on_held_out_faces():
    faces, owners = _clustered(300, 6, dim=128, seed=1)
    enrolled = np.arange(len(faces)) % 6 != 0  # one face per person held out
    svm = OneVsRestSVM.fit(faces[enrolled], owners[enrolled])
    held_out = faces[~enrolled]
    assert every_class_score(svm, held_out).shape == (300, 300)
    assert np.mean(every_class_score(svm, held_out).argmax(axis=1) == owners[~enrolled]) >= 0.98
    _, candidates = Gallery(faces[enrolled], owners[enrolled]).best_per_class(held_out, 20)
    chosen = np.take_along_axis(
        candidates, svm.scores_for(held_out, candidates).argmax(1)[:, None], 1
    )
    assert np.mean(chosen[:, 0] == owners[~enrolled]) >= 0.98


def test_svm_names_real_held_out_faces_as_nearest_neighbour_does(real_faces):
    embeddings, owners, _ = real_faces
    for held in range(len(embeddings)):
        rest = np.arange(len(embeddings)) != held
        if owners[held] not in owners[rest]:
            continue
        _, remapped = np.unique(owners[rest], return_inverse=True)
        svm = OneVsRestSVM.fit(embeddings[rest], remapped)
        best = np.unique(owners[rest])[every_class_score(svm, embeddings[held]).argmax()]
        assert best == owners[held]


def test_svm_refuses_bad_training_input():
    faces, owners = _clustered(3, 2)
    with pytest.raises(ValueError):
        OneVsRestSVM.fit(faces, owners[:-1])
    with pytest.raises(ValueError):
        OneVsRestSVM.fit(faces, owners * 2)  # classes 1, 3 have no faces
    with pytest.raises(ValueError):
        OneVsRestSVM.fit(np.zeros((0, 128)), np.zeros(0, int))
