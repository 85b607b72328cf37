"""A run's feature visualisations: made by `visualize` jobs, kept in the run folder and
served from there (a neuron visualised once is never optimised again).

    features/<id>.json      the neuron, its activation on each image, the dataset's
                            extremes, the settings and the input size
    features/<id>-max.png   the image that excites it most (at the model's input size)
    features/<id>-min.png   the image that suppresses it most

The JSON is written last, so a neuron counts as done only when both images are there.
"""

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from backend.analysis.feature_viz import (
    Preprocess,
    colour_matrix,
    optimise,
    settings_for,
    steps_needed,
)
from backend.core.devices import resolve_device
from backend.core.progress import Reporter
from backend.projection.cache import write_atomic
from backend.runs.store import Run
from backend.training.config import DataConfig

FOLDER = "features"
VERSION = 1
"""Bump when the optimisation changes: older images are then made again."""
COLOUR_SAMPLE = 256
COARSE_BELOW = 64
"""Inputs smaller than this many pixels a side give coarse images (the panel says so)."""
SIGNS = {"max": 1, "min": -1}


def preprocess_of(run: Run) -> tuple[Preprocess, torch.Tensor | None]:
    """What the run's model sees (its channels, size, mean and std, as the run records
    them) and the colour covariance root of a sample of its images."""
    from backend.data import load_split

    split = load_split(DataConfig.model_validate(run.meta.dataset).spec(), "test")
    pre = Preprocess(split.in_channels, split.image_size, split.mean, split.std)
    x, _, _ = next(iter(split.batches(min(COLOUR_SAMPLE, len(split)))))
    mean = torch.tensor(pre.mean).view(1, -1, 1, 1)
    std = torch.tensor(pre.std).view(1, -1, 1, 1)
    return pre, colour_matrix((x * std + mean).clamp(0, 1))


def feature_path(run: Run, neuron: int, kind: str = "json") -> Path:
    folder = run.folder / FOLDER
    return folder / (f"{neuron}.json" if kind == "json" else f"{neuron}-{kind}.png")


def feature_record(run: Run, neuron: int) -> dict | None:
    """What was recorded for the neuron's images, or None when they are not made (by this
    version of the optimisation)."""
    try:
        record = json.loads(feature_path(run, neuron).read_text())
    except (OSError, ValueError):
        return None
    return record if record.get("version") == VERSION else None


def missing(run: Run, neurons: list[int]) -> list[int]:
    return [i for i in neurons if feature_record(run, i) is None]


def _dataset_range(run: Run) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    from backend.services.analysis import load_analysis

    analysis = load_analysis(run)
    if analysis is None:
        return None, None
    return analysis.top_values[:, 0].numpy(), analysis.hist_lo.numpy()


def _png(path: Path, pixels: torch.Tensor) -> None:
    """(C, H, W) in [0, 1] as an 8-bit PNG, atomically."""
    array = (pixels.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    image = Image.fromarray(array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0))
    write_atomic(path, lambda f: image.save(f, format="PNG"))


def visualize_neurons(
    run: Run,
    neurons: list[int],
    device: str = "auto",
    steps: int | None = None,
    reporter: Reporter | None = None,
) -> list[int]:
    """Make the two images of every neuron in `neurons` that has none yet, layer by layer,
    each layer's neurons (and both signs) optimised as batches. Returns those made."""
    reporter = reporter or Reporter()
    todo = missing(run, neurons)
    if not todo:
        reporter.stage("optimising images", 0)
        return []
    dev = resolve_device(device)
    pre, colour = preprocess_of(run)
    settings = settings_for(pre.size, dev, steps)
    top, low = _dataset_range(run)
    model = run.build_model()
    index = run.index()
    (run.folder / FOLDER).mkdir(exist_ok=True)
    by_layer: dict[str, list[int]] = {}
    for i in todo:
        by_layer.setdefault(index.layer_of(i).path, []).append(i)
    total = sum(steps_needed(2 * len(ids), settings) for ids in by_layer.values())
    reporter.stage("optimising images", total)
    for path, ids in by_layer.items():
        offset = index.layer(path).offset
        channels = [i - offset for i in ids]
        result = optimise(
            model,
            path,
            channels + channels,
            [1] * len(ids) + [-1] * len(ids),
            pre,
            settings,
            colour,
            dev,
            progress=reporter.advance,
        )
        for k, i in enumerate(ids):
            _png(feature_path(run, i, "max"), result.pixels[k])
            _png(feature_path(run, i, "min"), result.pixels[len(ids) + k])
            record = {
                "version": VERSION,
                "neuron": i,
                "name": f"{path}:{channels[k]}",
                "max_activation": float(result.activation[k]),
                "min_activation": float(result.activation[len(ids) + k]),
                "dataset_max": float(top[i]) if top is not None else None,
                "dataset_min": float(low[i]) if low is not None else None,
                "size": pre.size,
                "channels": pre.channels,
                "settings": settings.to_dict(),
            }
            text = json.dumps(record).encode()
            write_atomic(feature_path(run, i), lambda f, text=text: f.write(text))
    reporter.message(f"optimised images for {len(todo)} neurons of {run.id}")
    return todo


def feature_info(run: Run, neuron: int) -> dict:
    """The FeaturePublic answer: whether the images are made and what they reach."""
    record = feature_record(run, neuron)
    if record is None:
        return {"neuron": neuron, "made": False}
    return record | {"made": True, "coarse": record["size"] < COARSE_BELOW}


def feature_image(run: Run, neuron: int, kind: str) -> np.ndarray | None:
    """uint8 (H, W) or (H, W, 3) of a made image, or None."""
    if feature_record(run, neuron) is None:
        return None
    try:
        with Image.open(feature_path(run, neuron, kind)) as image:
            return np.asarray(image)
    except OSError:
        return None
