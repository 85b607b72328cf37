"""What the sources share: calling a user's or a package's build function."""

import inspect
from collections.abc import Callable

from torch import nn

from backend.core.errors import SemvecError
from backend.models.layers import default_layers, logit_layer_of
from backend.models.record import ModelRecord


def call_builder(
    build: Callable[..., nn.Module], label: str, kwargs: dict
) -> tuple[dict, nn.Module]:
    """Call `build` with the arguments it accepts; returns those arguments and the model.

    `num_classes` and `in_channels` are offered to every builder; a builder that does not
    take them is called without them (its model then fixes its own classes).
    """
    try:
        params = inspect.signature(build).parameters
    except (TypeError, ValueError):
        params = {}
    open_ended = any(p.kind is p.VAR_KEYWORD for p in params.values())
    used = {k: v for k, v in kwargs.items() if open_ended or k in params}
    try:
        model = build(**used)
    except Exception as err:
        raise SemvecError(f"{label} failed to build the model: {_last_line(err)}") from err
    if not isinstance(model, nn.Module):
        raise SemvecError(f"{label} returned {type(model).__name__}, not a torch.nn.Module")
    return used, model


def _last_line(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".strip().splitlines()
    return text[-1] if text else type(err).__name__


def record_for(ref: str, model: nn.Module, kwargs: dict, **extra) -> ModelRecord:
    """A record whose layers are the model's own (`probed_layers` / `logit_layer`
    attributes, as semvec's zoo sets them) or the default rule's."""
    logit = getattr(model, "logit_layer", None) or logit_layer_of(model, kwargs.get("num_classes"))
    layers = getattr(model, "probed_layers", None) or default_layers(model, logit)
    return ModelRecord(ref, model, kwargs, list(layers), logit, **extra)
