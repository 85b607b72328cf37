"""What the explorer reads: run summaries, neurons, neighbours, maps. Everything comes
from run artifacts, loaded once per run (and again only when the run's files change)."""

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from pydantic_core import to_json

from backend.analysis import Analysis
from backend.core.errors import SemvecError
from backend.projection import ProjectionCache
from backend.projection.copies import copy_groups, layer_stages
from backend.projection.neighbors import nearest_to, unit_vectors
from backend.runs.store import Run, RunStore
from backend.semantic.neurons import NeuronIndex
from backend.services.analysis import load_analysis
from backend.services.image_facts import classes_differ, image_rows, model_top_classes


class NeuronNotFoundError(SemvecError, LookupError):
    pass


@dataclass
class LoadedRun:
    run: Run
    index: NeuronIndex
    vectors: np.ndarray
    analysis: Analysis | None
    quality_r: np.ndarray | None
    quality_p: np.ndarray | None
    metrics: dict
    briefs: list[dict] = field(default_factory=list)
    """`neuron_brief` of every neuron, made once per load (listing and neighbours read it)."""
    columns: dict[str, list] = field(default_factory=dict)
    columns_json: bytes = b""
    """`columns` encoded once (100k neurons take ~0.1 s to encode)."""
    unit: np.ndarray | None = None
    """The vectors scaled to unit length, for neighbour queries."""
    maps_json: dict[str, tuple[Path, int, bytes]] = field(default_factory=dict)
    """(cache file, its mtime, encoded body) of each map served, by method and params."""
    copy_group: list[str | None] = field(default_factory=list)
    """Per neuron, `stage:channel` of its residual copies (backend.projection.copies)."""
    maps_xy: dict[str, tuple[Path, int, np.ndarray]] = field(default_factory=dict)
    """(cache file, its mtime, coordinates) of each map whose neighbours were asked for."""


def _signature(folder: Path) -> tuple:
    """Changes whenever the run's artifacts are rewritten (e.g. a new analysis)."""
    names = ("run.json", "vectors.safetensors", "analysis.json", "quality.safetensors")
    return tuple((folder / n).stat().st_mtime_ns if (folder / n).exists() else 0 for n in names)


@functools.lru_cache(maxsize=8)
def _load(folder: Path, _signature: tuple) -> LoadedRun:
    run = Run(folder)
    quality = run.per_neuron_quality()
    data = LoadedRun(
        run=run,
        index=run.index(),
        vectors=run.vectors().numpy(),
        analysis=load_analysis(run),
        quality_r=quality["r"].numpy() if quality else None,
        quality_p=quality["precision"].numpy() if quality else None,
        metrics=run.metrics(),
    )
    data.briefs = _make_briefs(data)
    data.unit = unit_vectors(data.vectors)
    data.copy_group = copy_groups(data.index, layer_stages(data.index, data.unit))
    return data


class RunDamagedError(SemvecError):
    """A run whose files cannot be read (a truncated file, a malformed run.json)."""


def loaded(store: RunStore, run_id: str) -> LoadedRun:
    folder = store.folder_of(run_id)  # run.json is read only when the run is (re)loaded
    try:
        return _load(folder, _signature(folder))
    except SemvecError:
        raise
    except Exception as err:  # whatever a damaged file makes its reader raise
        raise RunDamagedError(f"run {run_id} is damaged: {damage_reason(err)}") from err


def damage_reason(err: Exception) -> str:
    """One line on what is wrong with a run's files (no server paths)."""
    from pydantic import ValidationError

    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    if isinstance(err, ValidationError):  # run.json is the one file read through a model
        first = err.errors()[0]
        text = f"run.json: {first['msg']}" + (f" at {first['loc']}" if first["loc"] else "")
    elif isinstance(err, OSError) and err.filename:
        text = f"{Path(err.filename).name}: {err.strerror or text}"
    return text[:300]


def summaries(store: RunStore) -> tuple[list[dict], list[dict]]:
    """(the summary of every readable run, {id, reason} of every damaged one)."""
    found, damaged = [], []
    for run_id in store.ids():
        try:
            found.append(run_summary(loaded(store, run_id)))
        except RunDamagedError as err:
            damaged.append(
                {"id": run_id, "reason": str(err).removeprefix(f"run {run_id} is damaged: ")}
            )
    return found, damaged


