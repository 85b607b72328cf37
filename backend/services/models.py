"""Architectures by name, with user-facing errors."""

from torch import nn

import model_zoo
from backend.core.errors import SemvecError, UnknownNameError
from backend.semantic.neurons import resolve_modules


def build_model(arch: str, kwargs: dict | None = None) -> nn.Module:
    if arch not in model_zoo.list_models():
        raise UnknownNameError("architecture", arch, model_zoo.list_models())
    try:
        return model_zoo.get_model(arch, **(kwargs or {}))
    except ValueError as err:
        raise SemvecError(str(err)) from err


def model_for_data(arch: str, kwargs: dict, split) -> tuple[dict, nn.Module]:
    """Build `arch` sized for the data (classes, channels) unless kwargs say otherwise;
    returns the arguments it was built with and the model. Unlabelled data leaves the
    number of classes to the architecture's default (or to kwargs)."""
    sized = {"in_channels": split.in_channels}
    if split.labelled:
        sized["num_classes"] = len(split.classes)
    kwargs = {**sized, **kwargs}
    return kwargs, build_model(arch, kwargs)


def probed_layers(model: nn.Module, layers: list[str] | None) -> list[str]:
    """The given layers (checked to exist) or the model's default probed layers."""
    chosen = list(layers) if layers else list(model.probed_layers)
    resolve_modules(model, chosen)
    return chosen
