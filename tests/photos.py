"""Folders of real photographs for tests: crops of scikit-learn's two bundled sample
photos (a temple in China, a flower), of varied sizes and formats (JPEG, PNG, WebP)."""

from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_images

FORMATS = ("jpg", "png", "webp")


def _crops(photo: np.ndarray, count: int, seed: int) -> list[Image.Image]:
    """`count` crops of `photo` (H, W, 3), 60-300 px a side, not square, some upright."""
    rng = np.random.default_rng(seed)
    height, width = photo.shape[:2]
    crops = []
    for k in range(count):
        h, w = int(rng.integers(60, 300)), int(rng.integers(60, 300))
        if k % 3 == 0:
            h, w = max(h, w), min(h, w) // 2 + 30  # upright: taller than wide
        top, left = int(rng.integers(0, height - h)), int(rng.integers(0, width - w))
        crops.append(Image.fromarray(photo[top : top + h, left : left + w]))
    return crops


def make_photo_folder(root: Path, per_photo: int = 12, labelled: bool = True) -> list[Path]:
    """Crops of both photos, in class folders `china/` and `flower/` or all directly in
    `root` (unlabelled); returns the files written."""
    written = []
    for p, (name, photo) in enumerate(
        zip(("china", "flower"), load_sample_images().images, strict=True)
    ):
        folder = root / name if labelled else root
        folder.mkdir(parents=True, exist_ok=True)
        for k, crop in enumerate(_crops(photo, per_photo, seed=p)):
            path = folder / f"{name}-{k:02d}.{FORMATS[k % len(FORMATS)]}"
            crop.save(path)
            written.append(path)
    return written
