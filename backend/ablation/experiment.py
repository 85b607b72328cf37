"""The two experiments: a selection against its random control, and a layer sweep.

Both return plain dicts (what the API serves and the page draws). Accuracies are
fractions, their changes percentage points; a logit change is the mean change of the
true class's logit over that class's images; a top-image loss is the relative drop of a
neuron's mean activation on its own top images (1: silenced, 0: untouched, < 0: it rose).
"""

import math
import time

import torch
from torch import nn

from backend.ablation.control import control_draws, keep_masks, per_layer, sweep_masks
from backend.ablation.measure import (
    TOP_K,
    Baseline,
    ReplicaStats,
    ablate_replicas,
    base_class_correct,
    class_counts,
    top_members,
)
from backend.core.progress import Reporter
from backend.semantic.neurons import NeuronIndex

MOST_AFFECTED = 10


def _fill(mode: str, base: Baseline, paths) -> dict[str, torch.Tensor] | None:
    return {p: base.means[p] for p in paths} if mode == "mean" else None


def _rounded(values, digits: int = 5) -> list:
    plain = values.tolist() if hasattr(values, "tolist") else list(values)
    return [round(v, digits) if math.isfinite(v) else None for v in plain]


def _class_figures(stats: ReplicaStats, counts: torch.Tensor, base_acc: torch.Tensor) -> dict:
    """Per replica: accuracy, per-class accuracy and its change (points), logit change."""
    n = counts.clamp(min=1).float()
    acc = stats.correct / n
    total = stats.correct.sum(dim=1) / counts.sum().clamp(min=1)
    return {
        "accuracy": total,
        "class_accuracy": acc,
        "delta_accuracy": (acc - base_acc) * 100,
        "delta_logit": stats.delta_logit / n,
    }


def _top_loss(stats: ReplicaStats, base_top: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
    """(R, N) relative loss on the top images; NaN for dead neurons."""
    loss = (base_top - stats.top_sum) / base_top.abs().clamp(min=1e-6)
    return torch.where(live, loss, torch.nan)


def _loss_by_layer(index: NeuronIndex, loss: torch.Tensor, removed: set[int]) -> dict:
    """Mean top-image loss of each layer's remaining (not ablated, live) neurons."""
    out = {}
    for layer in index.layers:
        ids = [i for i in range(layer.offset, layer.offset + layer.width) if i not in removed]
        values = loss[ids]
        values = values[torch.isfinite(values)]
        out[layer.path] = round(float(values.mean()), 5) if len(values) else None
    return out


def ablate_selection(
    model: nn.Module,
    index: NeuronIndex,
    base: Baseline,
    split,
    ids: list[int],
    mode: str,
    draws: int,
    seed: int,
    device: torch.device,
    reporter: Reporter | None = None,
) -> dict:
    """The selection and `draws` random controls, all in the same passes."""
    reporter = reporter or Reporter()
    started = time.perf_counter()
    classes = len(split.classes)
    controls = control_draws(index, ids, draws, seed)
    masks = keep_masks(index, [ids, *controls])
    members = top_members(base.pooled)
    reporter.stage("ablating", (1 + draws) * base.images)
    stats = ablate_replicas(
        model,
        [layer.path for layer in index.layers],
        masks,
        base,
        split,
        device,
        classes,
        fill=_fill(mode, base, masks),
        members=members,
        progress=reporter.advance,
    )
    counts = class_counts(base, classes)
    base_correct = base_class_correct(base, classes)
    base_acc = base_correct / counts.clamp(min=1)
    figures = _class_figures(stats, counts, base_acc)
    base_top = (base.pooled * members).sum(dim=0)
    live = base.pooled.std(dim=0) > 1e-6
    loss = _top_loss(stats, base_top, live)
    chosen = set(ids)
    remaining = [i for i in range(len(index)) if i not in chosen and torch.isfinite(loss[0, i])]
    worst = sorted(remaining, key=lambda i: -float(loss[0, i]))[:MOST_AFFECTED]
    names = index.names()

    def replica(r: int) -> dict:
        removed = chosen if r == 0 else set(controls[r - 1])
        kept = [i for i in range(len(index)) if i not in removed]
        mean_loss = loss[r, kept]
        mean_loss = mean_loss[torch.isfinite(mean_loss)]
        return {
            "accuracy": round(float(figures["accuracy"][r]), 5),
            "class_accuracy": _rounded(figures["class_accuracy"][r]),
            "delta_accuracy": _rounded(figures["delta_accuracy"][r], 3),
            "delta_logit": _rounded(figures["delta_logit"][r], 4),
            "top_image_loss": round(float(mean_loss.mean()), 5) if len(mean_loss) else None,
            "top_image_loss_by_layer": _loss_by_layer(index, loss[r], removed),
        }

    return {
        "mode": mode,
        "neurons": sorted(ids),
        "names": [names[i] for i in sorted(ids)],
        "layers": {p: len(c) for p, c in per_layer(index, ids).items()},
        "images": base.images,
        "classes": list(split.classes),
        "class_images": counts.tolist(),
        "top_k": TOP_K,
        "base": {
            "accuracy": round(float(base_correct.sum() / counts.sum().clamp(min=1)), 5),
            "class_accuracy": _rounded(base_acc),
        },
        "selection": replica(0)
        | {
            "most_affected": [
                {"id": i, "name": names[i], "loss": round(float(loss[0, i]), 4)} for i in worst
            ]
        },
        "control": {
            "seed": seed,
            "draws": [replica(r) | {"neurons": controls[r - 1]} for r in range(1, draws + 1)],
        },
        "seconds": round(time.perf_counter() - started, 3),
    }


def sweep_layer(
    model: nn.Module,
    index: NeuronIndex,
    base: Baseline,
    split,
    path: str,
    mode: str,
    device: torch.device,
    reporter: Reporter | None = None,
) -> dict:
    """Every neuron of layer `path` knocked out alone, all in a few passes."""
    reporter = reporter or Reporter()
    started = time.perf_counter()
    layer = index.layer(path)
    classes = len(split.classes)
    reporter.stage("ablating", layer.width * base.images)
    stats = ablate_replicas(
        model,
        [layer.path],
        {path: sweep_masks(layer.width)},
        base,
        split,
        device,
        classes,
        fill=_fill(mode, base, [path]),
        progress=reporter.advance,
    )
    counts = class_counts(base, classes)
    base_correct = base_class_correct(base, classes)
    figures = _class_figures(stats, counts, base_correct / counts.clamp(min=1))
    base_total = float(base_correct.sum() / counts.sum().clamp(min=1))
    return {
        "mode": mode,
        "layer": path,
        "offset": layer.offset,
        "width": layer.width,
        "images": base.images,
        "classes": list(split.classes),
        "base_accuracy": round(base_total, 5),
        "delta_accuracy": _rounded((figures["accuracy"] - base_total) * 100, 3),
        "class_delta_accuracy": [_rounded(row, 3) for row in figures["delta_accuracy"]],
        "class_delta_logit": [_rounded(row, 4) for row in figures["delta_logit"]],
        "seconds": round(time.perf_counter() - started, 3),
    }
