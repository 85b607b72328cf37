"""scikit-learn's 1,797 handwritten 8x8 digits: ships with sklearn, so it works offline."""

from functools import lru_cache

import numpy as np
import torch
from sklearn.datasets import load_digits

from backend.data.augment import ShiftFlip, scaled_shift
from backend.data.memory import ArraySplit, resize_square
from backend.data.partition import three_way
from backend.data.registry import register_dataset
from backend.data.spec import DataSpec

NATIVE = 8
# Mean and std of every pixel of the whole set, after dividing by 16.
MEAN, STD = (0.3053,), (0.3760,)


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = load_digits()
    return bunch.images.astype(np.float32), bunch.target.astype(np.int64)


@register_dataset("digits")
def load_digits_split(spec: DataSpec, split: str) -> ArraySplit:
    """60 / 20 / 20 stratified by `spec.seed`; `all` keeps sklearn's order."""
    images, target = _digits()
    size = spec.image_size or NATIVE
    positions = (
        np.arange(len(target))
        if split == "all"
        else three_way(target, spec.seed, val_frac=0.2, test_frac=0.2)[split]
    )
    # The whole set is 1,797 images: scale (and resize) it once, then batches only index.
    pixels = resize_square(torch.from_numpy(images / 16.0).unsqueeze(1), size)
    raw = np.round(images * (255.0 / 16.0)).astype(np.uint8)
    return ArraySplit(
        name="digits",
        split=split,
        classes=[str(k) for k in range(10)],
        in_channels=1,
        image_size=size,
        raw=raw,
        positions=positions,
        pool_labels=torch.from_numpy(target),
        pixels=pixels,
        mean=MEAN,
        std=STD,
        augment=ShiftFlip(scaled_shift(1, NATIVE, size)),
    )