def resolve_neuron(data: LoadedRun, neuron: str) -> int:
    """A neuron by id (`17`) or name (`conv3:5`); a bad one names what is valid."""
    n = len(data.index)
    if neuron.isdigit():
        if int(neuron) >= n:
            raise NeuronNotFoundError(f"neuron id {neuron} out of range: this run has 0..{n - 1}")
        return int(neuron)
    try:
        return data.index.id_of(neuron)
    except (ValueError, SemvecError) as err:
        raise NeuronNotFoundError(
            f"no neuron {neuron!r} in run {data.run.id}: {err}; give an id 0..{n - 1} or a name "
            "like layer:channel"
        ) from err


def run_summary(data: LoadedRun) -> dict:
    meta = data.run.meta
    return {
        "id": meta.id,
        "kind": meta.kind,
        "arch": meta.arch,
        "dataset": meta.dataset.get("name"),
        "neurons": len(data.index),
        "vector_dim": meta.vector_dim,
        "created": meta.created,
        "quality": data.metrics.get("quality", {}),
        "test_accuracy": data.metrics.get("test_accuracy"),
        "analyzed": data.analysis is not None,
        "labelled": data.analysis.labelled if data.analysis is not None else None,
        "layers": [{"path": lay.path, "width": lay.width} for lay in data.index.layers],
        "classes": data.analysis.class_names if data.analysis and data.analysis.labelled else None,
        "source": meta.source,
        "warnings": data.metrics.get("warnings") or [],
        "images": _all_images(data.metrics),
        "projections": [
            {"method": e["method"], "params": e["params"]}
            for e in ProjectionCache(data.run.projections_dir).entries()
        ],
    }


def _all_images(metrics: dict) -> int | None:
    analysis = metrics.get("analysis") or {}
    return analysis.get("num_images") if analysis.get("split") == "all" else None


def columns(data: LoadedRun) -> dict[str, list]:
    """Every neuron's brief as columns (one list per field): what the map draws, compact
    enough for 100k neurons in one response."""
    if not data.columns:
        keys = ("name", "layer", "label", "selectivity", "dead", "quality_r")
        data.columns = {key: [b[key] for b in data.briefs] for key in keys}
    return data.columns


def neuron_brief(data: LoadedRun, i: int) -> dict:
    return dict(data.briefs[i])


def _values(array) -> list:
    """Plain Python values, NaN as None (one `.tolist()`, not one call per neuron)."""
    return [None if v != v else v for v in np.asarray(array, dtype=np.float64).tolist()]


def _make_briefs(data: LoadedRun) -> list[dict]:
    """Every neuron's brief, built layer by layer from whole arrays (fast for 100k)."""
    n = len(data.index)
    quality_r = _values(data.quality_r) if data.quality_r is not None else [None] * n
    quality_p = _values(data.quality_p) if data.quality_p is not None else [None] * n
    labels, selectivity, dead = [None] * n, [None] * n, [None] * n
    if data.analysis is not None:
        a = data.analysis
        if a.labelled:
            dominant = a.dominant_class.tolist()
            labels = [a.class_names[c] if a.class_names else str(c) for c in dominant]
            selectivity = a.selectivity.float().tolist()
        dead = a.dead.bool().tolist()
    briefs = []
    for layer in data.index.layers:
        for channel in range(layer.width):
            i = layer.offset + channel
            briefs.append(
                {
                    "id": i,
                    "name": f"{layer.path}:{channel}",
                    "layer": layer.path,
                    "channel": channel,
                    "label": labels[i],
                    "selectivity": selectivity[i],
                    "dead": dead[i],
                    "quality_r": quality_r[i],
                    "precision_at_10": quality_p[i],
                }
            )
    return briefs


def neuron_detail(data: LoadedRun, i: int) -> dict:
    detail = neuron_brief(data, i) | {"copy_group": data.copy_group[i]}
    a = data.analysis
    if a is None:
        empty = {"top": [], "bottom": [], "random": [], "class_means": [], "histogram": None}
        return detail | empty | {"classes": None, "labelled": None, "model_top_classes": []}
    summary = a.neuron_summary(i)
    top = image_rows(data.run, a, summary["top"])
    differ = classes_differ(data.run, a)
    return detail | {
        "top": [{"rank": r} | row for r, row in enumerate(top)],
        "bottom": image_rows(data.run, a, summary["bottom"]),
        "random": image_rows(data.run, a, summary["random"]),
        "class_means": summary["class_means"],
        "histogram": summary["histogram"],
        "classes": a.class_names if a.labelled else None,
        "labelled": a.labelled,
        "selectivity_measure": a.selectivity_measure if a.labelled else None,
        "model_classes_differ": differ,
        "model_top_classes": model_top_classes(top) if differ else [],
    }


