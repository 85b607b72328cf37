"""Align a frozen model: only the semantic vectors learn (docs/method.md).

By default the vectors start from the eigen-solution of the training correlation
(docs/method.md): the best rank-d fit, which the steps then refine; `init="random"`
starts from random directions instead.
"""

import math
from collections.abc import Callable

import torch
from torch import nn

from backend.core.devices import autocast
from backend.core.errors import SemvecError
from backend.core.progress import Reporter
from backend.semantic.alignment import SemanticVectors, alignment_loss
from backend.semantic.neurons import ActivationProbe
from backend.semantic.reference import (
    Reference,
    compute_reference,
    eigen_start_weight,
    reference_for,
)
from backend.training.config import AlignConfig

EIGEN_LR_SCALE = 0.1
"""The learning rate after an eigen-start, as a fraction of cfg.lr."""
CACHE_BYTES = 2**30
"""Pooled activations of the whole split are kept in memory up to this size, when that
saves forward passes: the model is frozen and alignment reads no augmented images, so
one pass serves the eigen-start and every step (a ResNet-50 at 224 px on 2,000 photos:
one pass instead of a forward of 128 images per step)."""


def _worth_caching(split, num_neurons: int, cfg: AlignConfig, batch_size: int) -> bool:
    fits = len(split) * num_neurons * 4 <= CACHE_BYTES
    shared = len(split) <= cfg.reference_images  # the reference reads the whole split too
    return fits and (shared or cfg.steps * batch_size > len(split))


@torch.no_grad()
def cache_activations(model, layers, split, device, amp: bool, reporter: Reporter) -> torch.Tensor:
    """H (images, N) of the whole split, in split order, on the CPU (float32)."""
    reporter.stage("activations", len(split))
    rows = []
    with ActivationProbe(model, layers) as probe:
        for x, *_ in split.batches(256):
            with autocast(device, amp):
                model(x.to(device, non_blocking=True))
            rows.append(probe.pooled().float().cpu())
            reporter.advance(x.shape[0])
    return torch.cat(rows)


def cosine_lr(optimizer: torch.optim.Optimizer, base_lr: float, step: int, total: int) -> None:
    """Cosine decay from base_lr to 1% of it over `total` steps."""
    scale = 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(step / max(total, 1), 1.0)))
    for group in optimizer.param_groups:
        group["lr"] = base_lr * scale


def align_frozen(
    model: nn.Module,
    layers: list[str],
    split,
    vectors: SemanticVectors,
    cfg: AlignConfig,
    device: torch.device,
    amp: bool = True,
    reporter: Reporter | None = None,
    on_step: Callable[[int, SemanticVectors], bool | None] | None = None,
    reference: Reference | None = None,
) -> list[float]:
    """Fit `vectors` to the frozen model's activations on `split`; returns the loss per step.

    First the training correlation's eigen-solution is computed, unless `reference` is
    given, and kept as `vectors.reference`; with cfg.init == "eigen" the vectors start
    from it. `on_step(step, vectors)` is called before the first step and after each
    one; when it returns True, the alignment stops there.
    """
    reporter = reporter or Reporter()
    model.eval().requires_grad_(False)
    vectors.to(device)
    # A folder smaller than one batch aligns on all of it at each step.
    batch_size = min(cfg.batch_size, len(split))
    if batch_size < 4:
        raise SemvecError(f"alignment needs at least 4 training images; the split has {len(split)}")
    cache = None
    if _worth_caching(split, vectors.num_neurons, cfg, batch_size):
        cache = cache_activations(model, layers, split, device, amp, reporter)
    if reference is None and cache is not None and len(cache) <= cfg.reference_images:
        reporter.stage("reference", 0)
        reference = compute_reference(
            lambda: iter(cache.split(256)),
            vectors.num_neurons,
            vectors.weight.shape[1],
            cfg.seed,
            progress=lambda text: reporter.advance(0, text),
        )
    elif reference is None:
        reporter.stage("reference", 0)
        reference = reference_for(
            model,
            layers,
            split,
            device,
            vectors.num_neurons,
            vectors.weight.shape[1],
            cfg.reference_images,
            cfg.seed,
            progress=lambda text: reporter.advance(0, text),
        )
    vectors.reference = reference
    if cfg.init == "eigen":
        with torch.no_grad():
            start = eigen_start_weight(reference, cfg.seed, vectors.weight.shape[1])
            vectors.weight.copy_(start.to(device))
    vectors.train()
    if on_step and on_step(0, vectors):
        return []
    steps = cfg.steps
    if cfg.init == "eigen" and vectors.num_neurons > cfg.subset and not cfg.refine_sampled:
        # Each step would move only the sampled rows, by Adam's full-size, noisy updates:
        # a 15,114-neuron ResNet-50 went from P@10 0.579 (the eigen-start, at the bound)
        # to 0.420 after 200 steps. The eigen-start is kept as it is.
        reporter.message(
            f"kept the eigen-start (the best rank-{vectors.weight.shape[1]} fit): with "
            f"{vectors.num_neurons:,} neurons each step would sample {cfg.subset:,} of them "
            "and move away from it"
        )
        steps = 0
    # From the eigen-start the steps only refine the best rank-d fit: at the random
    # start's rate they first undo it (ResNet-56: P@10 0.962 -> 0.950 after 100 steps).
    lr = cfg.lr * (EIGEN_LR_SCALE if cfg.init == "eigen" else 1.0)
    optimizer = torch.optim.Adam(vectors.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    losses: list[float] = []
    reporter.stage("align", steps)
    epoch = 0
    with ActivationProbe(model, layers) as probe:
        while len(losses) < steps:
            for h in _step_batches(
                model, probe, split, cache, batch_size, cfg.seed + epoch, device, amp
            ):
                loss = alignment_loss(h, vectors, cfg.subset, gen)
                cosine_lr(optimizer, lr, len(losses), steps)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                reporter.advance(1, f"align loss {losses[-1]:.4f}")
                if len(losses) >= steps or (on_step and on_step(len(losses), vectors)):
                    return losses
            epoch += 1
            if epoch > 1 and not losses:
                raise ValueError("the split is smaller than one alignment batch")
    return losses


def _step_batches(model, probe, split, cache, batch_size: int, seed: int, device, amp: bool):
    """One epoch of pooled-activation batches H (B, N): rows of the cache, or forward
    passes of the frozen model."""
    if cache is not None:
        order = torch.randperm(len(cache), generator=torch.Generator().manual_seed(seed))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield cache[order[start : start + batch_size]].to(device, non_blocking=True)
        return
    for x, *_ in split.batches(batch_size, shuffle=True, seed=seed, drop_last=True):
        with torch.no_grad(), autocast(device, amp):
            model(x.to(device, non_blocking=True))
        yield probe.pooled()
