"""Architectures from any source, with user-facing errors, sized for the data."""

from torch import nn

from backend.models import CodeCopy, ModelRecord
from backend.models import build as build_record_of
from backend.models.layers import expand_layers
from backend.semantic.neurons import resolve_modules


def build_record(
    arch: str, kwargs: dict | None = None, hints: dict | None = None, **options
) -> ModelRecord:
    """The model `arch` names (see backend.models.build for `options`), with its default
    layers as the attributes every service reads (`probed_layers`, `logit_layer`)."""
    record = build_record_of(arch, kwargs, hints, **options)
    record.model.probed_layers = record.probed_layers
    record.model.logit_layer = record.logit_layer
    return record


def build_model(arch: str, kwargs: dict | None = None, code: CodeCopy | None = None) -> nn.Module:
    """The model as a run recorded it (random weights; published weights are not fetched)."""
    return build_record(arch, kwargs, code=code, load_weights=False).model


def data_hints(split) -> dict:
    """Unlabelled data leaves the number of classes to the model (or its weights)."""
    hints = {"in_channels": split.in_channels}
    if split.labelled:
        hints["num_classes"] = len(split.classes)
    return hints


def record_for_data(arch: str, kwargs: dict, split, **options) -> ModelRecord:
    """Build `arch` sized for the data (classes, channels) unless kwargs say otherwise."""
    return build_record(arch, kwargs, data_hints(split), **options)


def model_for_data(arch: str, kwargs: dict, split) -> tuple[dict, nn.Module]:
    """`record_for_data` as (the arguments it was built with, the model)."""
    record = record_for_data(arch, kwargs, split, load_weights=False)
    return record.kwargs, record.model


def probed_layers(model: nn.Module, layers: list[str] | None) -> list[str]:
    """The given layers (names or globs such as `layer3.*`, checked to exist) or the
    model's default probed layers."""
    chosen = expand_layers(model, list(layers)) if layers else list(model.probed_layers)
    resolve_modules(model, chosen)
    return chosen
