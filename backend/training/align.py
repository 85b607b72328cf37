"""Align a frozen model: only the semantic vectors learn (DESIGN.md §1).

By default the vectors start from the eigen-solution of the training correlation
(docs/quality.md): the best rank-d fit, which the steps then refine; `init="random"`
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
from backend.semantic.reference import Reference, eigen_start_weight, reference_for
from backend.training.config import AlignConfig

EIGEN_LR_SCALE = 0.1
"""The learning rate after an eigen-start, as a fraction of cfg.lr."""


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
    if reference is None:
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
            vectors.weight.copy_(eigen_start_weight(reference, cfg.seed).to(device))
    vectors.train()
    if on_step and on_step(0, vectors):
        return []
    # From the eigen-start the steps only refine the best rank-d fit: at the random
    # start's rate they first undo it (ResNet-56: P@10 0.962 -> 0.950 after 100 steps).
    lr = cfg.lr * (EIGEN_LR_SCALE if cfg.init == "eigen" else 1.0)
    optimizer = torch.optim.Adam(vectors.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    losses: list[float] = []
    reporter.stage("align", cfg.steps)
    epoch = 0
    # A folder smaller than one batch aligns on all of it at each step.
    batch_size = min(cfg.batch_size, len(split))
    if batch_size < 4:
        raise SemvecError(f"alignment needs at least 4 training images; the split has {len(split)}")
    with ActivationProbe(model, layers) as probe:
        while len(losses) < cfg.steps:
            for x, *_ in split.batches(
                batch_size, shuffle=True, seed=cfg.seed + epoch, drop_last=True
            ):
                with torch.no_grad(), autocast(device, amp):
                    model(x.to(device, non_blocking=True))
                loss = alignment_loss(probe.pooled(), vectors, cfg.subset, gen)
                cosine_lr(optimizer, lr, len(losses), cfg.steps)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                reporter.advance(1, f"align loss {losses[-1]:.4f}")
                if len(losses) >= cfg.steps or (on_step and on_step(len(losses), vectors)):
                    return losses
            epoch += 1
            if epoch > 1 and not losses:
                raise ValueError("the split is smaller than one alignment batch")
    return losses
