"""Cheap, batched augmentation on (B, C, H, W) tensors in [0, 1], driven by one generator.

Working on whole batches keeps in-memory datasets fast (no per-image Python), and a
seeded generator makes an augmented epoch reproducible.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Move each image by up to `max_shift` pixels each way, filling with zeros.

    Same as torchvision's RandomCrop(size, padding=max_shift), for a whole batch at once.
    """
    if max_shift <= 0:
        return x
    b, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4).permute(0, 2, 3, 1)  # (B, H+2p, W+2p, C)
    dy = torch.randint(0, 2 * max_shift + 1, (b, 1), generator=generator)
    dx = torch.randint(0, 2 * max_shift + 1, (b, 1), generator=generator)
    rows = (dy + torch.arange(h))[:, :, None]  # (B, H, 1)
    cols = (dx + torch.arange(w))[:, None, :]  # (B, 1, W)
    batch = torch.arange(b)[:, None, None]
    return padded[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror a random half of the images left-right."""
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


@dataclass(frozen=True)
class ShiftFlip:
    """Random shift (in output pixels) and, where the classes allow it, a mirror flip."""

    max_shift: int
    flip: bool = False

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        x = random_shift(x, self.max_shift, generator)
        return random_flip(x, generator) if self.flip else x


def scaled_shift(native_shift: int, native_size: int, size: int) -> int:
    """A shift of `native_shift` native pixels, in pixels of an image resized to `size`."""
    return max(1, round(native_shift * size / native_size)) if native_shift > 0 else 0
