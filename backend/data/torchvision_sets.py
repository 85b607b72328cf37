"""MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100 from a local root, read by torchvision.

The official training set is split into train / val by the spec's seed; "test" is the
official test set; "all" is train + test, in that order. Files are only downloaded when
the spec asks for it, and a missing file is reported by its full path.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torchvision import datasets

from backend.core.errors import DatasetMissingError
from backend.data.augment import ShiftFlip, scaled_shift
from backend.data.memory import ArraySplit
from backend.data.partition import split_off
from backend.data.registry import register_dataset
from backend.data.spec import DataSpec

_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class TorchvisionSet:
    name: str
    dataset_class: type
    folder: str
    """Where the files live, relative to the root."""
    files: tuple[str, ...]
    native_size: int
    in_channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    val_count: int
    native_shift: int
    """Augmentation: random shift in native pixels (RandomCrop padding)."""
    flip: bool
    classes: tuple[str, ...] | None = None
    """Our names for the classes; None takes torchvision's."""

    def missing_files(self, root: Path) -> list[Path]:
        folder = root / self.folder
        return [folder / f for f in self.files if not (folder / f).is_file()]


_MNIST_LIKE = dict(
    files=_MNIST_FILES, native_size=28, in_channels=1, val_count=6000, native_shift=2
)
_CIFAR = dict(native_size=32, in_channels=3, val_count=5000, native_shift=4, flip=True)

SETS = {
    s.name: s
    for s in (
        TorchvisionSet(
            name="mnist",
            dataset_class=datasets.MNIST,
            folder="MNIST/raw",
            mean=(0.1307,),
            std=(0.3081,),
            flip=False,  # a mirrored digit is not a digit
            classes=tuple(str(k) for k in range(10)),
            **_MNIST_LIKE,
        ),
        TorchvisionSet(
            name="fashion_mnist",
            dataset_class=datasets.FashionMNIST,
            folder="FashionMNIST/raw",
            mean=(0.2860,),
            std=(0.3530,),
            flip=True,
            **_MNIST_LIKE,
        ),
        TorchvisionSet(
            name="cifar10",
            dataset_class=datasets.CIFAR10,
            folder="cifar-10-batches-py",
            files=(*(f"data_batch_{k}" for k in range(1, 6)), "test_batch", "batches.meta"),
            mean=(0.4914, 0.4822, 0.4465),
            std=(0.2470, 0.2435, 0.2616),
            **_CIFAR,
        ),
        TorchvisionSet(
            name="cifar100",
            dataset_class=datasets.CIFAR100,
            folder="cifar-100-python",
            files=("train", "test", "meta"),
            mean=(0.5071, 0.4865, 0.4409),
            std=(0.2673, 0.2564, 0.2762),
            **_CIFAR,
        ),
    )
}


@dataclass(frozen=True)
class _Pool:
    """The whole dataset in memory: official train rows first, then official test rows."""

    raw: np.ndarray
    labels: torch.Tensor
    n_train: int
    classes: list[str]


def _root(spec: DataSpec) -> Path:
    if spec.root is None:
        raise DatasetMissingError(
            f"dataset {spec.name!r} needs a root folder (root=..., CLI --root) holding "
            f"{SETS[spec.name].folder}/; add download=True (CLI --download) to fetch it there"
        )
    return Path(spec.root).expanduser().resolve()


def _ensure_files(ds: TorchvisionSet, root: Path, download: bool) -> None:
    missing = ds.missing_files(root)
    if not missing:
        return
    if download:
        try:
            for train in (True, False):
                ds.dataset_class(str(root), train=train, download=True)
        except Exception as err:  # network, disk, checksum: all mean "no usable files"
            raise DatasetMissingError(
                f"could not download {ds.name} into {root}; without a network, copy the files "
                f"to {root / ds.folder}. The download failed with: {err}"
            ) from err
        missing = ds.missing_files(root)
        if not missing:
            return
    shown = "\n  ".join(str(p) for p in missing)
    raise DatasetMissingError(
        f"{ds.name} files not found:\n  {shown}\n"
        "Pass download=True (CLI --download) on a machine with network, "
        f"or copy the files to {root / ds.folder}."
    )


@lru_cache(maxsize=2)
def _read_pool(name: str, root: str) -> _Pool:
    """Cached: train, val, test and all of one dataset share one copy of the pixels."""
    ds = SETS[name]
    try:
        train = ds.dataset_class(root, train=True)
        test = ds.dataset_class(root, train=False)
    except (RuntimeError, OSError, ValueError, TypeError) as err:
        raise DatasetMissingError(
            f"{name} files under {Path(root) / ds.folder} are there but could not be read "
            f"({err}); they may be corrupt or incomplete: delete them and copy or download again"
        ) from err
    raw = np.concatenate([np.asarray(train.data), np.asarray(test.data)])
    labels = torch.cat([torch.as_tensor(train.targets), torch.as_tensor(test.targets)])
    classes = list(ds.classes) if ds.classes else list(train.classes)
    return _Pool(raw=raw, labels=labels.to(torch.int64), n_train=len(train.data), classes=classes)


def _positions(pool: _Pool, split: str, seed: int, val_count: int) -> np.ndarray:
    if split == "all":
        return np.arange(len(pool.labels))
    if split == "test":
        return np.arange(pool.n_train, len(pool.labels))
    official_train = np.arange(pool.n_train)
    train, val = split_off(official_train, pool.labels[: pool.n_train].numpy(), val_count, seed)
    return train if split == "train" else val


def _load(spec: DataSpec, split: str) -> ArraySplit:
    ds = SETS[spec.name]
    root = _root(spec)
    _ensure_files(ds, root, spec.download)
    pool = _read_pool(ds.name, str(root))
    val_count = min(ds.val_count, pool.n_train // 10)  # small local copies still get a val set
    size = spec.image_size or ds.native_size
    return ArraySplit(
        name=ds.name,
        split=split,
        classes=pool.classes,
        in_channels=ds.in_channels,
        image_size=size,
        raw=pool.raw,
        positions=_positions(pool, split, spec.seed, val_count),
        pool_labels=pool.labels,
        mean=ds.mean,
        std=ds.std,
        augment=ShiftFlip(scaled_shift(ds.native_shift, ds.native_size, size), ds.flip),
    )


for _name in SETS:
    register_dataset(_name)(_load)
