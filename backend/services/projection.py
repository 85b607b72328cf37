"""2-D maps of a run's vectors, cached in the run folder by method and parameters."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.core.progress import Reporter
from backend.projection import ProjectionCache
from backend.runs.store import Run
from backend.services.clusters import cluster_run


@dataclass
class ProjectionResult:
    coords: np.ndarray
    hit: bool
    path: Path


def project_run(
    run: Run, method: str, params: dict | None = None, reporter: Reporter | None = None
) -> ProjectionResult:
    reporter = reporter or Reporter()
    reporter.stage(f"{method} map", 1)
    cache = ProjectionCache(run.projections_dir)
    vectors = run.vectors().numpy()
    coords, hit = cache.get_or_compute(vectors, method, params or {})
    reporter.advance(1, "from cache" if hit else "computed")
    cluster_run(run, reporter)  # the map's cluster outlines: one clustering for every map
    return ProjectionResult(coords, hit, cache.path_for(vectors, method, params or {}))
