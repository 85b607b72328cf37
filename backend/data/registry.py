"""Datasets by name: each loader registers itself; load_split() looks it up."""

from collections.abc import Callable

from backend.core.errors import UnknownNameError
from backend.data.spec import DataSpec, check_split
from backend.data.split import DataSplit

Loader = Callable[[DataSpec, str], DataSplit]
_LOADERS: dict[str, Loader] = {}


def register_dataset(name: str) -> Callable[[Loader], Loader]:
    """Decorator: make `loader(spec, split)` available as dataset `name`."""

    def add(loader: Loader) -> Loader:
        if name in _LOADERS:
            raise ValueError(f"dataset {name!r} is registered twice")
        _LOADERS[name] = loader
        return loader

    return add


def list_datasets() -> list[str]:
    return list(_LOADERS)


def load_split(spec: DataSpec, split: str) -> DataSplit:
    """One split of `spec`'s dataset.

    Raises:
        UnknownNameError: the dataset name or the split is not a known one.
        DatasetMissingError: the dataset's files are not under `spec.root`.
    """
    if spec.name not in _LOADERS:
        raise UnknownNameError("dataset", spec.name, list_datasets())
    data = _LOADERS[spec.name](spec, check_split(split))
    data.adapt(channels=spec.channels, mean=spec.mean, std=spec.std, crop=spec.crop)
    return data
