"""2-D layouts of semantic vectors: UMAP, t-SNE or PCA, deterministic given a seed.

Every method has a fixed set of parameters with defaults; `resolve_params` checks a
caller's parameters and fills in the rest, giving the canonical form the cache keys on.
"""

import contextlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from backend.core.errors import SemvecError, UnknownNameError

METRICS = ("cosine", "euclidean", "correlation")
TINY = 3
"""At most this many vectors, every method gives the PCA layout: UMAP's spectral start and
t-SNE's perplexity need more points, and there is no neighbourhood to preserve anyway."""

TSNE_ONE_THREAD_MAX = 5000
"""t-SNE on at most this many vectors runs single-threaded (see `_tsne`)."""

Check = Callable[[str, Any], Any]


class ProjectionParamError(SemvecError, ValueError):
    """A projection parameter of the wrong type or out of range: the caller's to fix."""


def _integer(low: int) -> Check:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ProjectionParamError(f"{name} must be an integer >= {low}, got {value!r}")
        return int(value)

    return check


def _number(low: float, strict: bool) -> Check:
    rule = f"> {low}" if strict else f">= {low}"

    def check(name: str, value: Any) -> float:
        ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool
        )
        if not ok or not np.isfinite(value) or value < low or (strict and value == low):
            raise ProjectionParamError(f"{name} must be a number {rule}, got {value!r}")
        return float(value)

    return check


def _choice(options: tuple[str, ...]) -> Check:
    def check(name: str, value: Any) -> str:
        if value not in options:
            raise UnknownNameError(name, str(value), list(options))
        return value

    return check


# method -> parameter -> (default, check)
PARAMS: dict[str, dict[str, tuple[Any, Check]]] = {
    "umap": {
        "n_neighbors": (15, _integer(2)),
        "min_dist": (0.1, _number(0.0, strict=False)),
        "metric": ("cosine", _choice(METRICS)),
        "seed": (0, _integer(0)),
    },
    "tsne": {
        "perplexity": (30.0, _number(0.0, strict=True)),
        "metric": ("cosine", _choice(METRICS)),
        "init": ("pca", _choice(("pca", "random"))),
        "seed": (0, _integer(0)),
    },
    "pca": {},
}
METHODS = tuple(PARAMS)


