"""ProjectionCache: hits, misses, canonical keys, atomic files, recovery from a bad entry."""

import json

import numpy as np
import pytest

from backend.projection import ProjectionCache, project
from backend.projection import cache as cache_module


@pytest.fixture
def counted(monkeypatch):
    """Counts real projections made behind the cache."""
    calls = []

    def spy(vectors, method, **params):
        calls.append((method, params))
        return project(vectors, method, **params)

    monkeypatch.setattr(cache_module, "project", spy)
    return calls


@pytest.fixture
def vectors() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)


def test_second_call_is_a_hit_and_computes_nothing(tmp_path, vectors, counted):
    cache = ProjectionCache(tmp_path / "proj")
    first, hit = cache.get_or_compute(vectors, "tsne", {"perplexity": 5})
    assert not hit and len(counted) == 1
    npy = cache.path_for(vectors, "tsne", {"perplexity": 5})
    assert npy.name.startswith("tsne-") and npy.is_file()
    stamp = npy.stat().st_mtime_ns
    again, hit = cache.get_or_compute(vectors, "tsne", {"perplexity": 5.0})
    assert hit and len(counted) == 1
    assert npy.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(first, again)
    meta = json.loads(npy.with_suffix(".json").read_text())
    assert meta["params"] == {"init": "pca", "metric": "cosine", "perplexity": 5.0, "seed": 0}
    assert meta["num_vectors"] == 40
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary files left behind


def test_defaults_spelled_out_hit_the_same_entry(tmp_path, vectors, counted):
    cache = ProjectionCache(tmp_path)
    cache.get_or_compute(vectors, "pca", None)
    _, hit = cache.get_or_compute(vectors, "pca", {})
    assert hit
    cache.get_or_compute(vectors, "tsne", {"perplexity": 5})
    _, hit = cache.get_or_compute(vectors, "tsne", {"perplexity": 5, "seed": 0, "init": "pca"})
    assert hit and len(counted) == 2


def test_changed_params_method_or_vectors_miss(tmp_path, vectors, counted):
    cache = ProjectionCache(tmp_path)
    cache.get_or_compute(vectors, "tsne", {"perplexity": 5})
    _, hit = cache.get_or_compute(vectors, "tsne", {"perplexity": 6})
    assert not hit
    _, hit = cache.get_or_compute(vectors, "tsne", {"perplexity": 5, "seed": 1})
    assert not hit
    _, hit = cache.get_or_compute(vectors, "pca", {})
    assert not hit
    changed = vectors.copy()
    changed[3, 2] += 1e-3
    _, hit = cache.get_or_compute(changed, "pca", {})
    assert not hit
    assert len(counted) == 5
    assert len(list(tmp_path.glob("*.npy"))) == 5


def test_a_corrupt_entry_is_recomputed(tmp_path, vectors, counted):
    cache = ProjectionCache(tmp_path)
    coords, _ = cache.get_or_compute(vectors, "pca")
    cache.path_for(vectors, "pca").write_bytes(b"not a numpy file")
    again, hit = cache.get_or_compute(vectors, "pca")
    assert not hit and len(counted) == 2
    np.testing.assert_array_equal(coords, again)
    _, hit = cache.get_or_compute(vectors, "pca")
    assert hit


def test_progress_is_reported(tmp_path, vectors):
    cache = ProjectionCache(tmp_path)
    calls = []
    cache.get_or_compute(vectors, "pca", progress=lambda *a: calls.append(a))
    cache.get_or_compute(vectors, "pca", progress=lambda *a: calls.append(a))
    assert calls == [(0, 1), (1, 1), (1, 1)]


def test_bad_params_fail_before_any_work(tmp_path, vectors, counted):
    with pytest.raises(ValueError, match="n_neighbors"):
        ProjectionCache(tmp_path).get_or_compute(vectors, "umap", {"n_neighbours": 3})
    assert not counted and not list(tmp_path.iterdir())


def test_chosen_parameters_that_need_more_points_are_refused(tmp_path):
    from backend.projection.methods import ProjectionParamError

    vectors = np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)
    cache = ProjectionCache(tmp_path)
    with pytest.raises(ProjectionParamError, match=r"2\.\.39"):
        cache.get_or_compute(vectors, "umap", {"n_neighbors": 40})
    with pytest.raises(ProjectionParamError, match="below 40"):
        cache.path_for(vectors, "tsne", {"perplexity": 45})
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
