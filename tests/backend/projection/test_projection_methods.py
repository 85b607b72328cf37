"""Projection methods: shapes, determinism, PCA against sklearn, parameter checks, tiny N."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.decomposition import PCA

from backend.core.errors import UnknownNameError
from backend.projection import project, resolve_params


def clustered(n: int = 200, d: int = 16, seed: int = 0) -> np.ndarray:
    """n vectors around 4 well-separated centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, d)) * 5
    return (centres[np.arange(n) % 4] + rng.normal(size=(n, d))).astype(np.float32)


def test_pca_matches_sklearn_up_to_sign():
    vectors = clustered()
    coords = project(vectors, "pca")
    expected = PCA(n_components=2).fit_transform(vectors)
    assert coords.shape == (200, 2) and coords.dtype == np.float32
    for axis in range(2):
        sign = np.sign(coords[:, axis] @ expected[:, axis])
        np.testing.assert_allclose(coords[:, axis], sign * expected[:, axis], atol=1e-3)


def test_tsne_is_deterministic_for_a_seed_and_keeps_clusters():
    vectors = clustered(n=120)
    first = project(vectors, "tsne", perplexity=10)
    assert first.shape == (120, 2) and first.dtype == np.float32
    np.testing.assert_array_equal(first, project(vectors, "tsne", perplexity=10))
    # The default PCA start leaves t-SNE nothing random; with a random start the seed counts.
    assert np.array_equal(first, project(vectors, "tsne", perplexity=10, seed=1))
    shuffled = project(vectors, "tsne", perplexity=10, init="random")
    np.testing.assert_array_equal(shuffled, project(vectors, "tsne", perplexity=10, init="random"))
    assert not np.array_equal(
        shuffled, project(vectors, "tsne", perplexity=10, init="random", seed=1)
    )
    _assert_clusters_separate(first)


@pytest.mark.slow
def test_umap_is_deterministic_for_a_seed_and_keeps_clusters():
    vectors = clustered()
    first = project(vectors, "umap")
    assert first.shape == (200, 2) and first.dtype == np.float32
    np.testing.assert_array_equal(first, project(vectors, "umap"))
    assert not np.array_equal(first, project(vectors, "umap", seed=3))
    _assert_clusters_separate(first)


def _assert_clusters_separate(coords: np.ndarray) -> None:
    """Each point's nearest 2-D neighbour belongs to its own cluster (labels i % 4)."""
    labels = np.arange(len(coords)) % 4
    dist = np.linalg.norm(coords[:, None] - coords[None], axis=2)
    np.fill_diagonal(dist, np.inf)
    assert (labels[dist.argmin(axis=1)] == labels).mean() > 0.95


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_tiny_inputs(method, n):
    vectors = clustered(n=max(n, 1))[:n]
    coords = project(vectors, method)
    assert coords.shape == (n, 2) and coords.dtype == np.float32
    assert np.isfinite(coords).all()
    if n == 1:
        assert np.array_equal(coords, np.zeros((1, 2), dtype=np.float32))
    if n >= 2:
        assert len({tuple(row) for row in coords.tolist()}) == n  # distinct points stay apart


def test_few_points_cap_perplexity():
    coords = project(clustered(n=6), "tsne")  # perplexity 30 > N: capped, not refused
    assert coords.shape == (6, 2) and np.isfinite(coords).all()


def test_one_dimensional_vectors_pad_with_zeros():
    coords = project(np.arange(5, dtype=np.float32)[:, None], "pca")
    assert np.all(coords[:, 1] == 0) and np.ptp(coords[:, 0]) == pytest.approx(4.0)


def test_resolve_params_fills_defaults():
    assert resolve_params("umap") == {
        "metric": "cosine",
        "min_dist": 0.1,
        "n_neighbors": 15,
        "seed": 0,
    }
    assert resolve_params("tsne", {"perplexity": 5})["perplexity"] == 5.0
    assert resolve_params("pca", {}) == {}


@pytest.mark.parametrize(
    ("method", "params", "error", "names"),
    [
        ("isomap", {}, UnknownNameError, "umap, tsne, pca"),
        ("umap", {"neighbours": 5}, UnknownNameError, "n_neighbors"),
        ("pca", {"seed": 0}, UnknownNameError, "(none)"),
        ("umap", {"metric": "hamming"}, UnknownNameError, "cosine"),
        ("umap", {"n_neighbors": 1}, ValueError, ">= 2"),
        ("umap", {"n_neighbors": 7.5}, ValueError, "integer"),
        ("umap", {"seed": True}, ValueError, "integer"),
        ("tsne", {"perplexity": 0}, ValueError, "> 0"),
        ("tsne", {"perplexity": float("nan")}, ValueError, "> 0"),
        ("tsne", {"init": "spectral"}, UnknownNameError, "pca, random"),
    ],
)
def test_bad_methods_and_params_name_the_choices(method, params, error, names):
    with pytest.raises(error) as info:
        project(clustered(n=10), method, **params)
    assert names in str(info.value)


def test_bad_vectors_are_refused():
    with pytest.raises(ValueError, match="shape"):
        project(np.zeros(5), "pca")
    with pytest.raises(ValueError, match="NaN"):
        project(np.array([[0.0, np.nan], [1.0, 2.0]]), "pca")


def test_umap_leaves_torch_on_the_threads_it_was_given():
    """Numba's parallel layer shares torch's OpenMP runtime; on its first run in a process
    it used to set torch to every core. A fresh process, so that numba starts here."""
    script = (
        "import numpy as np, torch\n"
        "torch.set_num_threads(1)\n"
        "from backend.projection import project\n"
        "rng = np.random.default_rng(0)\n"
        "project(rng.normal(size=(60, 8)).astype(np.float32), 'umap', n_neighbors=5)\n"
        "print('threads', torch.get_num_threads())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.split()[-2:] == ["threads", "1"], out.stdout + out.stderr
