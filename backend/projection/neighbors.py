"""Nearest semantic neighbours by cosine similarity.

Rows of zero norm have similarity 0 to everything. A neuron is never its own neighbour;
k is capped at N - 1. `nearest_neighbors` and `all_neighbors` share one code path, so a
single query gives exactly the row `all_neighbors` gives for it.
"""

from typing import Any

import numpy as np
import torch

_MAX_BLOCK = 1 << 26
"""At most this many similarities (256 MiB of float32) exist at once in `all_neighbors`."""


def _unit_rows(vectors: Any) -> torch.Tensor:
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"vectors must be an (N, d) array, got shape {array.shape}")
    unit = torch.from_numpy(np.ascontiguousarray(array))
    return torch.nn.functional.normalize(unit, dim=1)


def unit_vectors(vectors: Any) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32: what `nearest_to` reads."""
    return _unit_rows(vectors).numpy()


def nearest_to(unit: np.ndarray, i: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """`nearest_neighbors` on rows already made unit (`unit_vectors`), for many queries on
    the same vectors: one matrix-vector product, no per-call normalisation or threads."""
    _check_k(k)
    n = len(unit)
    if not 0 <= i < n:
        raise IndexError(f"vector {i} out of range 0..{n - 1}")
    k = min(k, n - 1)
    # One 10k x 64 product is too small for BLAS threads: OpenBLAS's threads made it up to
    # 17x dearer in CPU, spinning against concurrent requests. einsum runs on this thread.
    sims = np.einsum("ij,j->i", unit, unit[i])
    sims[i] = -np.inf
    top = np.argpartition(-sims, k - 1)[:k] if k else np.zeros(0, dtype=np.int64)
    top = top[np.argsort(-sims[top], kind="stable")]
    return top.astype(np.int64), sims[top].astype(np.float32)


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")


def _block(unit: torch.Tensor, rows: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    sims = unit[rows] @ unit.t()
    sims[torch.arange(len(rows)), rows] = float("-inf")
    return sims.topk(k, dim=1)


def nearest_neighbors(vectors: Any, i: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The k vectors most cosine-similar to vector `i`, excluding `i` itself.

    Returns:
        ids int64 (k,) and similarity float32 (k,), most similar first.
    """
    _check_k(k)
    unit = _unit_rows(vectors)
    n = len(unit)
    if not 0 <= i < n:
        raise IndexError(f"vector {i} out of range 0..{n - 1}")
    k = min(k, n - 1)
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    sims, ids = _block(unit, torch.tensor([i]), k)
    return ids[0].numpy(), sims[0].numpy()


def all_neighbors(vectors: Any, k: int = 10, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """`nearest_neighbors` for every vector: ids int64 (N, k) and similarity float32 (N, k).

    Works through at most `chunk` rows at a time (fewer when N is so large that a block
    would exceed 2**26 similarities), so memory stays bounded for N = 100k and more.
    """
    _check_k(k)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    unit = _unit_rows(vectors)
    n = len(unit)
    k = min(k, max(n - 1, 0))
    ids = np.zeros((n, k), dtype=np.int64)
    sims = np.zeros((n, k), dtype=np.float32)
    if k == 0:
        return ids, sims
    step = max(1, min(chunk, _MAX_BLOCK // n))
    for start in range(0, n, step):
        rows = torch.arange(start, min(start + step, n))
        block_sims, block_ids = _block(unit, rows, k)
        ids[start : start + len(rows)] = block_ids.numpy()
        sims[start : start + len(rows)] = block_sims.numpy()
    return ids, sims
