"""Datasets as splits of normalised tensor batches: digits, torchvision sets, image folders.

Typical use: `load_split(DataSpec("digits", seed=0), "train").batches(128, shuffle=True)`
yields (x, y, idx) batches; see DataSplit.
"""

import importlib

from backend.data.registry import list_datasets, load_split, register_dataset
from backend.data.spec import SPLITS, DataSpec
from backend.data.split import DataSplit

# Importing a loader registers it; this order is the order list_datasets() gives.
for _module in ("digits", "torchvision_sets", "image_folder"):
    importlib.import_module(f"backend.data.{_module}")

__all__ = ["SPLITS", "DataSpec", "DataSplit", "list_datasets", "load_split", "register_dataset"]
