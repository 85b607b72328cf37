"""A folder of computed projections, so the map is computed once per (vectors, method, params).

Each entry is `<method>-<key>.npy` (float32 (N, 2) coordinates) beside `<method>-<key>.json`
(the method, its full parameters and the vectors' shape and hash). The key hashes the
method, the canonical parameters (defaults filled in, so `{}` and the explicit defaults
hit the same entry) and the bytes of the vectors as float32.
"""

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from backend.projection.methods import check_fits, check_vectors, project, resolve_params

Progress = Callable[[int, int], None]


def cache_key(vectors: np.ndarray, method: str, params: dict[str, Any]) -> str:
    """Hex key of (method, canonical params, float32 vectors); `params` must be resolved."""
    digest = hashlib.sha256()
    header = {"method": method, "params": params, "shape": list(vectors.shape)}
    digest.update(json.dumps(header, sort_keys=True).encode())
    digest.update(vectors.tobytes())
    return digest.hexdigest()[:24]


def write_atomic(path: Path, write: Callable[[Any], None]) -> None:
    """Write through a temporary file in the same folder, then rename it into place, so
    a reader never sees a half-written file and a crash leaves no broken entry."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class ProjectionCache:
    """Projections computed once and then read from `folder` (created on first write)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _entry(self, vectors: Any, method: str, params: dict[str, Any] | None):
        """(checked vectors, resolved params, key, `.npy` path) of this projection; bad
        parameters raise."""
        array = check_vectors(vectors)
        resolved = resolve_params(method, params)
        check_fits(method, params, len(array))
        key = cache_key(array, method, resolved)
        return array, resolved, key, self.folder / f"{method}-{key}.npy"

    def path_for(self, vectors: Any, method: str, params: dict[str, Any] | None = None) -> Path:
        """Where the `.npy` of this projection lives (whether or not it exists yet)."""
        return self._entry(vectors, method, params)[3]

    def get_or_compute(
        self,
        vectors: Any,
        method: str,
        params: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> tuple[np.ndarray, bool]:
        """The float32 (N, 2) projection and whether it came from the cache.

        A missing, unreadable or misshapen entry is computed again and rewritten.
        `progress` gets (0, 1) before a computation and (1, 1) when done or on a hit.
        """
        array, resolved, key, npy = self._entry(vectors, method, params)
        cached = self.read(npy, len(array))
        if cached is not None:
            if progress is not None:
                progress(1, 1)
            return cached, True
        if progress is not None:
            progress(0, 1)
        coords = project(array, method, **resolved)
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "method": method,
            "params": resolved,
            "num_vectors": int(array.shape[0]),
            "dim": int(array.shape[1]),
            "key": key,
        }
        # The JSON first: an .npy present means the entry is complete.
        write_atomic(npy.with_suffix(".json"), lambda f: f.write(json.dumps(meta).encode()))
        write_atomic(npy, lambda f: np.save(f, coords, allow_pickle=False))
        if progress is not None:
            progress(1, 1)
        return coords, False

    def cached(self, vectors: Any, method: str, params: dict[str, Any] | None = None):
        """The cached projection, or None when it has not been computed (never computes)."""
        array, _, _, npy = self._entry(vectors, method, params)
        return self.read(npy, len(array))

    def entries(self) -> list[dict[str, Any]]:
        """What is cached: the metadata of each complete entry, oldest first."""
        found = []
        for npy in sorted(self.folder.glob("*.npy"), key=lambda p: p.stat().st_mtime):
            try:
                found.append(json.loads(npy.with_suffix(".json").read_text()))
            except (OSError, ValueError):
                continue
        return found

    @staticmethod
    def read(npy: Path, num_vectors: int) -> np.ndarray | None:
        """The coordinates in `npy` (a `path_for`), or None when missing or unusable."""
        return read_array(npy, (num_vectors, 2), np.float32)


def read_array(npy: Path, shape: tuple, dtype) -> np.ndarray | None:
    """The array in `npy` when it has this shape and dtype, else None (missing, unreadable
    or from something else: the caller computes it again)."""
    if not npy.is_file():
        return None
    try:
        array = np.load(npy, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return array if array.shape == shape and array.dtype == dtype else None