CLASS_PREFIX = "class:"
"""`q=class:7` finds the neurons whose dominant class is 7; any other `q` is part of a name."""


def list_neurons(
    data: LoadedRun,
    layer: str | None,
    label: str | None,
    dead: bool | None,
    q: str | None,
    offset: int,
    limit: int,
) -> tuple[list[dict], int]:
    if layer is not None:
        data.index.layer(layer)  # unknown layer -> error naming the valid ones
    rows = data.briefs
    if layer is not None:
        rows = [r for r in rows if r["layer"] == layer]
    if label is not None:
        rows = [r for r in rows if r["label"] == label]
    if dead is not None:
        rows = [r for r in rows if r["dead"] is dead]
    if q and q.strip().lower().startswith(CLASS_PREFIX):
        wanted = q.strip()[len(CLASS_PREFIX) :].strip().lower()
        rows = [r for r in rows if r["label"] is not None and str(r["label"]).lower() == wanted]
    elif q:
        needle = q.strip().lower()
        rows = [r for r in rows if needle in r["name"].lower()]
    return rows[offset : offset + limit], len(rows)


def columns_json(data: LoadedRun) -> bytes:
    if not data.columns_json:
        data.columns_json = to_json(columns(data))
    return data.columns_json


def neighbors(data: LoadedRun, i: int, k: int, hide_copies: bool = False) -> list[dict]:
    """The k nearest semantic neighbours, each with its residual-copy group. With
    `hide_copies`, the query's own copies are left out and each other group is kept
    once (its nearest member), so the list holds k different neurons."""
    if not hide_copies:
        ids, sims = nearest_to(data.unit, i, k)
        return [_neighbor(data, int(j), float(s), i) for j, s in zip(ids, sims, strict=True)]
    rows, seen, asked = [], {data.copy_group[i]} - {None}, k
    while True:
        ids, sims = nearest_to(data.unit, i, asked)
        rows, groups = [], set(seen)
        for j, s in zip(ids.tolist(), sims.tolist(), strict=True):
            group = data.copy_group[j]
            if group is not None and group in groups:
                continue
            groups.add(group)
            rows.append(_neighbor(data, j, s, i))
            if len(rows) == k:
                return rows
        if asked >= len(data.unit) - 1:
            return rows
        asked = min(len(data.unit) - 1, asked * 4)


def _neighbor(data: LoadedRun, j: int, similarity: float, query: int) -> dict:
    group = data.copy_group[j]
    return neuron_brief(data, j) | {
        "similarity": similarity,
        "copy_group": group,
        "copy_of_query": group is not None and group == data.copy_group[query],
    }


def map_neighbors(data: LoadedRun, i: int, k: int, method: str, params: dict) -> list[dict]:
    """The k neurons nearest to `i` on the 2-D map (with their 64-d cosine similarity, to
    show how much the projection distorts); a map not computed yet is refused."""
    coords = map_coords(data, method, params)
    if coords is None:
        raise SemvecError(f"the {method} map with these parameters is not computed yet")
    d2 = ((coords - coords[i]) ** 2).sum(axis=1)
    d2[i] = np.inf
    k = min(k, len(d2) - 1)
    ids = np.argpartition(d2, k)[:k] if k < len(d2) else np.arange(len(d2))
    ids = ids[np.argsort(d2[ids], kind="stable")]
    sims = data.unit[ids] @ data.unit[i]
    return [
        neuron_brief(data, int(j)) | {"similarity": float(s), "distance": float(np.sqrt(d2[j]))}
        for j, s in zip(ids, sims, strict=True)
    ]


def map_coords(data: LoadedRun, method: str, params: dict) -> np.ndarray | None:
    """The cached map as an (N, 2) array, kept while its cache file is unchanged."""
    key = json.dumps([method, params], sort_keys=True)
    if (known := data.maps_xy.get(key)) is not None:
        path, mtime, coords = known
        if _mtime_ns(path) == mtime:
            return coords
    cache = ProjectionCache(data.run.projections_dir)
    path = cache.path_for(data.vectors, method, params)
    mtime = _mtime_ns(path)
    coords = cache.read(path, len(data.vectors))
    if coords is None:
        return None
    data.maps_xy[key] = (path, mtime, coords.astype(np.float64))
    return data.maps_xy[key][2]


