"""DataSplit: one split of one dataset, served as normalised tensor batches.

Subclasses say how to read images in [0, 1] at the output size; this base class owns
the order, the batching, the augmentation and the normalisation, so every dataset
behaves the same.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch

from backend.core.errors import SemvecError

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

UNLABELLED = -1
"""The label of every image of an unlabelled set (e.g. a flat folder of photos)."""


class DataSplit(ABC):
    """One split ("train", "val", "test" or "all") of a dataset.

    Attributes:
        name: the dataset's registered name.
        split: which split this is.
        classes: class names; label k is classes[k]. Empty for an unlabelled set, whose
            labels are all UNLABELLED.
        in_channels: 1 (greyscale) or 3 (RGB).
        image_size: H == W of the tensors `batches()` yields.
        mean, std: per-channel normalisation applied to those tensors.
        note: how the files were read, for a person, when the layout could be taken
            another way (an image folder that holds only test/) or files were left out
            as unusable; None otherwise.
        skip: the files left out as unusable (an image folder's, relative to its root):
            what a run records so that its folder is read the same way again; None for
            data that is not a folder of files.
    """

    note: str | None = None
    skip: list[str] | None = None

    def __init__(
        self,
        *,
        name: str,
        split: str,
        classes: list[str],
        in_channels: int,
        image_size: int,
        labels: torch.Tensor,
        mean: Sequence[float],
        std: Sequence[float],
        augment: Augment,
    ):
        self.name, self.split = name, split
        self.classes = list(classes)
        self.in_channels, self.image_size = in_channels, image_size
        self.mean, self.std = tuple(mean), tuple(std)
        self._labels = labels.to(torch.int64)
        self._augment = augment
        self._convert: int | None = None
        self._crop: tuple[int, int] | None = None
        self._mean = torch.tensor(self.mean, dtype=torch.float32).view(1, -1, 1, 1)
        self._std = torch.tensor(self.std, dtype=torch.float32).view(1, -1, 1, 1)

    def adapt(
        self,
        channels: int | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        crop: int | None = None,
    ) -> None:
        """Change the input a model sees: a centre crop of the images, the channel count
        (3 repeats grey, 1 averages RGB) and the normalisation (None keeps the dataset's)."""
        if crop and crop < self.image_size:
            self._crop = (self.image_size - crop) // 2, crop
            self._cropped_from = self.image_size
            self.image_size = crop
        if channels and channels != self.in_channels:
            if mean is None:
                mean = (sum(self.mean) / len(self.mean),) * channels
            if std is None:
                std = (sum(self.std) / len(self.std),) * channels
            self._convert = channels
            self.in_channels = channels
        for name, value in (("mean", mean), ("std", std)):
            if value is None:
                continue
            value = tuple(float(v) for v in value)
            if len(value) == 1:
                value *= self.in_channels
            if len(value) != self.in_channels:
                raise SemvecError(
                    f"{name} has {len(value)} values for {self.in_channels}-channel images"
                )
            if name == "std" and min(value) <= 0:
                raise SemvecError(f"std must be positive, got {value}")
            setattr(self, name, value)
        self._mean = torch.tensor(self.mean, dtype=torch.float32).view(1, -1, 1, 1)
        self._std = torch.tensor(self.std, dtype=torch.float32).view(1, -1, 1, 1)

    def _adapted(self, x: torch.Tensor) -> torch.Tensor:
        """Images as `adapt` asked: cropped and with the channel count it set."""
        if self._crop is not None:
            start, side = self._crop
            x = x[..., start : start + side, start : start + side]
        if self._convert is None or x.shape[1] == self._convert:
            return x
        if self._convert == 3:
            return x.expand(-1, 3, -1, -1)
        return x.mean(dim=1, keepdim=True)

    def __len__(self) -> int:
        return len(self._labels)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name}/{self.split}: {len(self)} images, "
            f"{len(self.classes)} classes, {self.in_channels}x{self.image_size}x{self.image_size})"
        )

    @property
    def labelled(self) -> bool:
        return bool(self.classes)

    def labels(self) -> torch.Tensor:
        """All labels of the split, (len,) int64, in index order."""
        return self._labels.clone()

    def batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        augment: bool = False,
        drop_last: bool = False,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Yield (x, y, idx): x float32 (B, C, H, W) normalised, y and idx int64 (B,).

        idx is each image's index within this split. Without drop_last every image
        comes exactly once per pass. `seed` fixes both the shuffle and the augmentation.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        generator = torch.Generator().manual_seed(seed)
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        stop = n - n % batch_size if drop_last else n
        chunks = [order[i : min(i + batch_size, stop)] for i in range(0, stop, batch_size)]
        for idx, x in zip(chunks, self._read_batches(chunks), strict=True):
            if augment:
                x = self._augment(x, generator)
            yield (self._adapted(x) - self._mean) / self._std, self._labels[idx], idx

    def batches_of(
        self, chunks: list[torch.Tensor]
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """(x, y, idx) as `batches` yields them, for these chunks of split indices only
        (one rank's share of a pass: the other ranks' images are never decoded here)."""
        for idx, x in zip(chunks, self._read_batches(chunks), strict=True):
            yield (self._adapted(x) - self._mean) / self._std, self._labels[idx], idx

    def _read_batches(self, chunks: list[torch.Tensor]) -> Iterator[torch.Tensor]:
        """Images of each chunk of indices, float32 (B, C, S, S) in [0, 1]."""
        for idx in chunks:
            yield self._read(idx)

    @abstractmethod
    def _read(self, idx: torch.Tensor) -> torch.Tensor:
        """Images at split indices `idx`, float32 (B, C, S, S) in [0, 1], S = image_size."""

    @abstractmethod
    def raw_image(self, index: int) -> np.ndarray:
        """The image at `index` as uint8 (H, W) or (H, W, 3), at its original resolution."""

    def view_box(self, height: int, width: int) -> tuple[float, float, float, float]:
        """(left, top, right, bottom), as fractions of a raw image of this size, of the
        region the model sees: what the split reads (`_read_box`), less `adapt`'s crop."""
        left, top, right, bottom = self._read_box(height, width)
        if self._crop is not None:
            keep = self._crop[1] / self._cropped_from
            dx, dy = (right - left) * (1 - keep) / 2, (bottom - top) * (1 - keep) / 2
            left, top, right, bottom = left + dx, top + dy, right - dx, bottom - dy
        return (left, top, right, bottom)

    def _read_box(self, height: int, width: int) -> tuple[float, float, float, float]:
        """The region of a raw image that `_read` turns into a tensor: all of it, unless a
        subclass crops."""
        return (0.0, 0.0, 1.0, 1.0)

    def _check_index(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise IndexError(
                f"index {index} out of range for {self.name}/{self.split} (0..{len(self) - 1})"
            )
        return int(index)
