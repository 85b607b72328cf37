"""A loaded model ready to align: from a run, a checkpoint, published weights or a module
handed over in Python, with the preprocessing and data it is to be read with.

Preprocessing is settled before any image is read: what the user gave, else what the
published weights say, else the dataset's default; it is recorded with the run, so
alignment, analysis and the page's thumbnails all see the images the same way.
"""

from dataclasses import dataclass

import torch
from torch import nn

from backend.core.errors import CheckpointError, SemvecError
from backend.models import ModelRecord
from backend.runs.checkpoint import load_into, read_state_dict
from backend.services.models import data_hints, record_for_data
from backend.training.config import DataConfig, PostHocConfig

NEAR_CHANCE = 1.5
"""A loaded model whose accuracy is below this many times chance gets a warning."""
CHANCE_SAMPLE = 50
"""Fewer test images than this say nothing about chance: no warning."""
PREPROCESS_OPTIONS = "on the command line: --image-size, --crop, --mean, --std, --channels"
"""Where the chance warning's preprocessing is set, for the CLI's copy of it (the run keeps
the warning in words only: the page shows it)."""


@dataclass
class Loaded:
    record: ModelRecord
    data: DataConfig
    train: object
    test: object
    source: str
    """Where the weights came from, for the run's `source`."""
    own_classes: bool = False
    """The model's logits are its own classes (e.g. ImageNet's), not the dataset's."""


def _splits(data: DataConfig):
    from backend.data import load_splits

    return load_splits(data.spec(), ("train", "test"))


def with_preprocess(data: DataConfig, record: ModelRecord) -> DataConfig:
    """`data` with the fields the user left open filled from the weights' preprocessing."""
    if record.preprocess is None:
        return data
    given = data.model_dump()
    fill = {k: v for k, v in record.preprocess.as_data_fields().items() if given.get(k) is None}
    return data.model_copy(update=fill) if fill else data


def _logit_width(state: dict[str, torch.Tensor], logit_layer: str) -> int | None:
    weight = state.get(f"{logit_layer}.weight")
    return int(weight.shape[0]) if weight is not None and weight.dim() >= 2 else None


class WrongArchitectureError(CheckpointError):
    """Weights that do not fit the architecture named; the message says the closest known
    ones (the CLI adds how to name an architecture of one's own)."""


def _fits_message(err: CheckpointError, state: dict[str, torch.Tensor]) -> str:
    from backend.models.fit import choose_instead

    return f"{err}; {choose_instead(state)}"


def from_state(cfg: PostHocConfig, state: dict[str, torch.Tensor], train) -> ModelRecord:
    """cfg.arch built for the data and loaded with `state`. A state whose logit layer has
    another width than the dataset's classes sets num_classes."""
    record = record_for_data(cfg.arch, cfg.arch_kwargs, train, load_weights=False)
    width = _logit_width(state, record.logit_layer)
    if width and "num_classes" not in cfg.arch_kwargs and width != record.kwargs.get("num_classes"):
        kwargs = {**cfg.arch_kwargs, "num_classes": width}
        record = record_for_data(cfg.arch, kwargs, train, load_weights=False)
    try:
        load_into(record.model, state, cfg.arch)
    except CheckpointError as err:
        raise WrongArchitectureError(_fits_message(err, state)) from err
    return record


def load_for_align(cfg: PostHocConfig, store, state: dict | None = None) -> Loaded:
    """The model and data `cfg` names (`state`: the weights of a model handed over in
    Python, in place of a checkpoint file)."""
    if cfg.run is not None:
        if state is not None or cfg.checkpoint is not None:
            raise SemvecError("give a run (--run) or a model, not both")
        source = store.open(cfg.run)
        data = DataConfig.model_validate(source.meta.dataset)
        train, test = _splits(data)
        record = ModelRecord(
            source.meta.arch,
            source.build_model(),
            source.meta.arch_kwargs,
            list(source.layer_paths()),
            source.meta.logit_layer,
            classes=source.meta.model_classes,
            code=source.code_copy(),
        )
        own = bool(source.meta.model_classes)
        return Loaded(record, data, train, test, f"run:{source.id}", own)
    if not cfg.arch:
        raise SemvecError("give a run (--run), or an architecture (--arch) and its weights")
    data = with_preprocess(cfg.data, _built(cfg))
    train, test = _splits(data)
    if state is not None:
        record, label = from_state(cfg, state, train), "python"
    elif cfg.checkpoint is not None:
        state = read_state_dict(cfg.checkpoint)
        record, label = from_state(cfg, state, train), str(cfg.checkpoint)
    else:
        record = record_for_data(cfg.arch, cfg.arch_kwargs, train, download=cfg.download_weights)
        if record.weights_file is None:
            raise SemvecError(
                f"{cfg.arch} has no weights to align: give a checkpoint (--checkpoint) or "
                "published weights (torchvision:NAME@WEIGHTS)"
            )
        load_into(record.model, read_state_dict(record.weights_file), record.ref)
        label = str(record.weights_file)
    return Loaded(record, data, train, test, label, _own_classes(record, train))


