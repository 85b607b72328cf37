"""Registry of architectures by name.

Every architecture takes `num_classes` and `in_channels` keyword arguments, so the same
name builds a model for 1-channel digits or 3-channel CIFAR. Each entry also knows its
default probed layers (module paths whose outputs are the neurons semvec embeds); the last
of them is always the logit layer.
"""

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class ModelEntry:
    name: str
    build: Callable[..., nn.Module]
    probed_layers: Callable[[nn.Module], list[str]]
    logit_layer: str
    description: str


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    name: str, *, probed_layers: Callable[[nn.Module], list[str]], logit_layer: str = "fc"
):
    """Decorator: register `build(**kwargs) -> nn.Module` under `name`."""

    def wrap(build: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise RuntimeError(f"architecture {name!r} registered twice")
        doc = (build.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ModelEntry(name, build, probed_layers, logit_layer, doc[0] if doc else "")
        return build

    return wrap


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def model_entry(name: str) -> ModelEntry:
    if name not in _REGISTRY:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(list_models())}")
    return _REGISTRY[name]


def get_model(name: str, **kwargs) -> nn.Module:
    """Build architecture `name`. The model gets a `probed_layers` attribute (list of paths)."""
    entry = model_entry(name)
    try:
        model = entry.build(**kwargs)
    except TypeError as err:
        raise ValueError(f"bad arguments for architecture {name!r}: {err}") from err
    model.probed_layers = entry.probed_layers(model)
    model.logit_layer = entry.logit_layer
    return model


def checkpoints_dir():
    """Folder of the small checkpoints that ship with semvec."""
    from pathlib import Path

    return Path(__file__).parent / "checkpoints"
