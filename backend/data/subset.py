"""A stratified subset of a split (e.g. 200 of the training images), served like the split."""

import numpy as np
import torch

from backend.data.partition import split_off
from backend.data.split import DataSplit


class SubsetSplit(DataSplit):
    """The images `indices` of `base`, in that order, with the base's normalisation and
    augmentation."""

    def __init__(self, base: DataSplit, indices: np.ndarray):
        self._base = base
        self._indices = torch.as_tensor(np.asarray(indices), dtype=torch.int64)
        super().__init__(
            name=base.name,
            split=base.split,
            classes=base.classes,
            in_channels=base.in_channels,
            image_size=base.image_size,
            labels=base.labels()[self._indices],
            mean=base.mean,
            std=base.std,
            augment=base._augment,
        )

    def _read(self, idx: torch.Tensor) -> torch.Tensor:
        return self._base._adapted(self._base._read(self._indices[idx]))

    def raw_image(self, index: int) -> np.ndarray:
        return self._base.raw_image(int(self._indices[self._check_index(index)]))


def stratified_subset(split: DataSplit, size: int, seed: int) -> DataSplit:
    """`size` images of `split`, keeping its class proportions; the same seed, the same
    images. A size of at least len(split) returns the split itself."""
    if size >= len(split):
        return split
    labels = split.labels().numpy()
    _, taken = split_off(np.arange(len(labels)), labels, size, seed)
    return SubsetSplit(split, taken)