def cached_projection(data: LoadedRun, method: str, params: dict) -> np.ndarray | None:
    """The cached 2-D map for these parameters, or None when it has to be computed.
    Bad parameters raise (projection's errors are user errors)."""
    return ProjectionCache(data.run.projections_dir).cached(data.vectors, method, params)


def projection_json(data: LoadedRun, method: str, params: dict) -> bytes | None:
    """The map's response body (ProjectionPublic), or None when it has to be computed.

    Encoded once per cache file and kept while that file is unchanged: hashing the vectors
    to find the file and encoding 10k points cost ~3 ms of CPU per request otherwise."""
    key = json.dumps([method, params], sort_keys=True)
    if (known := data.maps_json.get(key)) is not None:
        path, mtime, body = known
        if _mtime_ns(path) == mtime:
            return body
    cache = ProjectionCache(data.run.projections_dir)
    path = cache.path_for(data.vectors, method, params)
    mtime = _mtime_ns(path)  # before reading: a file rewritten meanwhile is read again
    coords = cache.read(path, len(data.vectors))
    if coords is None:
        return None
    xy = coords.astype(np.float64).round(5)  # map units: 5 decimals are far below a pixel
    body = {
        "method": method,
        "params": params,
        "ids": list(range(len(coords))),
        "x": xy[:, 0].tolist(),
        "y": xy[:, 1].tolist(),
    }
    data.maps_json[key] = (path, mtime, to_json(body))
    return data.maps_json[key][2]


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def placement(student: LoadedRun, teacher: LoadedRun, teacher_xy: np.ndarray) -> dict | None:
    """The student's neurons on the teacher's map, or None until a `place` job matched them."""
    from backend.services.placement import placement_path, student_positions

    path = placement_path(student.run, teacher.run.id)
    if not path.exists():
        return None
    placed = json.loads(path.read_text())
    xy = student_positions(placed, teacher_xy)
    t_cols, s_cols = columns(teacher), columns(student)
    match = [t_cols["name"][ids[0]] for ids in placed["top_ids"]]
    corr = [row[0] for row in placed["top_corr"]]
    for s_id, t_id, r in placed["logit_pairs"]:  # logits: matched one to one
        match[s_id], corr[s_id] = t_cols["name"][t_id], r
    return {
        "teacher": _points(teacher_xy, t_cols),
        "student": _points(xy, s_cols) | {"match": match, "corr": corr},
        "logit_pairs": [pair[:2] for pair in placed["logit_pairs"]],
        "images": placed["images"],
    }


def _points(xy: np.ndarray, cols: dict) -> dict:
    return {
        "x": xy[:, 0].astype(np.float64).round(4).tolist(),
        "y": xy[:, 1].astype(np.float64).round(4).tolist(),
        "name": cols["name"],
        "layer": cols["layer"],
    }


def top_map(data: LoadedRun, i: int, rank: int) -> tuple[int, torch.Tensor | None]:
    """(dataset index, activation map or None) of the neuron's rank-th top image."""
    if data.analysis is None:
        raise SemvecError(f"run {data.run.id} has not been analysed yet; run `semvec analyze`")
    indices = data.analysis.top_indices[i]
    if not 0 <= rank < len(indices) or int(indices[rank]) < 0:
        raise NeuronNotFoundError(f"rank must be 0..{int((indices >= 0).sum()) - 1}")
    maps = data.analysis.maps_of(i)
    return int(indices[rank]), (maps[rank].float() if maps is not None else None)


def analysed_split(data: LoadedRun) -> str:
    """The split the analysis went over: its dataset indices are the images' numbers."""
    return data.metrics.get("analysis", {}).get("split", "all")


def check_image(data: LoadedRun, index: int) -> int:
    """`index` when it numbers an image of the analysed split."""
    if data.analysis is None:
        raise SemvecError(f"run {data.run.id} has not been analysed yet; run `semvec analyze`")
    n = data.analysis.num_images
    if not 0 <= index < n:
        raise NeuronNotFoundError(f"image {index} out of range: the analysis saw 0..{n - 1}")
    return index
