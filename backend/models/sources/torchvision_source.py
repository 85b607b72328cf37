"""`torchvision:NAME[@WEIGHTS]`: torchvision's classification models with their standard
stems, and their published weights from torch's hub cache ($TORCH_HOME/hub/checkpoints).

Weights are read from the cache when the file is there and downloaded only when asked;
they load through the same weights-only reader as every checkpoint. The weights bring
their preprocessing (resize, crop, mean, std) and class names.
"""

from pathlib import Path

import torch
from torch import nn

from backend.core.errors import SemvecError, UnknownNameError
from backend.models.layers import default_layers, logit_layer_of
from backend.models.record import ModelRecord, Preprocess
from backend.semantic.neurons import LAYOUT_ATTR

PREFIX = "torchvision"
TITLE = "torchvision"
_TOP_LEVEL = ("googlenet", "inception_v3")
"""Families whose blocks are top-level attributes rather than items of a container."""


def names() -> list[str]:
    from torchvision import models

    return sorted(models.list_models(module=models))


def describe(name: str) -> str:
    weights = _weights_enum(name)
    published = ", ".join(w.name for w in weights) if weights else "none"
    return f"torchvision {name} (published weights: {published})"


def _weights_enum(name: str):
    from torchvision import models

    try:
        return list(models.get_model_weights(name))
    except (ValueError, KeyError):
        return []


def _weights(name: str, label: str):
    known = _weights_enum(name)
    for w in known:
        if w.name == label or str(w) == label:
            return w
    raise UnknownNameError(
        f"published weights of torchvision:{name}", label, [w.name for w in known]
    )


def weights_file(weights) -> Path:
    """Where torch's hub cache keeps these weights (whether or not the file is there)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def _fetch(name: str, weights, download: bool) -> Path:
    path = weights_file(weights)
    if path.is_file():
        return path
    if not download:
        raise SemvecError(
            f"the published weights {weights.name} of torchvision:{name} are not on this "
            f"machine: put {path.name} (from {weights.url}) into {path.parent}/ "
            "(set TORCH_HOME to use another cache), or pass --download"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(weights.url, str(path), progress=False)
    except OSError as err:
        raise SemvecError(f"could not download {weights.url}: {err}") from err
    return path


def published_file(name_at_weights: str, download: bool) -> Path:
    """The cached file of `NAME@WEIGHTS` (downloaded first when allowed)."""
    name, _, label = name_at_weights.partition("@")
    return _fetch(name, _weights(name, label), download)


def _preprocess(weights) -> Preprocess:
    t = weights.transforms()
    return Preprocess(
        resize=int(t.resize_size[0]),
        crop=int(t.crop_size[0]),
        mean=tuple(float(v) for v in t.mean),
        std=tuple(float(v) for v in t.std),
    )


def _mark_channels_last(name: str, model: nn.Module) -> None:
    """Swin's stages give (B, H, W, C) maps: say so to the activation probe."""
    if name.startswith("swin"):
        for module in model.features.modules():
            setattr(module, LAYOUT_ATTR, "nhwc")


def build(name: str, kwargs: dict, hints: dict, *, load_weights=True, download=False, **_):
    from torchvision import models

    name, _, label = name.partition("@")
    if name not in names():
        raise UnknownNameError("torchvision model", name, names())
    weights = _weights(name, label) if label else None
    kwargs = dict(kwargs)
    if weights is not None:
        kwargs.setdefault("num_classes", len(weights.meta["categories"]))
    else:
        kwargs.setdefault("num_classes", hints.get("num_classes", 1000))
    channels = hints.get("in_channels", 3)
    if channels != 3:
        raise SemvecError(
            f"torchvision:{name} takes 3-channel images and the dataset has {channels}: "
            "pass --channels 3 to repeat the grey channel"
        )
    try:
        model = models.get_model(name, weights=None, **kwargs)
    except (TypeError, ValueError) as err:
        raise SemvecError(f"bad arguments for torchvision:{name}: {err}") from err
    _mark_channels_last(name, model)
    logit = logit_layer_of(model, kwargs["num_classes"])
    ref = f"{PREFIX}:{name}" + (f"@{weights.name}" if weights else "")
    return ModelRecord(
        ref,
        model,
        kwargs,
        default_layers(model, logit, top_level=name in _TOP_LEVEL),
        logit,
        preprocess=_preprocess(weights) if weights else None,
        classes=list(weights.meta["categories"]) if weights else None,
        weights_file=_fetch(name, weights, download) if weights and load_weights else None,
    )


def published(name: str) -> list[dict]:
    """The published weights of torchvision:`name`: each one's file in the hub cache,
    whether it is there, its preprocessing and how many classes it knows."""
    out = []
    for weights in _weights_enum(name):
        path = weights_file(weights)
        out.append(
            {
                "name": weights.name,
                "file": path.name,
                "present": path.is_file(),
                "preprocess": _preprocess(weights).as_data_fields(),
                "classes": len(weights.meta["categories"]),
            }
        )
    return out
