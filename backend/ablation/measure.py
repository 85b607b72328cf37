"""What a model loses when channels are knocked out, measured on a split.

One baseline pass records each image's logits, every probed neuron's pooled activation
and every probed layer's mean output map; then all replicas (the selection, the control
draws, or every neuron of a layer alone) run together, as many at once as memory allows
(`ELEMENTS`), and each replica's per-class accuracy, change of the true class's logit and
activation of every neuron on its top images are summed.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

from backend.ablation.masks import LayerHooks, ablated_forward
from backend.core.errors import SemvecError
from backend.semantic.neurons import canonical, pool

ELEMENTS = 2**25
"""Floats of the widest probed layer's output held at once over all replicas and images
(128 MB); it sets how many replicas and images share one forward call."""
TOP_K = 9
"""Top images per neuron whose loss is measured (as many as the panel shows)."""


@dataclass
class Baseline:
    logits: torch.Tensor
    """(n, K) the unablated model's logits."""
    labels: torch.Tensor
    pooled: torch.Tensor
    """(n, N) every probed neuron's pooled activation."""
    means: dict[str, torch.Tensor]
    """Each probed layer's mean output over the images, one image's shape."""
    numel: int
    """Floats of the largest probed layer's output for one image."""

    @property
    def images(self) -> int:
        return self.labels.shape[0]


class _Capture(LayerHooks):
    """Forward hooks recording each layer's raw output and pooled activation."""

    def __init__(self, model: nn.Module, layers: list[str]):
        super().__init__(model, layers)
        self.raw: dict[str, torch.Tensor] = {}
        self.pooled: dict[str, torch.Tensor] = {}

    def _hook(self, path: str):
        def capture(module, _inputs, output):
            if isinstance(output, tuple | list):
                output = output[0]
            self.raw[path] = output
            self.pooled[path] = pool(canonical(module, output)).float()

        return capture

    def stacked(self, replicas: int, batch: int) -> torch.Tensor:
        """Pooled activations (R, B, N); a layer before the widened part counts for all."""
        parts = []
        for path in self.paths:
            p = self.pooled[path]
            if p.shape[0] == batch and replicas > 1:
                p = p.unsqueeze(0).expand(replicas, *p.shape)
            parts.append(p.reshape(replicas, batch, -1))
        return torch.cat(parts, dim=2)


@torch.no_grad()
def baseline(
    model: nn.Module,
    layers: list[str],
    batches: Iterable,
    device: torch.device,
    progress: Callable[[int], None] | None = None,
) -> Baseline:
    model.eval()
    logits, labels, pooled, sums, numel = [], [], [], {}, 0
    with _Capture(model, layers) as cap:
        for x, y, *_ in batches:
            logits.append(model(x.to(device)).float().cpu())
            labels.append(y)
            pooled.append(torch.cat([cap.pooled[p] for p in layers], dim=1).cpu())
            for path in layers:
                raw = cap.raw[path].float()
                numel = max(numel, raw[0].numel())
                sums[path] = sums.get(path, 0) + raw.sum(dim=0)
            if progress:
                progress(1)
    n = sum(len(y) for y in labels)
    if n == 0:
        raise SemvecError("the held-out split has no images to ablate on")
    return Baseline(
        logits=torch.cat(logits),
        labels=torch.cat(labels),
        pooled=torch.cat(pooled),
        means={p: (s / n) for p, s in sums.items()},
        numel=numel,
    )


def top_members(pooled: torch.Tensor, k: int = TOP_K) -> torch.Tensor:
    """(n, N) bool: whether image i is among neuron j's k most exciting images."""
    k = min(k, pooled.shape[0])
    top = pooled.topk(k, dim=0).indices
    return torch.zeros_like(pooled, dtype=torch.bool).scatter_(0, top, True)


@dataclass
class ReplicaStats:
    """Sums over the split for each of R replicas (K classes, N neurons)."""

    correct: torch.Tensor
    """(R, K) correctly classified images of each class."""
    delta_logit: torch.Tensor
    """(R, K) summed change of the true class's logit on the images of each class."""
    top_sum: torch.Tensor | None
    """(R, N) summed activation of each neuron on its top images (None: not tracked)."""


def class_counts(base: Baseline, classes: int) -> torch.Tensor:
    return torch.bincount(base.labels.clamp(min=0), minlength=classes)[:classes]


def base_class_correct(base: Baseline, classes: int) -> torch.Tensor:
    """(K,) images of each class the unablated model gets right."""
    labelled = base.labels >= 0
    hit = (base.logits[labelled].argmax(1) == base.labels[labelled]).float()
    return torch.zeros(classes).index_add_(0, base.labels[labelled], hit)


def replica_chunk(replicas: int, numel: int) -> tuple[int, int]:
    """(replicas, images) per forward call so that their outputs fit in ELEMENTS."""
    cap = max(1, ELEMENTS // max(numel, 1))
    chunk = min(replicas, cap)
    return chunk, max(1, cap // chunk)


@torch.no_grad()
def ablate_replicas(
    model: nn.Module,
    layers: list[str],
    keep: dict[str, torch.Tensor],
    base: Baseline,
    split,
    device: torch.device,
    classes: int,
    fill: dict[str, torch.Tensor] | None = None,
    members: torch.Tensor | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplicaStats:
    """Every replica of `keep` over the whole split (in the baseline's image order).

    With `members` (from `top_members`), also the activation of every probed neuron on
    its top images under each replica.
    """
    model.eval()
    total = next(iter(keep.values())).shape[0]
    chunk, images = replica_chunk(total, base.numel)
    correct = torch.zeros(total, classes)
    delta = torch.zeros(total, classes)
    top_sum = torch.zeros(total, base.pooled.shape[1]) if members is not None else None
    widen = ["layer"]
    capture = _Capture(model, layers) if members is not None else None
    for start in range(0, total, chunk):
        part = {p: m[start : start + chunk].to(device) for p, m in keep.items()}
        r = next(iter(part.values())).shape[0]
        seen = 0
        for x, y, *_ in split.batches(images, shuffle=False):
            idx = torch.arange(seen, seen + len(y))
            seen += len(y)
            out = ablated_forward(model, x.to(device), part, fill, widen, capture)
            if capture is not None:
                pooled = capture.stacked(r, len(y)).cpu()
                top_sum[start : start + r] += (pooled * members[idx].float()).sum(dim=1)
            out = out.float().cpu()  # (r, B, K)
            _tally(out, y, base.logits[idx], correct[start : start + r], delta[start : start + r])
            if progress:
                progress(r * len(y))
    return ReplicaStats(correct=correct, delta_logit=delta, top_sum=top_sum)


def _tally(out, y, base_logits, correct, delta) -> None:
    labelled = y >= 0
    y, out, base_logits = y[labelled], out[:, labelled], base_logits[labelled]
    classes = correct.shape[1]
    if out.shape[-1] < classes:
        raise SemvecError(
            f"the model gives {out.shape[-1]} outputs for {classes} classes: its logits "
            "cannot be read as the dataset's classes"
        )
    hit = (out.argmax(dim=2) == y).float()  # (r, B)
    true = out.gather(2, y.view(1, -1, 1).expand(out.shape[0], -1, 1)).squeeze(2)
    change = true - base_logits.gather(1, y.view(-1, 1)).squeeze(1)
    correct.index_add_(1, y, hit)
    delta.index_add_(1, y, change)
