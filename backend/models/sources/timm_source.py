"""`timm:NAME`: timm's model catalogue (weights from a local checkpoint file).

timm is imported only when a `timm:` reference is used, so the server starts as fast
without it. Its pretrained configs give the preprocessing (input size, crop, mean, std).
"""

from backend.core.errors import SemvecError, UnknownNameError
from backend.models.layers import default_layers, logit_layer_of
from backend.models.record import ModelRecord, Preprocess

PREFIX = "timm"
TITLE = "timm"


def _timm():
    try:
        import timm
    except ImportError as err:
        raise SemvecError("timm is not installed: pip install timm") from err
    return timm


def names() -> list[str]:
    return _timm().list_models()


def describe(name: str) -> str:
    return f"timm {name}"


def _preprocess(model) -> Preprocess | None:
    cfg = getattr(model, "pretrained_cfg", None) or {}
    size = cfg.get("input_size")
    if not size:
        return None
    crop = int(size[-1])
    pct = cfg.get("crop_pct") or 1.0
    return Preprocess(
        resize=round(crop / pct),
        crop=crop,
        mean=tuple(float(v) for v in cfg.get("mean", ())) or None,
        std=tuple(float(v) for v in cfg.get("std", ())) or None,
    )


def build(name: str, kwargs: dict, hints: dict, **_) -> ModelRecord:
    timm = _timm()
    if name not in timm.list_models():
        raise UnknownNameError("timm model", name, timm.list_models())
    kwargs = {"num_classes": hints.get("num_classes", 1000), **kwargs}
    kwargs.setdefault("in_chans", hints.get("in_channels", 3))
    try:
        model = timm.create_model(name, pretrained=False, **kwargs)
    except (TypeError, ValueError, RuntimeError) as err:
        raise SemvecError(f"bad arguments for timm:{name}: {err}") from err
    logit = logit_layer_of(model, kwargs["num_classes"])
    return ModelRecord(
        f"{PREFIX}:{name}",
        model,
        kwargs,
        default_layers(model, logit),
        logit,
        preprocess=_preprocess(model),
    )
