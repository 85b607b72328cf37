"""ArraySplit: a split over a uint8 image array held in memory (digits, MNIST, CIFAR).

Batches are gathered by indexing tensors, with no per-image Python or DataLoader, which
is what keeps small datasets fast on a CPU.
"""

import numpy as np
import torch
import torch.nn.functional as F

from backend.data.split import DataSplit


def resize_square(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize of (B, C, H, W) to (B, C, size, size); antialiased when shrinking."""
    if x.shape[-2:] == (size, size):
        return x
    shrink = size < max(x.shape[-2:])
    return F.interpolate(
        x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink
    )


def to_unit_tensor(raw: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (B, H, W) or (B, H, W, 3) -> float32 (B, C, H, W) in [0, 1]."""
    x = torch.as_tensor(raw)
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    return x.float().div_(255.0)


class ArraySplit(DataSplit):
    """A split that picks `positions` out of a dataset-wide pool of images.

    Args:
        raw: uint8 (N, H, W) or (N, H, W, 3), the whole dataset at native resolution.
        positions: (n,) which rows of `raw` belong to this split, in split order.
        pool_labels: (N,) label of every row of `raw`.
        pixels: optional float32 (N, C, S, S) in [0, 1], prepared up front; without it
            rows are converted (and resized) per batch.
        **kwargs: the rest of DataSplit's arguments, minus `labels`.
    """

    def __init__(
        self,
        *,
        raw: np.ndarray,
        positions: np.ndarray,
        pool_labels: torch.Tensor,
        pixels: torch.Tensor | None = None,
        **kwargs,
    ):
        self._positions = torch.as_tensor(np.asarray(positions), dtype=torch.int64)
        super().__init__(labels=pool_labels[self._positions], **kwargs)
        self._raw = raw
        self._raw_t = torch.from_numpy(raw)
        self._pixels = pixels

    def _read(self, idx: torch.Tensor) -> torch.Tensor:
        rows = self._positions[idx]
        if self._pixels is not None:
            return self._pixels[rows]
        return resize_square(to_unit_tensor(self._raw_t[rows]), self.image_size)

    def raw_image(self, index: int) -> np.ndarray:
        return self._raw[int(self._positions[self._check_index(index)])].copy()
