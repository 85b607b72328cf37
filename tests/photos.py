"""Folders of real photographs made by a test: crops of scikit-learn's two bundled photos
(a temple in China, a flower), saved as JPEG, PNG and WebP at mixed sizes."""

from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_images

FORMATS = ("jpg", "png", "webp")


def photo_folder(
    root: Path, per_class: int = 10, flat: bool = False, sizes=((96, 80), (120, 90))
) -> Path:
    """`root/<china|flower>/NNN.<ext>` (or all in `root` when `flat`): crops at shifting
    places of each photo, of the given sizes, in every format."""
    rng = np.random.default_rng(0)
    for name, image in zip(("china", "flower"), load_sample_images().images, strict=True):
        folder = root if flat else root / name
        folder.mkdir(parents=True, exist_ok=True)
        height, width, _ = image.shape
        for k in range(per_class):
            w, h = sizes[k % len(sizes)]
            top, left = rng.integers(0, height - h), rng.integers(0, width - w)
            crop = Image.fromarray(image[top : top + h, left : left + w])
            crop.save(folder / f"{name}-{k:03d}.{FORMATS[k % len(FORMATS)]}")
    return root