def resolve_params(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """All parameters of `method`: the given ones checked, the others at their defaults.

    Raises:
        UnknownNameError: an unknown method or parameter name (the message lists the
            valid ones), or a value outside a parameter's choices.
        ValueError: a value of the wrong type or range.
    """
    if method not in PARAMS:
        raise UnknownNameError("projection method", method, list(METHODS))
    spec = PARAMS[method]
    params = dict(params or {})
    for name in params:
        if name not in spec:
            raise UnknownNameError(f"{method} parameter", name, list(spec) or ["(none)"])
    resolved = {}
    for name, (default, check) in sorted(spec.items()):
        resolved[name] = check(f"{method} parameter {name}", params.get(name, default))
    if method == "umap" and resolved["min_dist"] > 1.0:
        raise ProjectionParamError("umap parameter min_dist must be <= 1 (the default spread)")
    return resolved


def check_fits(method: str, params: dict[str, Any] | None, num_vectors: int) -> None:
    """Refuse parameters a caller chose that need more points than there are. (Defaults
    are capped quietly instead, so tiny runs still get a map with `{}`.)"""
    params = params or {}
    if method == "umap" and params.get("n_neighbors", 0) >= num_vectors:
        raise ProjectionParamError(
            f"umap parameter n_neighbors must be 2..{num_vectors - 1} for {num_vectors} "
            f"neurons, got {params['n_neighbors']}"
        )
    if method == "tsne" and params.get("perplexity", 0) >= num_vectors:
        raise ProjectionParamError(
            f"tsne parameter perplexity must be above 0 and below {num_vectors} (the number "
            f"of neurons), got {params['perplexity']:g}"
        )


def check_vectors(vectors: Any) -> np.ndarray:
    """`vectors` as a C-contiguous float32 (N, d) array; refuses other shapes and NaNs."""
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.ndim != 2 or array.shape[1] < 1:
        raise ValueError(f"vectors must be an (N, d) array with d >= 1, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("vectors contain NaN or infinity")
    return array


def project(vectors: Any, method: str = "umap", **params: Any) -> np.ndarray:
    """Lay N vectors out in 2-D; returns float32 (N, 2).

    Args:
        vectors: (N, d) array.
        method: "umap" (n_neighbors=15, min_dist=0.1, metric="cosine", seed=0),
            "tsne" (perplexity=30, metric="cosine", init="pca", seed=0; with the PCA
            start t-SNE has nothing random left, so the seed only matters with
            init="random") or "pca".
        **params: parameters of that method; see `PARAMS`.

    Results are deterministic for a given seed. Small inputs are handled as follows:
    N = 0 gives an empty (0, 2) array, N <= 3 the PCA layout whatever the method,
    UMAP's n_neighbors is capped at N - 1, t-SNE's perplexity at (N - 1) / 3 (so that it
    stays below N, as t-SNE needs), and PCA pads with zeros when the vectors span fewer
    than two dimensions.
    """
    resolved = resolve_params(method, params)
    array = check_vectors(vectors)
    if len(array) <= TINY or method == "pca":
        return _pca(array)
    if method == "umap":
        return _umap(array, **resolved)
    return _tsne(array, **resolved)


def _pca(array: np.ndarray) -> np.ndarray:
    n, d = array.shape
    out = np.zeros((n, 2), dtype=np.float32)
    components = min(2, n, d)
    if n >= 2:
        from sklearn.decomposition import PCA

        coords = PCA(n_components=components, svd_solver="full").fit_transform(array)
        out[:, :components] = coords
    return out


def _umap(array: np.ndarray, n_neighbors: int, min_dist: float, metric: str, seed: int):
    import umap  # compiles with numba on first use: slow, so only when asked for

    n_neighbors = min(n_neighbors, len(array) - 1)
    knn = _exact_cosine_knn(array, n_neighbors) if metric == "cosine" else None
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        metric=metric,
        random_state=seed,
        n_jobs=1,  # a seed makes umap single-threaded anyway; saying so silences its warning
        precomputed_knn=knn or (None, None, None),
    )
    with warnings.catch_warnings(), _torch_threads_kept():
        warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
        # we never call transform() on new data, so the missing search index is fine
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")
        return np.asarray(reducer.fit_transform(array), dtype=np.float32)


@contextlib.contextmanager
def _torch_threads_kept():
    """Numba's parallel layer shares torch's OpenMP runtime and sets its thread count to
    every core when UMAP first runs; a process that asked torch for one thread (a
    benchmark, a job on a busy machine) would silently get two from then on."""
    import torch

    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _exact_cosine_knn(array: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, None]:
    """UMAP's k-nearest-neighbour graph, computed exactly by blocked matrix products.

    Exact search over N = 10k vectors takes well under a second, while UMAP's own
    approximate search (pynndescent) spends ~25 s compiling with numba in a fresh process.
    UMAP's convention puts each point first among its own neighbours, at distance 0.
    """
    from backend.projection.neighbors import all_neighbors

    ids, sims = all_neighbors(array, k=k - 1)
    n = len(array)
    ids = np.concatenate([np.arange(n, dtype=np.int64)[:, None], ids], axis=1)
    dists = np.concatenate([np.zeros((n, 1), np.float32), np.clip(1.0 - sims, 0.0, 2.0)], 1)
    return ids, dists.astype(np.float32), None


def _tsne(array: np.ndarray, perplexity: float, metric: str, init: str, seed: int):
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    reducer = TSNE(
        n_components=2,
        perplexity=min(perplexity, (len(array) - 1) / 3),
        metric=metric,
        init=init,
        random_state=seed,
    )
    # Barnes-Hut's OpenMP loop pays a barrier per iteration; when another process holds a
    # core that cost ~40 ms x 1000 iterations, so small inputs run on one thread.
    threads = 1 if len(array) <= TSNE_ONE_THREAD_MAX else None
    with threadpool_limits(limits=threads, user_api="openmp"):
        return np.asarray(reducer.fit_transform(array), dtype=np.float32)
