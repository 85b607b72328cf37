"""Datasets as splits of normalised tensor batches: digits, torchvision sets, image folders.

Typical use: `load_split(DataSpec("digits", seed=0), "train").batches(128, shuffle=True)`
yields (x, y, idx) batches; see DataSplit.
"""

from backend.data.registry import (
    list_datasets,
    load_split,
    load_splits,
    provided_by,
    read_like,
    register_dataset,
)
from backend.data.spec import SPLITS, DataSpec
from backend.data.split import DataSplit

# Importing a loader registers it, on first use; this order is list_datasets()'s.
provided_by("backend.data.digits", ["digits"])
provided_by("backend.data.torchvision_sets", ["mnist", "fashion_mnist", "cifar10", "cifar100"])
provided_by("backend.data.image_folder", ["imagefolder"])

__all__ = [
    "SPLITS",
    "DataSpec",
    "DataSplit",
    "list_datasets",
    "load_split",
    "load_splits",
    "read_like",
    "register_dataset",
]
