"""2-D maps of semantic vectors (UMAP, t-SNE, PCA) with a disk cache, and cosine neighbours."""

from backend.projection.cache import ProjectionCache, cache_key
from backend.projection.methods import METHODS, PARAMS, project, resolve_params
from backend.projection.neighbors import all_neighbors, nearest_neighbors

__all__ = [
    "METHODS",
    "PARAMS",
    "ProjectionCache",
    "all_neighbors",
    "cache_key",
    "nearest_neighbors",
    "project",
    "resolve_params",
]
