"""Accuracy of a classifier on a split."""

from collections.abc import Iterable

import torch
from torch import nn

from backend.core.devices import autocast


@torch.no_grad()
def accuracy(model: nn.Module, batches: Iterable, device: torch.device, amp: bool = True) -> float:
    was_training = model.training
    model.eval()
    correct = total = 0
    for x, y, *_ in batches:
        with autocast(device, amp):
            logits = model(x.to(device, non_blocking=True))
        correct += int((logits.argmax(1).cpu() == y).sum())
        total += y.numel()
    model.train(was_training)
    return correct / max(total, 1)
