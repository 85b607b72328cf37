"""Cosine nearest neighbours, single and batched."""

import numpy as np
import pytest

from backend.projection import all_neighbors, nearest_neighbors


@pytest.fixture
def vectors() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32)


def test_scaled_copy_is_the_mutual_nearest_neighbour(vectors):
    vectors = vectors.copy()
    vectors[200] = 7.5 * vectors[17]
    ids, sims = nearest_neighbors(vectors, 17, k=5)
    assert ids[0] == 200 and sims[0] == pytest.approx(1.0, abs=1e-5)
    ids, sims = nearest_neighbors(vectors, 200, k=5)
    assert ids[0] == 17 and sims[0] == pytest.approx(1.0, abs=1e-5)
    assert ids.dtype == np.int64 and sims.dtype == np.float32 and ids.shape == (5,)


def test_matches_brute_force_and_excludes_self(vectors):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims_all = unit @ unit.T
    np.fill_diagonal(sims_all, -np.inf)
    ids, sims = nearest_neighbors(vectors, 42, k=10)
    assert 42 not in ids
    np.testing.assert_array_equal(ids, np.argsort(-sims_all[42])[:10])
    np.testing.assert_allclose(sims, sims_all[42, ids], atol=1e-6)
    assert np.all(np.diff(sims) <= 0)


def test_all_neighbors_equals_single_queries(vectors):
    ids, sims = all_neighbors(vectors, k=8, chunk=64)  # several chunks, the last one short
    assert ids.shape == sims.shape == (300, 8)
    for i in range(0, 300, 7):
        one_ids, one_sims = nearest_neighbors(vectors, i, k=8)
        np.testing.assert_array_equal(ids[i], one_ids)
        np.testing.assert_allclose(sims[i], one_sims, atol=1e-6)
    same_ids, _ = all_neighbors(vectors, k=8, chunk=1000)
    np.testing.assert_array_equal(ids, same_ids)


def test_k_is_capped_and_zero_rows_are_safe():
    vectors = np.array([[1.0, 0.0], [0.0, 0.0], [2.0, 0.1]], dtype=np.float32)
    ids, sims = nearest_neighbors(vectors, 0, k=10)
    assert ids.tolist() == [2, 1] and sims[1] == 0.0
    ids, sims = all_neighbors(vectors, k=10)
    assert ids.shape == (3, 2) and np.isfinite(sims).all()
    ids, _ = all_neighbors(vectors[:1], k=3)
    assert ids.shape == (1, 0)


def test_bad_arguments():
    vectors = np.ones((4, 2), dtype=np.float32)
    with pytest.raises(IndexError):
        nearest_neighbors(vectors, 4, k=2)
    with pytest.raises(ValueError, match="k must"):
        nearest_neighbors(vectors, 0, k=0)
    with pytest.raises(ValueError, match="chunk"):
        all_neighbors(vectors, k=2, chunk=0)
