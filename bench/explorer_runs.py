"""The runs that bench/explorer.py opens, made once and kept under bench/out/explorer-home/.

- `RUN_10K`: torchvision ResNet-50 (small stem) trained on the 8x8 digits by semvec's own
  trainer (`train_run`: 30 epochs at lr 0.01, the vectors fitted alongside on detached
  activations, then 400 alignment steps on the frozen model: the `align_frozen` that a
  post hoc alignment runs), probing 9,994 channels; analysed with `analyze_run`, mapped with
  `project_run(..., "umap")`. No pretrained weights can be downloaded here, and a
  random-init network gives a map without structure (one round blob), unlike real runs.
- `RUN_100K`: 100,000 neurons tiled from `RUN_10K` (no registered model has that many
  channels): every layer is 10x wider (the widest one 60 more), each new neuron copies a
  neuron of its layer (vector plus 15 % Gaussian noise, analysis and quality as they are),
  written through `RunStore.writer` and `Analysis.save`, then mapped with `project_run`.

The names carry a version: change one of the recipes below and bump it, and the next
bench builds afresh instead of reusing a run made by the old recipe.
"""

import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from backend.analysis import Analysis
from backend.core.progress import TqdmReporter
from backend.runs.store import Run, RunStore
from backend.semantic.neurons import NeuronIndex
from backend.services.analysis import analyze_run, load_analysis
from backend.services.projection import project_run
from backend.services.vectors import train_run
from backend.training.config import AlignConfig, AnalyzeConfig, DataConfig, TrainConfig

HOME = Path(__file__).parent / "out" / "explorer-home"
RUN_10K = "bench-resnet50-10k-v2"
RUN_100K = "bench-tiled-100k-v2"
EPOCHS = 30
LR = 0.01
ALIGN_STEPS = 400
# layer1 (3 x 256) + layer2 (4 x 512) + layer3.0-4 (5 x 1024) + layer4.2 (2048) + fc (10)
LAYERS_10K = [
    *(f"layer1.{i}" for i in range(3)),
    *(f"layer2.{i}" for i in range(4)),
    *(f"layer3.{i}" for i in range(5)),
    "layer4.2",
    "fc",
]
TILED_NEURONS = 100_000
NOISE = 0.15


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def ensure_runs(home: Path = HOME) -> dict[str, float]:
    """Make whatever run is missing; returns the seconds each build took (0: reused)."""
    store = RunStore(home)
    for stale in set(store.ids()) - {RUN_10K, RUN_100K}:  # made by an older recipe
        shutil.rmtree(store.runs_dir / stale)
    took = {}
    for run_id, build in ((RUN_10K, _build_10k), (RUN_100K, _build_100k)):
        started = time.perf_counter()
        if run_id in store.ids():
            took[run_id] = 0.0
            continue
        log(f"building {run_id} (once; later benches reuse it) ...")
        build(store, home)
        took[run_id] = time.perf_counter() - started
        log(f"built {run_id} in {took[run_id]:.0f} s")
    return took


def _build_10k(store: RunStore, home: Path) -> Run:
    reporter = TqdmReporter()
    cfg = TrainConfig(
        arch="resnet50",
        data=DataConfig(name="digits"),
        layers=LAYERS_10K,
        epochs=EPOCHS,
        lr=LR,
        device="cpu",
        align=AlignConfig(steps=ALIGN_STEPS),
    )
    run = train_run(cfg, name=RUN_10K, reporter=reporter, home=home)
    analyze_run(run, AnalyzeConfig(device="cpu"), reporter=reporter)
    project_run(run, "umap", {}, reporter)
    reporter.close()
    return run


def _build_100k(store: RunStore, home: Path) -> Run:
    source = store.open(RUN_10K)
    analysis = load_analysis(source)
    index = source.index()
    layers, src = _tiled_layers(index)
    new_index = NeuronIndex.from_dict(layers)
    rng = np.random.default_rng(0)
    vectors = source.vectors().numpy()[src]
    scale = NOISE * np.linalg.norm(vectors, axis=1, keepdims=True) / np.sqrt(vectors.shape[1])
    vectors = vectors + scale * rng.standard_normal(vectors.shape).astype(np.float32)
    quality = source.per_neuron_quality()
    metrics = source.metrics() | {"bench_note": f"tiled from {RUN_10K}; see bench/explorer_runs.py"}
    meta = source.meta.model_copy(
        update={
            "id": RUN_100K,
            "created": time.time(),
            "layers": layers,
            "source": f"bench: {RUN_10K} tiled to {TILED_NEURONS:,} neurons, vectors + noise",
        }
    )
    take = torch.from_numpy(src)
    with store.writer(RUN_100K) as writer:
        writer.write_meta(meta)
        writer.write_weights(source.build_model().state_dict())
        writer.write_vectors(torch.from_numpy(vectors))
        writer.write_quality({name: t[take] for name, t in quality.items()})
        writer.write_metrics(metrics)
        _tiled_analysis(analysis, new_index, index, take).save(writer.folder)
        run = writer.commit()
    project_run(run, "umap", {}, TqdmReporter())
    return run


def _tiled_layers(index: NeuronIndex) -> tuple[list[dict], np.ndarray]:
    """Each layer `factor` times wider, the largest one padded to reach TILED_NEURONS; and,
    for every new neuron, the id of the source neuron it copies (same layer, channel mod
    the source width)."""
    factor = TILED_NEURONS // len(index)
    widths = [layer.width * factor for layer in index.layers]
    widest = int(np.argmax(widths))
    widths[widest] += TILED_NEURONS - sum(widths)
    layers, src = [], []
    for layer, width in zip(index.layers, widths, strict=True):
        layers.append({"path": layer.path, "width": width, "spatial": layer.spatial})
        src.append(layer.offset + np.arange(width) % layer.width)
    return layers, np.concatenate(src)


def _tiled_analysis(a: Analysis, new: NeuronIndex, old: NeuronIndex, take: torch.Tensor):
    per_neuron = {
        name: getattr(a, name)[take]
        for name in (
            "top_values",
            "top_indices",
            "class_means",
            "dominant_class",
            "selectivity",
            "hist_counts",
            "hist_lo",
            "hist_hi",
            "mean",
            "std",
            "dead",
        )
    }
    maps = {}
    for layer in new.layers:
        if layer.path in a.top_maps:
            sources = take[layer.offset : layer.offset + layer.width]
            channels = sources - old.layer(layer.path).offset
            maps[layer.path] = a.top_maps[layer.path][channels].contiguous()
    return Analysis(
        index=new,
        num_images=a.num_images,
        k=a.k,
        bins=a.bins,
        top_maps=maps,
        class_counts=a.class_counts,
        class_names=a.class_names,
        **per_neuron,
    )


if __name__ == "__main__":
    torch.set_num_threads(2)
    print(ensure_runs())