def _built(cfg: PostHocConfig) -> ModelRecord:
    """The architecture alone (no weights read yet), to learn its preprocessing."""
    from backend.services.models import build_record

    return build_record(cfg.arch, cfg.arch_kwargs, load_weights=False)


def _own_classes(record: ModelRecord, train) -> bool:
    """Whether the logits are the model's own classes rather than the dataset's."""
    width = record.kwargs.get("num_classes")
    return bool(record.classes) and (
        width is None or width != len(train.classes) or list(record.classes) != list(train.classes)
    )


def first_forward(model: nn.Module, split, device) -> torch.Tensor:
    """Logits of two images, or an error naming the module that failed and the input."""
    x, *_ = next(iter(split.batches(2)))
    running: list[str] = []
    names = {m: n for n, m in model.named_modules()}

    def enter(module, _inputs):
        running.append(names.get(module, "?"))

    handles = [m.register_forward_pre_hook(enter) for m in model.modules()]
    try:
        with torch.no_grad():
            return model.eval()(x.to(device))
    except (RuntimeError, ValueError, TypeError) as err:
        where = running[-1] if running and running[-1] else "the model's input"
        last = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise SemvecError(
            f"the model failed on the images (a batch of shape {tuple(x.shape)}) at "
            f"`{where}`: {last}. Pass the size it expects (--image-size, --crop) or the "
            "channels (--channels 3 or 1)"
        ) from err
    finally:
        for handle in handles:
            handle.remove()


def check_fits(loaded: Loaded, device) -> None:
    """The logits must be the dataset's classes, unless the model has classes of its own."""
    out = first_forward(loaded.record.model, loaded.train, device)
    classes = len(loaded.train.classes)
    if out.dim() != 2:
        raise SemvecError(
            f"the model gives outputs of shape {tuple(out.shape)}, not (batch, classes)"
        )
    if loaded.train.labelled and out.shape[1] != classes and not loaded.own_classes:
        raise SemvecError(
            f"the model has {out.shape[1]} outputs but the dataset has {classes} classes: "
            "pass the checkpoint's num_classes, or a dataset with its classes"
        )


def chance_warning(model: nn.Module, loaded: Loaded, device, images: int = 512) -> str | None:
    """A warning when the model scores near chance on a sample of the test split (so the
    preprocessing or the class order is likely wrong); None when it does fine (or when
    the images have no labels to score against)."""
    if loaded.own_classes or not loaded.test.labelled:
        return None
    from backend.data.subset import stratified_subset
    from backend.training.evaluate import accuracy

    if len(loaded.test) < CHANCE_SAMPLE:
        return None
    sample = stratified_subset(loaded.test, min(images, len(loaded.test)), seed=0)
    return near_chance(accuracy(model, sample.batches(128), device), len(sample), loaded)


def near_chance(acc: float, images: int, loaded: Loaded) -> str | None:
    """`chance_warning`'s words for an accuracy `acc` measured on `images` test images."""
    if loaded.own_classes or not loaded.test.labelled or len(loaded.test) < CHANCE_SAMPLE:
        return None
    chance = 1 / max(len(loaded.test.classes), 1)
    if acc >= NEAR_CHANCE * chance:
        return None
    return (
        f"Accuracy on {images} of these test images is {acc:.1%}, near chance "
        f"({chance:.1%}): the model's preprocessing or classes may not fit these images. "
        "Check the image size, crop, mean and std, and that the images' classes are the "
        "model's, in the same order."
    )


__all__ = [
    "PREPROCESS_OPTIONS",
    "Loaded",
    "chance_warning",
    "check_fits",
    "data_hints",
    "load_for_align",
]
