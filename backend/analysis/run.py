"""`analyze`: one streaming pass over a dataset that fills every neuron's `Analysis`."""

from collections.abc import Callable, Iterable

import torch
from torch import nn

from backend.analysis.result import Analysis, selectivity
from backend.analysis.streaming import (
    ClassMeans,
    RunningMoments,
    RunningTopK,
    StreamingHistogram,
)
from backend.semantic.neurons import ActivationProbe, LayerInfo

Progress = Callable[[int, int], None]

DEAD_STD = 1e-6
"""A neuron whose pooled activation has at most this std over the dataset is dead."""

_FP16_MAX = 65504.0


class _MapKeeper:
    """For one spatial layer, the activation map behind each of its neurons' top-k values."""

    def __init__(self, layer: LayerInfo, k: int, shape: tuple[int, int], device: torch.device):
        self.layer, self.k = layer, k
        self.maps = torch.zeros(layer.width, k, *shape, dtype=torch.float16, device=device)
        self._channel = torch.arange(layer.width, device=device).unsqueeze(1).expand(-1, k)

    def update(self, output: torch.Tensor, positions: torch.Tensor) -> None:
        """`output` (B, width, h, w) is the layer's output; `positions` (width, k) are this
        layer's rows of `RunningTopK.update`'s result."""
        k = self.k
        from_batch = positions >= k
        # Advanced indexing gathers only the k winners per channel, never the whole batch.
        fresh = output[(positions - k).clamp(min=0), self._channel]
        fresh = fresh.clamp(-_FP16_MAX, _FP16_MAX).half()
        kept = self.maps[self._channel, positions.clamp(max=k - 1)]
        self.maps = torch.where(from_batch[:, :, None, None], fresh, kept)


def _unpack(batch, seen: int, device: torch.device):
    """(x, y, idx) from a batch; a 2-tuple (x, y) gets running indices."""
    if len(batch) == 3:
        x, y, idx = batch
    elif len(batch) == 2:
        x, y = batch
        idx = torch.arange(seen, seen + len(y))
    else:
        raise ValueError(f"a batch must be (x, y, idx) or (x, y), got {len(batch)} items")
    return (
        x.to(device, non_blocking=True),
        y.to(device=device, dtype=torch.int64),
        idx.to(device=device, dtype=torch.int64),
    )


def analyze(
    model: nn.Module,
    layers: list[str],
    batches: Iterable,
    num_classes: int,
    k: int = 9,
    bins: int = 32,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
    class_names: list[str] | None = None,
    total: int | None = None,
) -> Analysis:
    """Top-k images, class means, histograms and moments of every neuron, in one pass.

    Memory is O(N x k) plus the top images' maps, whatever the dataset's size.

    Args:
        model: any module; it is moved to `device` (in place) and run in eval mode,
            its training flag restored afterwards.
        layers: module paths of the probed layers; neuron ids follow their order.
        batches: iterable of (x, y, idx): x float (B, ...), y labels in 0..num_classes-1,
            idx each image's index in the dataset (what the top-k lists report).
            A bare (x, y) gets indices 0, 1, 2, ... in iteration order.
        num_classes: number of classes C.
        k: images kept per neuron.
        bins: histogram bins per neuron (even).
        device: where the pass runs; the result lives on the CPU.
        progress: called with (batches done, total or 0) after every batch.
        class_names: optional names of the C classes, kept in the result.
        total: number of batches, for `progress`; defaults to len(batches) if it has one.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f"{len(class_names)} class names given for {num_classes} classes")
    device = torch.device(device)
    if total is None:
        total = len(batches) if hasattr(batches, "__len__") else 0

    was_training = model.training
    model.to(device).eval()
    state: dict = {}
    seen = 0
    try:
        with torch.inference_mode(), ActivationProbe(model, layers, keep_maps=True) as probe:
            for step, batch in enumerate(batches, start=1):
                x, y, idx = _unpack(batch, seen, device)
                if bool(((y < 0) | (y >= num_classes)).any()):
                    raise ValueError(f"labels must be in 0..{num_classes - 1}")
                model(x)
                h = probe.pooled()
                if not state:
                    state = _start(probe, k, bins, num_classes, device)
                _update(state, probe.maps(), h, y, idx)
                seen += len(y)
                if progress is not None:
                    progress(step, total)
    finally:
        model.train(was_training)
    if not state:
        raise ValueError("analyze got no batches: the dataset is empty")
    return _finish(state, seen, k, bins, class_names)


def _start(probe: ActivationProbe, k: int, bins: int, num_classes: int, device) -> dict:
    index = probe.index()
    n = len(index)
    outputs = probe.maps()
    keepers = [
        _MapKeeper(layer, k, tuple(outputs[layer.path].shape[2:]), device)
        for layer in index.layers
        if layer.spatial
    ]
    for keeper in keepers:
        if outputs[keeper.layer.path].dim() != 4:
            raise ValueError(
                f"layer {keeper.layer.path!r} gives {outputs[keeper.layer.path].dim()}-D "
                "outputs; only (B, C) vectors and (B, C, H, W) maps are supported"
            )
    return {
        "index": index,
        "topk": RunningTopK(n, k, device),
        "keepers": keepers,
        "moments": RunningMoments(n, device),
        "classes": ClassMeans(n, num_classes, device),
        "hist": StreamingHistogram(n, bins, device),
    }


def _update(state: dict, outputs: dict, h, y, idx) -> None:
    positions = state["topk"].update(h, idx)
    for keeper in state["keepers"]:
        layer = keeper.layer
        keeper.update(outputs[layer.path], positions[layer.offset : layer.offset + layer.width])
    state["moments"].update(h)
    state["classes"].update(h, y)
    state["hist"].update(h)


def _finish(state: dict, seen: int, k: int, bins: int, class_names) -> Analysis:
    topk, moments, classes, hist = state["topk"], state["moments"], state["classes"], state["hist"]
    means = classes.means().cpu()
    dominant, select = selectivity(means)
    std = moments.std().cpu()
    return Analysis(
        index=state["index"],
        num_images=seen,
        k=k,
        bins=bins,
        top_values=topk.values.cpu(),
        top_indices=topk.indices.cpu(),
        top_maps={keeper.layer.path: keeper.maps.cpu() for keeper in state["keepers"]},
        class_means=means,
        class_counts=classes.counts.cpu(),
        dominant_class=dominant,
        selectivity=select,
        hist_counts=hist.counts.cpu(),
        hist_lo=hist.lo.cpu(),
        hist_hi=hist.hi.cpu(),
        mean=moments.mean.cpu(),
        std=std,
        dead=std <= DEAD_STD,
        class_names=list(class_names) if class_names is not None else None,
    )

