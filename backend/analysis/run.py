"""`analyze`: one streaming pass over a dataset that fills every neuron's `Analysis`."""

import contextlib
from collections.abc import Callable, Iterable

import torch
from torch import nn

from backend.analysis.result import Analysis, selectivity
from backend.analysis.streaming import (
    ClassMeans,
    PerImage,
    RandomSample,
    RunningMoments,
    RunningTopK,
    StreamingHistogram,
)
from backend.core.devices import autocast
from backend.semantic.neurons import ActivationProbe, LayerInfo

Progress = Callable[[int, int], None]

DEAD_STD = 1e-6
"""A neuron whose pooled activation has at most this std over the dataset is dead."""

_FP16_MAX = 65504.0


class _MapKeeper:
    """For one spatial layer, the activation map behind each of its neurons' top-k values.

    Maps live flat, one row per (channel, slot), so that an update is an `index_select`
    of the surviving rows and an `index_copy_` of only the new winners' maps from the
    batch (never the whole batch), both several times faster than fancy indexing.
    """

    def __init__(self, layer: LayerInfo, k: int, shape: tuple[int, int], device: torch.device):
        self.layer, self.k, self.shape = layer, k, shape
        self.maps = torch.zeros(layer.width * k, shape[0] * shape[1], dtype=torch.float16)
        self.maps = self.maps.to(device)

    def update(self, output: torch.Tensor, kept: torch.Tensor, new: torch.Tensor, fresh):
        """`output` (B, width, h, w) is the layer's output; for this layer's (width, k)
        slots, `kept` is the old row each slot keeps, `new` whether the batch fills it,
        and `fresh` the row of `output` viewed as (B * width, h * w) that does."""
        maps = self.maps.index_select(0, kept.reshape(-1))
        new = new.reshape(-1).nonzero().squeeze(1)
        if len(new):
            rows = fresh.reshape(-1)[new]
            maps.index_copy_(0, new, output.reshape(-1, maps.shape[1]).index_select(0, rows).half())
        self.maps = maps

    def result(self) -> torch.Tensor:
        """(width, k, h, w) float16; values beyond float16's range are clipped to it."""
        maps = self.maps.view(self.layer.width, self.k, *self.shape)
        return maps.clamp(-_FP16_MAX, _FP16_MAX)


@contextlib.contextmanager
def _one_thread(device: torch.device):
    """Run the per-batch statistics on one CPU thread.

    They are dozens of small ops on (B, N) tensors. With several intra-op threads each
    op ends in an OpenMP barrier, and when another process holds a core those barriers
    cost milliseconds: on 2 busy cores one batch's update took ~180 ms on 2 threads and
    ~2 ms on one. On an idle machine one thread is as fast or a little faster (its topk
    pads to the partial-sort path). The model's forward pass keeps all threads.
    """
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


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
    samples: int = 4,
    also: Callable[[torch.Tensor, torch.Tensor], None] | None = None,
    amp: bool = False,
    agree_range=None,
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
        num_classes: number of classes C; 0 for unlabelled images (their y is ignored),
            which get no class means and no selectivity.
        k: images kept per neuron.
        bins: histogram bins per neuron (even).
        device: where the pass runs; the result lives on the CPU.
        progress: called with (batches done, total or 0) after every batch.
        class_names: optional names of the C classes, kept in the result.
        total: number of batches, for `progress`; defaults to len(batches) if it has one.
        samples: bottom-activating images kept per neuron, and images drawn at random
            (the same for every neuron), beside the top ones.
        also: called with every batch's pooled activations H (B, N) and image indices,
            for statistics kept beside the analysis from the same forward pass
            (backend/analysis/one_pass.py).
        amp: on CUDA, run the forward pass under bf16 autocast (the statistics stay
            float32 and float64).
        agree_range: under torchrun, a `RangeAgreement`
            (backend/analysis/across_ranks.py): each batch's min and max agreed over the
            ranks, so that their histograms keep the same bins and add up.

    When the model's output is a (B, K) tensor, each image's top class and its softmax
    probability are kept too (`Analysis.predictions`).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if num_classes < 0:
        raise ValueError(f"num_classes must be 0 (unlabelled) or more, got {num_classes}")
    if samples < 0:
        raise ValueError(f"samples must be 0 or more, got {samples}")
    if bins < 2 or bins % 2:
        raise ValueError(f"histogram bins must be an even number >= 2, got {bins}")
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f"{len(class_names)} class names given for {num_classes} classes")
    device = torch.device(device)
    if total is None:
        total = len(batches) if hasattr(batches, "__len__") else 0

    was_training = model.training
    model.to(device).eval()
    acc: _Accumulators | None = None
    try:
        with torch.inference_mode(), ActivationProbe(model, layers, keep_maps=True) as probe:
            for step, batch in enumerate(batches, start=1):
                x, y, idx = _unpack(batch, acc.seen if acc else 0, device)
                with autocast(device, amp):
                    out = model(x)
                with _one_thread(device):
                    if acc is None:
                        acc = _Accumulators(probe, k, bins, num_classes, samples, device)
                        acc.agree_range = agree_range
                    h = probe.pooled()
                    acc.update(h, probe.maps(), y, idx)
                    acc.update_outputs(out, idx)
                    if also is not None:
                        also(h, idx)
                if progress is not None:
                    progress(step, total)
    finally:
        model.train(was_training)
    if acc is None:
        raise ValueError("analyze got no batches: the dataset is empty")
    if agree_range is not None:
        agree_range.finish(acc.hist)
    return acc.finish(class_names)


