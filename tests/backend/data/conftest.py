"""Tiny fake datasets, written in the exact on-disk formats torchvision reads."""

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array in MNIST's idx format: magic 0x08 (uint8) + ndim, sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim])
    sizes = b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + sizes + array.astype(np.uint8).tobytes())


def _make_mnist(root: Path, folder: str = "MNIST", n_train: int = 100, n_test: int = 20):
    """Random 28x28 digits with balanced labels; returns (train_images, test_images)."""
    rng = np.random.default_rng(0)
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    out = []
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n, dtype=np.uint8) % 10)
        out.append(images)
    return tuple(out)


def _make_cifar10(root: Path, per_batch: int = 10) -> None:
    """Five training batches and a test batch of random 32x32 RGB images, as pickles."""
    rng = np.random.default_rng(0)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        entry = {
            "data": rng.integers(0, 256, (per_batch, 3 * 32 * 32), dtype=np.uint8),
            "labels": [k % 10 for k in range(per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(entry))
    meta = {"label_names": [f"class{k}" for k in range(10)]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))


def _make_image_folder(root: Path, classes=("cat", "dog", "fox"), per_class: int = 10) -> None:
    """PNG images of varied sizes (some greyscale) in one subfolder per class."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for k in range(per_class):
            h, w = 40 + 5 * k, 30 + 7 * c
            shape = (h, w) if k % 4 == 0 else (h, w, 3)
            pixels = rng.integers(0, 256, shape, dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{k}.png")


# The writers are handed out as fixtures, so tests need no import of this file.
@pytest.fixture
def make_mnist():
    return _make_mnist


@pytest.fixture
def make_cifar10():
    return _make_cifar10


@pytest.fixture
def make_image_folder():
    return _make_image_folder


@pytest.fixture
def mnist_root(tmp_path):
    _make_mnist(tmp_path)
    return tmp_path
