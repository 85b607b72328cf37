"""A run's clusters as the map draws them: members, a label from what they share, and an
outline on a given 2-D map.

The clustering is made by the `project` job beside the map (`cluster_run`) and read here;
the label and the outline are cheap and made per request from cached arrays.
"""

import json
from collections import Counter
from pathlib import Path

import numpy as np
from pydantic_core import to_json

from backend.core.progress import Reporter
from backend.projection.clusters import ClusterCache, default_min_size
from backend.runs.store import Run

SHARE = 0.2
"""A class or layer names a cluster when it holds at least this share of it."""
MAX_CLASSES, MAX_LAYERS = 3, 2
CORE = 0.85
"""The outline goes round this share of a cluster's points on the map, the ones nearest to
its centre there: a cluster of the d-dimensional space can have a few members far away on
a 2-D map, and one hull round them all would cover the map."""
OUTLINE_POINTS = 48
"""Points along each outline (evenly spaced), so that a hover anywhere on it finds one."""


def cluster_cache(run: Run) -> ClusterCache:
    return ClusterCache(run.folder / "clusters")


def cluster_run(run: Run, reporter: Reporter | None = None) -> np.ndarray:
    """Cluster the run's vectors (cached; a second call reads the cache)."""
    reporter = reporter or Reporter()
    reporter.stage("clusters", 1)
    labels, hit = cluster_cache(run).get_or_compute(run.vectors().numpy())
    reporter.advance(1, "from cache" if hit else f"{int(labels.max()) + 1} found")
    return labels


def label_of(members: list[int], columns: dict) -> tuple[str, list[str], list[str]]:
    """(label, its classes, its layers): the dominant classes of the members, weighted by
    their selectivity (a neuron that barely prefers its class says little), and the layers
    they sit in, each kept when it holds SHARE of the cluster: `3, 8 · conv3`."""
    weights: Counter = Counter()
    for i in members:
        if columns["label"][i] is not None:
            weights[str(columns["label"][i])] += max(columns["selectivity"][i] or 0.0, 1e-3)
    total = sum(weights.values())
    classes = [c for c, w in weights.most_common(MAX_CLASSES) if total and w >= SHARE * total]
    layers_count = Counter(columns["layer"][i] for i in members)
    layers = [lay for lay, n in layers_count.most_common(MAX_LAYERS) if n >= SHARE * len(members)]
    more = len([n for n in layers_count.values() if n >= SHARE * len(members)]) - len(layers)
    layer_text = ", ".join(layers) + (f" +{more}" if more > 0 else "")
    class_text = (", ".join(classes) or "mixed classes") if total else None  # None: no labels
    label = " · ".join(t for t in (class_text, layer_text or "several layers") if t)
    return label, classes, layers


def _hull(points: np.ndarray) -> np.ndarray:
    """The convex hull's corners in order (a box for fewer than 3 or collinear points)."""
    from scipy.spatial import ConvexHull, QhullError

    if len(np.unique(points, axis=0)) >= 3:
        try:
            return points[ConvexHull(points).vertices]
        except QhullError:
            pass  # all on one line
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def outline(points: np.ndarray, pad: float) -> tuple[np.ndarray, int]:
    """(OUTLINE_POINTS x 2 closed outline round the core of `points`, members left outside)."""
    centre = np.median(points, axis=0)
    dist = np.linalg.norm(points - centre, axis=1)
    keep = dist <= np.quantile(dist, CORE) if len(points) >= 10 else np.ones(len(points), bool)
    corners = _hull(points[keep])
    middle = corners.mean(axis=0)
    away = corners - middle
    norms = np.linalg.norm(away, axis=1, keepdims=True)
    corners = corners + pad * away / np.where(norms > 0, norms, 1)  # off the points a little
    ring = np.vstack([corners, corners[:1]])
    steps = np.linalg.norm(np.diff(ring, axis=0), axis=1)
    at = np.concatenate([[0], np.cumsum(steps)])
    wanted = np.linspace(0, at[-1], OUTLINE_POINTS) if at[-1] > 0 else np.zeros(OUTLINE_POINTS)
    path = np.stack([np.interp(wanted, at, ring[:, 0]), np.interp(wanted, at, ring[:, 1])], 1)
    return path, int((~keep).sum())


def clusters_body(labels: np.ndarray, columns: dict, coords: np.ndarray, meta: dict) -> bytes:
    """The ClustersPublic answer: each cluster's members, label and outline on `coords`."""
    span = float(np.ptp(coords, axis=0).max()) if len(coords) else 1.0
    pad = 0.015 * (span or 1.0)
    found = []
    for c in range(int(labels.max()) + 1 if len(labels) else 0):
        members = np.flatnonzero(labels == c)
        label, classes, layers = label_of(members.tolist(), columns)
        path, outside = outline(coords[members].astype(np.float64), pad)
        top = path[int(np.argmax(path[:, 1]))]
        found.append(
            {
                "id": c,
                "label": f"#{c + 1} {label}",
                "classes": classes,
                "layers": layers,
                "size": len(members),
                "members": members.tolist(),
                "outline": {"x": path[:, 0].round(4).tolist(), "y": path[:, 1].round(4).tolist()},
                "anchor": [round(float(top[0]), 4), round(float(top[1]), 4)],
                "outside": outside,
            }
        )
    body = meta | {
        "neurons": len(labels),
        "unclustered": int((labels < 0).sum()),
        "min_size": default_min_size(len(labels)),
        "clusters": found,
    }
    return to_json(body)


_BODIES: dict[tuple, bytes] = {}
"""Answers made, by (run folder, map, labels file stamp, coordinates array): a few kept."""


def clusters_json(data, method: str, params: dict) -> bytes | None:
    """The clusters on this map of a loaded run (`backend.services.explorer.LoadedRun`),
    or None while the map or the clustering is not computed yet."""
    from backend.services.explorer import columns, map_coords

    coords = map_coords(data, method, params)
    npy = _labels_path(data)
    stamp = _mtime_ns(npy)
    if coords is None or stamp is None:
        return None
    key = (str(data.run.folder), json.dumps([method, params], sort_keys=True), stamp, id(coords))
    if key not in _BODIES:
        labels = ClusterCache.read(npy, len(data.vectors))
        if labels is None:
            return None
        while len(_BODIES) >= 16:
            _BODIES.pop(next(iter(_BODIES)))
        meta = {"method": method, "params": params}
        _BODIES[key] = clusters_body(labels, columns(data), coords, meta)
    return _BODIES[key]


_PATHS: dict[tuple, Path] = {}


def _labels_path(data) -> Path:
    """Where the run's clustering lives (hashing 10k vectors costs ms: once per load)."""
    key = (str(data.run.folder), _mtime_ns(data.run.folder / "vectors.safetensors"))
    if key not in _PATHS:
        if len(_PATHS) > 64:
            _PATHS.clear()
        _PATHS[key] = cluster_cache(data.run).path_for(data.vectors)
    return _PATHS[key]


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