class _Accumulators:
    """Everything the pass keeps, sized from the first batch's layer outputs."""

    def __init__(
        self, probe: ActivationProbe, k: int, bins: int, num_classes: int, samples: int, device
    ):
        self.index = probe.index()
        self.k, self.bins, self.seen = k, bins, 0
        self.labelled = num_classes > 0
        n, outputs = len(self.index), probe.maps()
        self.keepers = [
            _MapKeeper(layer, k, tuple(outputs[layer.path].shape[2:]), device)
            for layer in self.index.layers
            if layer.spatial
        ]
        self.topk = RunningTopK(n, k, device)
        self.moments = RunningMoments(n, device)
        self.classes = ClassMeans(n, num_classes, device)
        self.hist = StreamingHistogram(n, bins, device)
        self.bottom = RunningTopK(n, samples, device) if samples else None
        self.random = RandomSample(n, samples, device) if samples else None
        self.labels = PerImage(torch.int64, -1, device)
        self.predictions = PerImage(torch.int64, -1, device)
        self.confidence = PerImage(torch.float32, float("nan"), device)
        self.num_outputs: int | None = None
        self.max_index = -1
        self.agree_range = None
        # Per neuron (N, 1): the flat map rows of its k slots start at channel * k, and
        # batch row r of it is r * width + channel in the (B * width, h * w) output view.
        channel = torch.cat([torch.arange(lay.width) for lay in self.index.layers])
        width = torch.cat([torch.full((lay.width,), lay.width) for lay in self.index.layers])
        self._slot_base = (channel * k).unsqueeze(1).to(device)
        self._width = width.unsqueeze(1).to(device)
        self._fresh_base = (channel - k * width).unsqueeze(1).to(device)

    def update(self, h: torch.Tensor, outputs: dict, y: torch.Tensor, idx: torch.Tensor):
        h64 = h.double()  # once, for the float64 accumulators
        batch_min, batch_max = h64.amin(dim=0), h64.amax(dim=0)
        positions = self.topk.update(h, idx, batch_max)
        if self.keepers:
            # Row numbers for every neuron at once, then one slice per layer.
            kept = positions.clamp(max=self.k - 1).add_(self._slot_base)
            new = positions >= self.k
            fresh = positions.mul(self._width).add_(self._fresh_base)
            for keeper in self.keepers:
                rows = slice(keeper.layer.offset, keeper.layer.offset + keeper.layer.width)
                keeper.update(outputs[keeper.layer.path], kept[rows], new[rows], fresh[rows])
        if self.labelled:
            self.classes.update(h64, y)
            self.labels.update(idx, y)
        self.moments.update(h64)
        if self.agree_range is None:
            self.hist.update(h64, batch_min, batch_max)
        else:
            self.hist.update(h64, *self.agree_range(batch_min, batch_max))
        if self.bottom is not None:
            self.bottom.update(h.neg(), idx, batch_min.neg().to(h.dtype))
            self.random.update(h, idx)
        self.seen += len(y)
        self.max_index = max(self.max_index, int(idx.max()) if idx.numel() else -1)

    def update_outputs(self, out, idx: torch.Tensor) -> None:
        """The model's top class per image, when its output is (B, K) scores."""
        if not (isinstance(out, torch.Tensor) and out.dim() == 2 and len(out) == len(idx)):
            return
        self.num_outputs = out.shape[1]
        confidence, top = out.float().softmax(dim=1).max(dim=1)
        self.predictions.update(idx, top)
        self.confidence.update(idx, confidence)

    def finish(self, class_names: list[str] | None) -> Analysis:
        # Copies on the CPU: tensors made under inference_mode refuse in-place edits later.
        def out(t: torch.Tensor) -> torch.Tensor:
            return t.to("cpu", copy=True)

        means = out(self.classes.means())
        std, mean = out(self.moments.std()), out(self.moments.mean())
        counts = out(self.classes.counts)
        dominant, select = selectivity(means, counts, mean, std)
        images = self.max_index + 1
        predicted = self.num_outputs is not None
        bottom = random = (None, None)
        if self.bottom is not None:
            bottom = (out(self.bottom.values.neg()), out(self.bottom.indices))
            random = tuple(out(t) for t in self.random.result())
        return Analysis(
            index=self.index,
            num_images=self.seen,
            k=self.k,
            bins=self.bins,
            top_values=out(self.topk.values),
            top_indices=out(self.topk.indices),
            top_maps={keeper.layer.path: out(keeper.result()) for keeper in self.keepers},
            class_means=means,
            class_counts=counts,
            dominant_class=dominant,
            selectivity=select,
            hist_counts=out(self.hist.counts),
            hist_lo=out(self.hist.lo),
            hist_hi=out(self.hist.hi),
            mean=mean,
            std=std,
            dead=std <= DEAD_STD,
            class_names=list(class_names) if class_names is not None else None,
            bottom_values=bottom[0],
            bottom_indices=bottom[1],
            random_values=random[0],
            random_indices=random[1],
            image_labels=out(self.labels.result(images)) if self.labelled else None,
            predictions=out(self.predictions.result(images)) if predicted else None,
            confidence=out(self.confidence.result(images)) if predicted else None,
            num_outputs=self.num_outputs,
        )
