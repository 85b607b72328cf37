"""What the work inside a job costs on a CPU: a network pass over images, an optimiser
step, a worker's start. The constants were measured on 2 CPU cores with
`python -m bench.estimates` (docs/benchmarks.md, "Job cost estimates"); the kinds'
estimates (backend.jobs.estimate) add them up."""

import json
from dataclasses import dataclass
from functools import lru_cache

START_S = 3.5
"""A worker's start: its process, torch's import, the model's build, the data's load."""
RUN_MODEL_S = 1.5
"""Opening a run's model for a job that reads one (its weights, its held-out images)."""
FLOPS_PER_S = 100e9
"""Forward FLOPs (as torch's FlopCounterMode counts them) a second of a network pass on one
core (a backward pass costs two more): the digits CNN trains at about 90e9, a 224-px
ResNet-50 step of optimised images ran at about 110e9 a thread."""
IMAGE_S = 4e-5
"""Per image and pass besides the arithmetic: reading, augmenting, small-tensor overhead."""
ANALYSIS_IMAGE_S = 6e-4
"""Per image of a run's analysis besides its network pass: every neuron's top images,
histogram and class selectivity."""
STEP_S = 1.5e-3
"""Per optimiser step besides its images: the update, the loss, Python."""
ALIGN_STEP_S = 3.2e-3
"""One step fitting the semantic vectors (a batch of activations, a few matrix products)."""
MAP_NEURON_S = {"umap": 2e-3, "tsne": 1e-3, "pca": 1e-5}
"""Per neuron of a 2-D map (UMAP of 10,000 neurons took 14 s, docs/benchmarks.md)."""
MAP_START_S = {"umap": 7.0, "tsne": 0.5, "pca": 0.5}
"""numba's compilation (UMAP), the first iterations."""
GPU_SPEEDUP = 10.0
"""A CUDA device is taken to be this much faster: a guess, not measured here; a GPU
server whose jobs are refused too early raises SEMVEC_MAX_JOB_HOURS."""


@dataclass(frozen=True)
class DataFacts:
    """What a dataset holds, for costing: images per split, side, channels."""

    train: int
    test: int
    all: int
    size: int
    channels: int


@lru_cache(maxsize=32)
def _data_facts(data_json: str) -> DataFacts:
    from backend.data import load_splits
    from backend.training.config import DataConfig

    spec = DataConfig.model_validate_json(data_json).spec()
    names = ("train", "val", "test")
    splits = dict(zip(names, load_splits(spec, names), strict=True))
    test = splits["test"]
    return DataFacts(
        train=len(splits["train"]),
        test=len(test),
        all=sum(len(s) for s in splits.values()),
        size=test.image_size,
        channels=test.in_channels,
    )


def data_facts(data: dict) -> DataFacts | None:
    """The facts of a dataset config (a run's `dataset`, a job's `data`); None when it
    cannot be read now (the job's own checks say why)."""
    try:
        return _data_facts(json.dumps(data, sort_keys=True))
    except Exception:  # any loader's error: no estimate rather than a refused job
        return None


@lru_cache(maxsize=64)
def _forward_flops(arch: str, kwargs_json: str, channels: int, size: int) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from backend.services.models import build_model

    with torch.device("meta"):
        model = build_model(arch, json.loads(kwargs_json)).eval()  # one image: no batch stats
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.empty(1, channels, size, size))
    return float(counter.get_total_flops())


def forward_flops(arch: str, kwargs: dict, channels: int, size: int) -> float | None:
    """FLOPs of one image's forward pass, counted on the meta device (no memory, no
    weights); None for a model that does not build or run there."""
    try:
        return _forward_flops(arch, json.dumps(kwargs, sort_keys=True), channels, size)
    except Exception:  # a builder or a forward that the meta device cannot run
        return None


def pass_s(flops: float, images: int, backward: bool = False) -> float:
    """Seconds of one pass of `images` through a network of `flops` a forward pass."""
    per_image = flops * (3 if backward else 1) / FLOPS_PER_S + IMAGE_S
    return images * per_image


def on_device(seconds: float, device: str) -> float:
    from backend.core.devices import resolve_device

    try:
        cuda = resolve_device(device).type == "cuda"
    except Exception:  # the kind's own check refuses a device that does not exist
        cuda = False
    return seconds / GPU_SPEEDUP if cuda else seconds
