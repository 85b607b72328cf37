"""Datasets by name: each loader registers itself; load_split() looks it up.

The built-in loaders are imported on first use (`provided_by`): torchvision's and
scikit-learn's imports take seconds, and a server that serves a photo of an image folder
needs neither.
"""

import importlib
from collections.abc import Callable
from dataclasses import replace

from backend.core.errors import UnknownNameError
from backend.data.spec import DataSpec, check_split
from backend.data.split import DataSplit

Loader = Callable[[DataSpec, str], DataSplit]
_LOADERS: dict[str, Loader] = {}
_PROVIDERS: dict[str, str] = {}
"""Dataset name -> the module whose import registers it (not imported yet)."""


def provided_by(module: str, names: list[str]) -> None:
    """Datasets `names` are registered by importing `module`, when first asked for."""
    for name in names:
        _PROVIDERS.setdefault(name, module)


def register_dataset(name: str) -> Callable[[Loader], Loader]:
    """Decorator: make `loader(spec, split)` available as dataset `name`."""

    def add(loader: Loader) -> Loader:
        if name in _LOADERS:
            raise ValueError(f"dataset {name!r} is registered twice")
        _LOADERS[name] = loader
        return loader

    return add


def list_datasets() -> list[str]:
    return list(dict.fromkeys([*_PROVIDERS, *_LOADERS]))


def _loader(name: str) -> Loader | None:
    if name not in _LOADERS and name in _PROVIDERS:
        importlib.import_module(_PROVIDERS[name])
    return _LOADERS.get(name)


def load_split(spec: DataSpec, split: str) -> DataSplit:
    """One split of `spec`'s dataset.

    Raises:
        UnknownNameError: the dataset name or the split is not a known one.
        DatasetMissingError: the dataset's files are not under `spec.root`.
    """
    loader = _loader(spec.name)
    if loader is None:
        raise UnknownNameError("dataset", spec.name, list_datasets())
    data = loader(spec, check_split(split))
    data.adapt(channels=spec.channels, mean=spec.mean, std=spec.std, crop=spec.crop)
    return data


def load_splits(spec: DataSpec, splits: tuple[str, ...]) -> tuple[DataSplit, ...]:
    """Several splits of one dataset; an image folder's file headers are read once, by the
    first split, and its list of unusable files is handed to the others."""
    first = load_split(spec, splits[0])
    spec = read_like(spec, first)
    return (first, *(load_split(spec, split) for split in splits[1:]))


def read_like(spec: DataSpec, split: DataSplit) -> DataSpec:
    """`spec` with the unusable files that reading `split` found, so that another split of
    the same folder is read without opening every file's header again."""
    if spec.skip is None and split.skip is not None:
        return replace(spec, skip=tuple(split.skip))
    return spec
