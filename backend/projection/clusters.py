"""Clusters of semantic vectors: HDBSCAN in the vectors' own d-dimensional space, cached.

The vectors are scaled to unit length first, so Euclidean distance orders pairs as cosine
similarity does (what the neighbours and the map use). Labels are -1 for neurons in no
cluster, else 0, 1, ... with cluster 0 the largest. They do not depend on the 2-D map:
one clustering serves every projection of the same vectors.

Each entry is `clusters/hdbscan-<key>.npy` (int32 (N,) labels) beside its `.json`, keyed
as the projections are (backend.projection.cache.cache_key).
"""

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from backend.projection.cache import cache_key, read_array, write_atomic
from backend.projection.methods import check_vectors
from backend.projection.neighbors import unit_vectors

MIN_SAMPLES = 3
"""HDBSCAN's density neighbourhood: small, so that fewer neurons fall out as noise."""
FIT_MAX = 20_000
"""Above this many vectors, HDBSCAN fits a seeded sample of this size and every other
vector takes the label of its nearest sampled vector (HDBSCAN's cost grows faster than N)."""


def default_min_size(num_vectors: int) -> int:
    """The smallest cluster: about sqrt(N) / 2 (5 for the 234 digits neurons, 50 for 10k),
    so a map shows tens of clusters, not hundreds."""
    return int(np.clip(round(np.sqrt(max(num_vectors, 1)) / 2), 5, 100))


def cluster_vectors(vectors: Any, min_size: int | None = None, seed: int = 0) -> np.ndarray:
    """int32 (N,) cluster of each vector (-1: none), numbered by size, largest first."""
    array = unit_vectors(check_vectors(vectors))
    n = len(array)
    min_size = min_size or default_min_size(n)
    if n < 2 * min_size:
        return np.full(n, -1, dtype=np.int32)
    if n <= FIT_MAX:
        labels = _hdbscan(array, min_size)
    else:
        sample = np.sort(np.random.default_rng(seed).choice(n, FIT_MAX, replace=False))
        labels = _nearest_label(array, sample, _hdbscan(array[sample], min_size))
    return _by_size(labels)


def _hdbscan(array: np.ndarray, min_size: int) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # `copy`'s default changes in 1.10
        model = HDBSCAN(min_cluster_size=min_size, min_samples=MIN_SAMPLES, copy=True)
        return model.fit_predict(array.astype(np.float64))


def _nearest_label(array: np.ndarray, sample: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every vector's label: the sampled ones keep theirs, the others take the label of
    the most similar sampled vector (blocked products, as backend.projection.neighbors)."""
    out = np.empty(len(array), dtype=np.int64)
    fitted = array[sample]
    for start in range(0, len(array), 4096):
        block = array[start : start + 4096] @ fitted.T
        out[start : start + 4096] = labels[block.argmax(axis=1)]
    out[sample] = labels
    return out


def _by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters by size (largest 0), ties by first member; noise stays -1."""
    out = np.full(len(labels), -1, dtype=np.int32)
    found = np.unique(labels[labels >= 0])
    order = sorted(found, key=lambda c: (-(labels == c).sum(), np.argmax(labels == c)))
    for new, old in enumerate(order):
        out[labels == old] = new
    return out


class ClusterCache:
    """Clusterings computed once and then read from `folder` (created on first write)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _entry(self, vectors: Any, min_size: int | None) -> tuple[np.ndarray, dict, Path]:
        array = check_vectors(vectors)
        params = {"min_size": min_size or default_min_size(len(array))}
        params["min_samples"] = MIN_SAMPLES
        key = cache_key(array, "hdbscan", params)
        return array, params, self.folder / f"hdbscan-{key}.npy"

    def path_for(self, vectors: Any, min_size: int | None = None) -> Path:
        """Where the labels of this clustering live (whether or not they exist yet)."""
        return self._entry(vectors, min_size)[2]

    def cached(self, vectors: Any, min_size: int | None = None) -> np.ndarray | None:
        """The labels when this clustering is cached, else None (never computes)."""
        array, _params, npy = self._entry(vectors, min_size)
        return self.read(npy, len(array))

    def get_or_compute(self, vectors: Any, min_size: int | None = None) -> tuple[np.ndarray, bool]:
        """(labels, whether they came from the cache)."""
        array, params, npy = self._entry(vectors, min_size)
        found = self.read(npy, len(array))
        if found is not None:
            return found, True
        labels = cluster_vectors(array, params["min_size"])
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = {"method": "hdbscan", "params": params, "num_vectors": len(array)}
        meta["clusters"] = int(labels.max()) + 1
        write_atomic(npy.with_suffix(".json"), lambda f: f.write(json.dumps(meta).encode()))
        write_atomic(npy, lambda f: np.save(f, labels, allow_pickle=False))
        return labels, False

    @staticmethod
    def read(npy: Path, num_vectors: int) -> np.ndarray | None:
        return read_array(npy, (num_vectors,), np.int32)
