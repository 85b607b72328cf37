"""Align a frozen model: only the semantic vectors learn (DESIGN.md §1)."""

import math

import torch
from torch import nn

from backend.core.devices import autocast
from backend.core.errors import SemvecError
from backend.core.progress import Reporter
from backend.semantic.alignment import SemanticVectors, alignment_loss
from backend.semantic.neurons import ActivationProbe
from backend.training.config import AlignConfig


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
) -> list[float]:
    """Fit `vectors` to the frozen model's activations on `split`; returns the loss per step."""
    reporter = reporter or Reporter()
    model.eval().requires_grad_(False)
    vectors.to(device).train()
    optimizer = torch.optim.Adam(vectors.parameters(), lr=cfg.lr)
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
                cosine_lr(optimizer, cfg.lr, len(losses), cfg.steps)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                reporter.advance(1, f"align loss {losses[-1]:.4f}")
                if len(losses) >= cfg.steps:
                    break
            epoch += 1
            if epoch > 1 and not losses:
                raise ValueError("the split is smaller than one alignment batch")
    return losses
