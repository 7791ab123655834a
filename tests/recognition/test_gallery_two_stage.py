"""Above the threshold a gallery searches in two stages (the people whose projected mean faces
are nearest, then exactly their faces); below it, and for small galleries, exactly."""

import numpy as np
import pytest

from recognition.gallery import PEOPLE_DIMS, SHORTLIST_PEOPLE, Gallery, decode, encode


def _unit(rows):
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _clustered(people, per_person, dim=256, seed=0):
    """As benchmarks/gallery.py: centres sharing a common direction (cosine ~0.12 between two
    people), faces = centre + noise (same-person cosine ~0.6); one probe per person."""
    rng = np.random.default_rng(seed)
    centres = _unit(
        _unit(rng.standard_normal((people, dim))) + 0.5 * _unit(rng.standard_normal((1, dim)))
    )

    def around(owners):
        return _unit(
            centres[owners] + rng.standard_normal((len(owners), dim)) * (0.8 / np.sqrt(dim))
        )

    owners = np.repeat(np.arange(people), per_person)
    return around(owners), owners, around(np.arange(people))


def _brute_force(faces, queries, k):
    similarities = _unit(queries) @ decode(encode(faces)).T
    order = np.argsort(-similarities, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(similarities, order, axis=1), order


@pytest.fixture(scope="module")
def thousands():
    """3,000 people x 4 faces = 12,000 faces, 300 probes of people enrolled."""
    faces, owners, probes = _clustered(3000, 4)
    return faces, owners, probes[::10], np.arange(3000)[::10]


def test_two_stages_name_the_same_person_as_exact_search(thousands):
    faces, owners, probes, _ = thousands
    exact = Gallery(faces, owners)
    staged = Gallery(faces, owners, hnsw_threshold=1000)
    assert exact.index == "exact" and staged.index == "people"
    s_exact, c_exact = exact.best_per_class(probes, 20)
    s_staged, c_staged = staged.best_per_class(probes, 20)
    np.testing.assert_array_equal(c_staged[:, 0], c_exact[:, 0])
    np.testing.assert_allclose(s_staged[:, 0], s_exact[:, 0], atol=1e-6)
    s_exact, f_exact = exact.search(probes, 10)
    sims, f_staged = staged.search(probes, 10)
    # Every face that resembles the probe is found (another person's faces lie at ~0.12 +- 0.06:
    # which of those is 10th is chance that no mean predicts, so they are not asked for).
    for near, found in zip(np.where(s_exact >= 0.4, f_exact, -1), f_staged, strict=True):
        assert set(near[near >= 0]) <= set(found)
    assert (np.diff(sims, axis=1) <= 0).all()
    # Every face found is scored exactly, as exact search scores it.
    np.testing.assert_allclose(
        sims, np.take_along_axis(probes @ exact.embeddings.T, f_staged, 1), atol=1e-6
    )


def test_the_first_stage_proposes_each_probes_own_person(thousands):
    faces, owners, probes, people = thousands
    staged = Gallery(faces, owners, hnsw_threshold=1000)
    _, classes = staged.best_per_class(probes, 20)
    assert np.mean(classes[:, 0] == people) >= 0.99
    # The class_similarity of the person found equals exact search's best face of theirs.
    best = staged.class_similarity(probes, classes[:, :1])[:, 0]
    for probe, person, value in zip(probes[:20], classes[:20, 0], best[:20], strict=True):
        np.testing.assert_allclose(
            value, (decode(encode(faces[owners == person])) @ probe).max(), atol=1e-6
        )


def test_small_galleries_stay_exact():
    faces, owners, probes = _clustered(50, 4)
    for threshold in (len(faces), 10**6):  # at the threshold, or far below it: exact
        gallery = Gallery(faces, owners, hnsw_threshold=threshold)
        assert gallery.index == "exact" and "gallery_people" not in gallery.to_arrays()
        similarities, found = gallery.search(probes, 7)
        expected_s, expected_f = _brute_force(faces, probes, 7)
        np.testing.assert_array_equal(found, expected_f)
        np.testing.assert_allclose(similarities, expected_s, atol=1e-6)


def test_a_shortlist_of_every_person_is_exact_search():
    """Fewer people than the shortlist: the first stage keeps them all, so nothing is missed."""
    faces, owners, probes = _clustered(SHORTLIST_PEOPLE // 2, 3)
    staged = Gallery(faces, owners, hnsw_threshold=5)
    assert staged.index == "people"
    similarities, found = staged.search(probes, len(faces))
    expected_s, expected_f = _brute_force(faces, probes, len(faces))
    np.testing.assert_allclose(similarities, expected_s, atol=1e-6)
    np.testing.assert_array_equal(np.sort(found, axis=1), np.sort(expected_f, axis=1))


def test_classes_with_gaps_and_uneven_faces():
    faces, owners, probes = _clustered(300, 3)
    owners = owners * 3 + 7  # classes 7, 10, ...: most class numbers have no faces
    faces, owners = faces[: 300 * 3 - 5], owners[: 300 * 3 - 5]  # the last people have fewer
    staged = Gallery(faces, owners, hnsw_threshold=100)
    _, classes = staged.best_per_class(probes, 20)
    _, expected = Gallery(faces, owners).best_per_class(probes, 20)
    np.testing.assert_array_equal(classes[:, 0], expected[:, 0])


def test_the_first_stage_reads_back_bit_for_bit_and_refuses_arrays_that_do_not_fit():
    faces, owners, probes = _clustered(400, 3, dim=512)
    staged = Gallery(faces, owners, hnsw_threshold=100)
    arrays = staged.to_arrays()
    assert arrays["gallery_people_means"].shape == (400, PEOPLE_DIMS)
    loaded = Gallery.from_arrays(arrays)
    for before, after in zip(staged.search(probes, 9), loaded.search(probes, 9), strict=True):
        np.testing.assert_array_equal(before, after)
    for name, value in [
        ("gallery_people", arrays["gallery_people"][:-1]),
        ("gallery_people_basis", arrays["gallery_people_basis"].astype(np.float64)),
        ("gallery_people_means", arrays["gallery_people_means"][:, :5]),
    ]:
        with pytest.raises(ValueError, match="people arrays"):
            Gallery.from_arrays(arrays | {name: value})


def test_a_model_with_a_graph_over_every_face_still_loads():
    """Models written before the two stages hold an HNSW graph of faces and no codes."""
    faces, owners, probes = _clustered(200, 3)
    arrays = Gallery(faces, owners, hnsw_threshold=100, large="graph").to_arrays()
    assert "gallery_codes" not in arrays and "gallery_hnsw_index" in arrays
    loaded = Gallery.from_arrays(arrays)
    assert loaded.index == "hnsw"
    _, classes = loaded.best_per_class(probes, 20)
    assert np.mean(classes[:, 0] == np.arange(200)) >= 0.95
